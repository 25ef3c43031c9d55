// The sweep file (YAML): base configs, fixed overrides, a grid whose product is the cells, an optional eval,
// and the engine that runs them (local pool, Slurm job array, Kubernetes Indexed Job). Strict like run configs.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import YAML from "yaml";
import { z } from "zod";
import { TfewError } from "../errors.js";

const positiveInt = () => z.number().int().positive().describe("a positive integer");
const nonNegativeInt = () => z.number().int().nonnegative().describe("an integer >= 0");
const text = () => z.string().min(1).describe("a non-empty string");
const textOrNull = () => z.string().min(1).nullable().describe("a non-empty string or null");

export const SweepEvalSchema = z.strictObject({
  split: z.enum(["train", "test"]).describe('"train" or "test"').default("train"), // labelled split to score
  folds: z.number().int().min(2).nullable().describe("an integer >= 2 or null").default(null), // K-fold CV instead of one split
});

export const SlurmSchema = z.strictObject({
  partition: textOrNull().default(null), // #SBATCH --partition; null = the cluster's default
  account: textOrNull().default(null), // #SBATCH --account; null = the user's default
  cpus_per_task: positiveInt().default(1), // #SBATCH --cpus-per-task
  gpus: nonNegativeInt().default(0), // #SBATCH --gres=gpu:N per cell; 0 = none
  mem: textOrNull().default(null), // #SBATCH --mem, e.g. "16G"; null = the partition's default
  time: textOrNull().default(null), // #SBATCH --time, e.g. "02:00:00"; null = the partition's limit
  extra: z.array(text()).describe("a list of strings").default([]), // more #SBATCH lines, e.g. ["--qos=short"]
});

export const KubernetesSchema = z.strictObject({
  image: textOrNull().default(null), // container image with tfew installed (required for engine: kubernetes)
  namespace: text().default("default"),
  gpus: nonNegativeInt().default(1), // nvidia.com/gpu limit per cell
  cpu: textOrNull().default(null), // cpu request/limit per cell, e.g. "8"; null = none
  memory: textOrNull().default(null), // memory request/limit per cell, e.g. "32Gi"; null = none
  runs_volume_claim: textOrNull().default(null), // PVC holding the sweep folder (required for engine: kubernetes)
  runs_mount: text().default("/runs"), // where that claim is mounted; the pods work in this folder
  hf_volume_claim: textOrNull().default(null), // PVC for the Hugging Face cache; null = none
  hf_mount: text().default("/root/.cache/huggingface"), // where the cache claim is mounted (HF_HOME)
  tfew_command: z.array(text()).min(1).describe("a non-empty list of strings").default(["tfew"]), // tfew inside the image
});

export const SweepSchema = z.strictObject({
  base: z.array(text()).describe("a list of config files").default([]), // layered for every cell; [] = the embedded demo
  set: z.record(z.string(), z.unknown()).describe("a mapping of key: value").default({}), // fixed overrides
  grid: z.record(z.string(), z.array(z.unknown())).describe("a mapping of key: [values]"), // cells = the product
  eval: SweepEvalSchema.nullable().default(null), // null = train only
  engine: z.enum(["local", "slurm", "kubernetes"]).describe('"local", "slurm" or "kubernetes"').default("local"),
  slurm: SlurmSchema.prefault({}),
  kubernetes: KubernetesSchema.prefault({}),
  max_parallel: positiveInt().nullable().default(null), // cells at once (Slurm %N, Job parallelism, local cap)
});

export type SweepFile = z.output<typeof SweepSchema>;
export type SlurmSettings = z.output<typeof SlurmSchema>;
export type KubernetesSettings = z.output<typeof KubernetesSchema>;

export interface LoadedSweep {
  file: string;
  sha256: string; // of the file's bytes: a sweep folder belongs to exactly one sweep file
  sweep: SweepFile;
}

/** Reads and validates a sweep file; every problem is a one-line TfewError naming the key. */
export function loadSweepFile(file: string): LoadedSweep {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new TfewError(`sweep file ${file} cannot be read (${code}); pass an existing .yaml file`);
  }
  return {
    file,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    sweep: parseSweepText(bytes.toString("utf8"), file),
  };
}

/** Parses and validates sweep YAML text (`file` names it in errors). */
export function parseSweepText(text: string, file: string): SweepFile {
  const document = YAML.parseDocument(text, { uniqueKeys: true });
  const syntax = document.errors[0];
  if (syntax !== undefined) {
    const at = syntax.linePos === undefined ? "" : ` at line ${syntax.linePos[0].line}`;
    throw new TfewError(
      `YAML syntax error in ${file}${at}: ${(syntax.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "")}`,
    );
  }
  const data: unknown = document.toJS({ maxAliasCount: 100 });
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new TfewError(
      `sweep file ${file} must hold a mapping with keys ${Object.keys(SweepSchema.shape).join(", ")}`,
    );
  }
  const result = SweepSchema.safeParse(data);
  if (!result.success) throw new TfewError(issueText(result.error.issues, data, file));
  checkSweep(result.data, file);
  return result.data;
}

/** Rules across keys: a non-empty grid, each list non-empty, no key in both set and grid, engine settings given. */
function checkSweep(sweep: SweepFile, file: string): void {
  const keys = Object.keys(sweep.grid);
  if (keys.length === 0)
    throw new TfewError(`grid in ${file} is empty; list at least one key with its values, e.g. seed: [1, 2, 3]`);
  for (const key of keys) {
    if ((sweep.grid[key] ?? []).length === 0)
      throw new TfewError(`grid.${key} in ${file} is an empty list; give at least one value or remove the key`);
    if (Object.hasOwn(sweep.set, key))
      throw new TfewError(`key ${key} is in both set and grid of ${file}; keep it in one of them`);
  }
  for (const key of [...keys, ...Object.keys(sweep.set)]) {
    if (key === "out")
      throw new TfewError(
        `${file} sets "out"; each cell's run folder is chosen by the sweep (tfew sweep run --out DIR)`,
      );
  }
  if (sweep.engine === "kubernetes") {
    if (sweep.kubernetes.image === null)
      throw new TfewError(
        `kubernetes.image in ${file} is required for engine: kubernetes; name an image with tfew installed`,
      );
    if (sweep.kubernetes.runs_volume_claim === null) {
      throw new TfewError(
        `kubernetes.runs_volume_claim in ${file} is required for engine: kubernetes; name the PersistentVolumeClaim that holds the sweep folder`,
      );
    }
  }
}

/** The first zod issue as one line: `unknown key "slurm.gpu" in s.yaml; allowed keys in slurm: ...`. */
function issueText(issues: readonly z.core.$ZodIssue[], data: unknown, file: string): string {
  const ordered = [...issues].sort(
    (a, b) => Number(b.code === "unrecognized_keys") - Number(a.code === "unrecognized_keys"),
  );
  const issue = ordered[0];
  if (issue === undefined) return `sweep file ${file} is not valid`;
  const path = issue.path.map(String);
  if (issue.code === "unrecognized_keys") {
    const name = [...path, issue.keys[0] ?? ""].join(".");
    const allowed = Object.keys(shapeAt(path) ?? {});
    const scope = path.length === 0 ? "allowed top-level keys" : `allowed keys in ${path.join(".")}`;
    return `unknown key ${JSON.stringify(name)} in ${file}; ${scope}: ${allowed.join(", ")}`;
  }
  if (path.length === 1 && path[0] === "grid" && issue.code === "invalid_type") {
    return `grid in ${file} is required: a mapping of run-config key to a list of values, e.g. seed: [1, 2, 3]`;
  }
  const name = path.length === 0 ? "the sweep file" : path.join(".");
  const allowed = describeAt(path) ?? issue.message;
  return `${name} in ${file} must be ${allowed}, got ${JSON.stringify(valueAt(data, path)) ?? "nothing"}`;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodDefault || current instanceof z.ZodPrefault || current instanceof z.ZodNullable)
      current = current.unwrap() as z.ZodType;
    else return current;
  }
}

function schemaAtPath(path: readonly string[]): z.ZodType | undefined {
  let current: z.ZodType = SweepSchema;
  for (const key of path) {
    const inner = unwrap(current);
    if (inner instanceof z.ZodObject) current = (inner.shape as Record<string, z.ZodType>)[key] as z.ZodType;
    else if (inner instanceof z.ZodRecord) current = inner.valueType as z.ZodType;
    else if (inner instanceof z.ZodArray) current = inner.element as z.ZodType;
    else return undefined;
    if (current === undefined) return undefined;
  }
  return current;
}

function shapeAt(path: readonly string[]): Record<string, unknown> | undefined {
  const schema = schemaAtPath(path);
  const inner = schema === undefined ? undefined : unwrap(schema);
  return inner instanceof z.ZodObject ? (inner.shape as Record<string, unknown>) : undefined;
}

function describeAt(path: readonly string[]): string | undefined {
  const schema = schemaAtPath(path);
  if (schema === undefined) return undefined;
  const keys = shapeAt(path);
  if (keys !== undefined) return `a mapping with keys ${Object.keys(keys).join(", ")}`;
  for (let current: z.ZodType = schema; ; current = current.unwrap() as z.ZodType) {
    if (current.description !== undefined) return current.description;
    if (!(current instanceof z.ZodDefault || current instanceof z.ZodPrefault || current instanceof z.ZodNullable))
      return undefined;
  }
}

function valueAt(data: unknown, path: readonly string[]): unknown {
  let current = data;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
