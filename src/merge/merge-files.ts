// `tfew merge` on folders: read PEFT IA3 adapters (and fisher.safetensors for --method fisher), merge them
// (merge.ts), write one PEFT IA3 adapter folder plus merge.json (the record PEFT's config cannot hold).
import { realpath, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { readAdapter, writeAdapterFiles } from "../adapters/peft-adapter.js";
import { TfewError } from "../errors.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { assertFreshOutDir, writeFolderAtomic } from "../io/out-dir.js";
import { FISHER_FILE, readFisherFile } from "./fisher-file.js";
import { mulberry32 } from "../engine/rng.js";
import { FISHER_FLOOR, mergeAdapters, type MergeMethod, type MergeSource } from "./merge.js";
import { checkTaskVectorFlags, DEFAULT_DENSITY, DEFAULT_LAMBDA, DEFAULT_MERGE_SEED } from "./task-vectors.js";

/** The merge record beside the merged adapter (PEFT versions before 0.14 reject unknown keys in adapter_config.json). */
export const MERGE_RECORD_FILE = "merge.json";

const FORMULAS: Record<MergeMethod, string> = {
  average: "θ = (1/n) Σ θᵢ",
  weighted: "θ = Σ wᵢ θᵢ / Σ wᵢ",
  fisher: "θ = Σ wᵢ max(Fᵢ, ε) θᵢ / Σ wᵢ max(Fᵢ, ε), element-wise",
  "task-arithmetic": "τᵢ = θᵢ − 1; θ = 1 + λ Σ τᵢ",
  ties: "τᵢ = θᵢ − 1 trimmed to its top ⌈density·n⌉ |τ|; sign γ = sgn(Σ τᵢ); θ = 1 + λ · mean of τᵢ with sign γ",
  dare: "τᵢ = θᵢ − 1, each entry dropped with p = 1 − density, kept ones ÷ (1 − p); θ = 1 + λ Σ τᵢ",
};

/** What merge.json records as the method's parameters (the values applied, defaults included). */
export function methodParameters(options: MergeFoldersOptions): Record<string, number> {
  const lambda = options.lambda ?? DEFAULT_LAMBDA;
  const density = options.density ?? DEFAULT_DENSITY;
  if (options.method === "fisher") return { fisher_floor: FISHER_FLOOR };
  if (options.method === "task-arithmetic") return { lambda };
  if (options.method === "ties") return { lambda, density };
  if (options.method === "dare") return { lambda, density, drop_rate: 1 - density, seed: seedOf(options) };
  return {};
}

const seedOf = (options: MergeFoldersOptions) => options.seed ?? DEFAULT_MERGE_SEED;

export interface MergeFoldersOptions {
  adapterDirs: readonly string[];
  method: MergeMethod;
  weights?: readonly number[] | null;
  /** fisher: diagonals already computed (one per adapter, null = read that adapter's fisher.safetensors) */
  fishers?: readonly (ReadonlyMap<string, Float32Array> | null)[] | null;
  /** fisher: what merge.json records as each input's Fisher source (default: the file read, or "computed") */
  fisherRecords?: readonly (Record<string, unknown> | null)[] | null;
  /** task-arithmetic, ties, dare (checked by task-vectors.ts checkTaskVectorFlags) */
  lambda?: number | undefined;
  density?: number | undefined;
  seed?: number | undefined;
  outDir: string;
  /** replace an earlier merge output in outDir (the CLI checked it is one and --overwrite was given) */
  overwrite?: boolean;
}

export interface MergeSummary {
  outDir: string;
  vectors: number;
  parameters: number;
  weights: number[]; // applied, normalized to sum 1 (none for the task-vector methods)
  methodParameters: Record<string, number>; // as merge.json records them
}

export async function mergeAdapterFolders(options: MergeFoldersOptions): Promise<MergeSummary> {
  checkTaskVectorFlags(options.method, options);
  if (options.overwrite !== true) await assertFreshOutDir(options.outDir, "merge");
  if (options.adapterDirs.length < 2)
    throw new TfewError(`merge: give at least two --adapter folders (got ${options.adapterDirs.length})`);
  const adapters = await readMergeSources(options.adapterDirs);
  const fisherSources: (string | Record<string, unknown> | null)[] = adapters.map(() => null);
  let fishers: ReadonlyMap<string, Float32Array>[] | null = null;
  if (options.method === "fisher") {
    fishers = [];
    for (const [i, adapter] of adapters.entries()) {
      const given = options.fishers?.[i] ?? null;
      const read = given ?? (await readFisherFile(adapter.dir));
      if (read === null) {
        throw new TfewError(
          `merge: ${adapter.dir} has no ${FISHER_FILE}; --method fisher needs each adapter's Fisher diagonal: give one --data per --adapter (its task's data) to compute it, or use --method average or weighted`,
        );
      }
      fisherSources[i] =
        options.fisherRecords?.[i] ?? (given === null ? resolve(adapter.dir, FISHER_FILE) : "computed");
      fishers.push(read);
    }
  }
  const { adapter, weights } = mergeAdapters({
    adapters,
    method: options.method,
    weights: options.weights ?? null,
    fishers,
    ...(options.lambda !== undefined ? { lambda: options.lambda } : {}),
    ...(options.density !== undefined ? { density: options.density } : {}),
    rand: mulberry32(seedOf(options)),
  });
  const applied = methodParameters(options);
  const record = {
    tool: "tfew merge",
    method: options.method,
    formula: FORMULAS[options.method],
    ...applied, // fisher_floor; lambda, density, drop_rate, seed; lambda, density, drop_rate, seed
    base_model: adapter.baseModel,
    inputs: adapters.map((a, i) => ({
      adapter: resolve(a.dir),
      weight: options.weights?.[i] ?? null, // as given on the command line
      applied_weight: weights[i] ?? null, // normalized to sum 1 (null: the task-vector methods)
      ...(options.method === "fisher" ? { fisher: fisherSources[i] } : {}),
    })),
    created: new Date().toISOString(),
  };
  const target = { what: "merge", replace: options.overwrite === true };
  await writeFolderAtomic(options.outDir, target, async (dir) => {
    await writeAdapterFiles(dir, adapter);
    await writeJsonAtomic(join(dir, MERGE_RECORD_FILE), record);
  });
  const parameters = [...adapter.values.values()].reduce((n, v) => n + v.length, 0);
  return { outDir: options.outDir, vectors: adapter.values.size, parameters, weights, methodParameters: applied };
}

/** Reads the adapter folders to merge (each must exist); base models named by local folders compare by real path. */
export async function readMergeSources(dirs: readonly string[]): Promise<MergeSource[]> {
  const adapters: MergeSource[] = [];
  for (const dir of dirs) {
    if (!(await stat(dir).catch(() => undefined))?.isDirectory())
      throw new TfewError(
        `merge: adapter folder ${dir} does not exist; give folders written by tfew train (run/adapter), tfew merge or PEFT`,
      );
    const adapter = await readAdapter(dir);
    adapters.push({ ...adapter, baseModelKey: await canonicalModel(adapter.baseModel), dir }); // recorded as given
  }
  return adapters;
}

/** A base model named by a local folder compares by its real path (relative and absolute spellings agree); hub ids as written. */
async function canonicalModel(name: string): Promise<string> {
  if (name === "") return name;
  const info = await stat(name).catch(() => undefined);
  return info?.isDirectory() ? realpath(name) : name;
}
