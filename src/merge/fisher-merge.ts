// `tfew merge --method fisher --data ...`: each adapter's diagonal Fisher on its own task's data (engine/
// fisher.ts), saved as fisher.safetensors beside the adapter and reused while its inputs match, then merged.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { disposeVectorSet } from "../adapters/ia3.js";
import { loadRunConfig } from "../config/load.js";
import type { RunConfig } from "../config/schema.js";
import type { TaskData } from "../data/task-types.js";
import { loadTokenizer, type T5Tokenizer } from "../data/tokenizer.js";
import type { FisherKind } from "../engine/fisher-settings.js";
import { computeFisher } from "../engine/fisher.js";
import type { TfewExample } from "../engine/batch.js";
import { buildExamples, loadAdapterSet, prepareModel, prepareTask, type Workspace } from "../engine/workspace.js";
import { TfewError } from "../errors.js";
import { sha256File } from "../io/atomic.js";
import { resolveModelSource } from "../io/hub.js";
import { assertFreshOutDir } from "../io/out-dir.js";
import { runOfAdapter, runPaths, sha256Text } from "../io/run-dir.js";
import { FISHER_FILE, readFisherRecord, writeFisherFile } from "./fisher-file.js";
import { checkCompatible } from "./merge.js";
import { mergeAdapterFolders, readMergeSources, type MergeSummary } from "./merge-files.js";

export interface FisherMergeInput {
  adapterDir: string;
  /** the run config for this adapter's data: model = the base model, data.path = its --data, any --set */
  config: RunConfig;
}

export interface FisherMergeOptions {
  inputs: readonly FisherMergeInput[];
  kind: FisherKind;
  weights?: readonly number[] | null;
  outDir: string;
  /** replace an earlier merge output in outDir (see MergeFoldersOptions.overwrite) */
  overwrite?: boolean;
  log: (line: string) => void;
}

/** What a Fisher was computed from; a saved fisher.safetensors is reused only when every field matches. */
export interface FisherKey {
  tfew_fisher: FisherKind;
  length_norm: string; // eval.length_norm
  examples: string; // N, the count it is averaged over
  data: string; // --data as given (informative; not compared)
  data_sha256: string; // of the task's files' sha256 values, in order
  examples_sha256: string; // of the tokenized examples (template, max_seq_len, labels, tokenizer)
  adapter_sha256: string; // of the adapter's vector values
}

const COMPARED = [
  "tfew_fisher",
  "length_norm",
  "examples",
  "data_sha256",
  "examples_sha256",
  "adapter_sha256",
] as const;

interface Prepared {
  input: FisherMergeInput;
  examples: TfewExample[];
  key: FisherKey;
}

export async function fisherMerge(
  options: FisherMergeOptions,
): Promise<MergeSummary & { computed: number; reused: number }> {
  if (options.overwrite !== true) await assertFreshOutDir(options.outDir, "merge");
  const adapters = await readMergeSources(options.inputs.map((i) => i.adapterDir));
  checkCompatible(adapters); // before any compute: one line naming both folders
  const prepared: Prepared[] = [];
  let tokenizer: T5Tokenizer | null = null;
  for (const [i, input] of options.inputs.entries()) {
    const task = await prepareTask(input.config);
    await checkDataFitsAdapter(task, input, options.log);
    tokenizer ??= await loadTokenizer(
      input.config.tokenizer ?? (await resolveModelSource(input.config.model, { revision: input.config.revision })).dir,
    );
    const examples = fisherExamples(task, input, tokenizer, options.kind);
    const values = adapters[i]?.values ?? new Map<string, Float32Array>();
    prepared.push({ input, examples, key: await fisherKey(task, input, examples, options.kind, values) });
  }
  let ws: Workspace | null = null;
  const fishers: Map<string, Float32Array>[] = [];
  const records: Record<string, unknown>[] = [];
  let computed = 0;
  for (const [i, p] of prepared.entries()) {
    const dir = p.input.adapterDir;
    const saved = await readFisherRecord(dir);
    const reuse = saved !== null && COMPARED.every((k) => saved.metadata[k] === p.key[k]);
    if (reuse) {
      options.log(
        `fisher: reusing ${join(dir, FISHER_FILE)} (${p.key.tfew_fisher} Fisher on ${p.key.examples} examples of ${p.key.data})`,
      );
      fishers.push(saved.values);
    } else {
      ws ??= await prepareModel(p.input.config, { log: options.log });
      options.log(
        `fisher: computing the ${options.kind} Fisher of ${dir} on ${p.examples.length} examples of ${p.key.data}${saved === null ? "" : ` (the saved ${FISHER_FILE} was computed from other inputs)`}`,
      );
      const t0 = performance.now();
      const fisher = await fisherOf(ws, p);
      await writeFisherFile(dir, fisher, adapters[i]?.shapes ?? new Map(), { ...p.key });
      options.log(`fisher: wrote ${join(dir, FISHER_FILE)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      fishers.push(fisher);
      computed++;
    }
    records.push({
      file: resolve(dir, FISHER_FILE),
      kind: p.key.tfew_fisher,
      data: existsSync(p.key.data) ? resolve(p.key.data) : p.key.data,
      data_sha256: p.key.data_sha256,
      examples: Number(p.key.examples),
      length_norm: Number(p.key.length_norm),
      reused: reuse,
    });
  }
  const summary = await mergeAdapterFolders({
    adapterDirs: options.inputs.map((i) => i.adapterDir),
    method: "fisher",
    weights: options.weights ?? null,
    fishers,
    fisherRecords: records,
    outDir: options.outDir,
    overwrite: options.overwrite,
  });
  return { ...summary, computed, reused: prepared.length - computed };
}

async function fisherOf(ws: Workspace, p: Prepared): Promise<Map<string, Float32Array>> {
  const set = await loadAdapterSet(ws, p.input.adapterDir);
  if (set === null) throw new Error("fisherOf: no adapter");
  try {
    const { eval: e, workers } = p.input.config;
    return await computeFisher(ws, set, p.examples, {
      kind: p.key.tfew_fisher,
      lengthNorm: e.length_norm,
      workers,
    });
  } finally {
    disposeVectorSet(set);
  }
}

/** The train split's rows (model kind: every row; empirical: the labelled ones) as T-Few examples. */
function fisherExamples(
  task: TaskData,
  input: FisherMergeInput,
  tokenizer: T5Tokenizer,
  kind: FisherKind,
): TfewExample[] {
  const rows = kind === "empirical" ? task.train.filter((r) => r.label !== undefined) : task.train;
  if (rows.length === 0) {
    throw new TfewError(
      `merge: --data ${input.config.data.path} has no ${kind === "empirical" ? "labelled " : ""}rows in its train split to compute ${input.adapterDir}'s Fisher on; give the task's labelled training data`,
    );
  }
  return buildExamples(task, rows, tokenizer, input.config).examples;
}

async function fisherKey(
  task: TaskData,
  input: FisherMergeInput,
  examples: readonly TfewExample[],
  kind: FisherKind,
  values: ReadonlyMap<string, Float32Array>,
): Promise<FisherKey> {
  const fileHashes: string[] = [];
  for (const file of task.files) fileHashes.push(await sha256File(file));
  const vectors = [...values.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([path, v]) => `${path}:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64")}`);
  return {
    tfew_fisher: kind,
    length_norm: String(input.config.eval.length_norm),
    examples: String(examples.length),
    data: input.config.data.path,
    data_sha256: sha256Text(fileHashes.join("\n")),
    examples_sha256: sha256Text(JSON.stringify(examples)),
    adapter_sha256: sha256Text(vectors.join("\n")),
  };
}

/**
 * The data must be the adapter's task: when the adapter is a tfew run's adapter/ (config.resolved.yaml beside
 * it), the data's answer choices must be the run's, in order. Other adapters (PEFT, merged) record no task:
 * only that they fit the model is checked, when the Fisher is computed.
 */
async function checkDataFitsAdapter(
  task: TaskData,
  input: FisherMergeInput,
  log: (line: string) => void,
): Promise<void> {
  const runDir = runOfAdapter(input.adapterDir);
  if (runDir === null) return;
  const runConfigFile = runPaths(runDir).config;
  const run = loadRunConfig({ files: [runConfigFile], sets: [] }).config;
  let runLabels = run.data.labels;
  if (runLabels === null) {
    try {
      runLabels = (await prepareTask(run)).labelNames;
    } catch {
      log(
        `warning: fisher: cannot read the training data of ${input.adapterDir} (${run.data.path}) to compare its labels with --data ${input.config.data.path}; not checked`,
      );
      return;
    }
  }
  if (JSON.stringify(runLabels) !== JSON.stringify(task.labelNames)) {
    throw new TfewError(
      `merge: --data ${input.config.data.path} has labels ${JSON.stringify(task.labelNames)} but ${input.adapterDir} was trained on ${JSON.stringify(runLabels)} (${runConfigFile}); give each --adapter its own task's data, in the same order (or set data.labels)`,
    );
  }
}
