// Training checkpoints: one safetensors file written atomically (temp, fsync, rename), holding the (IA)³
// vectors (every set of a multi-task run, as "<task>/<path>"), the optimizer's arrays, and in its metadata the step, data-sampler position and optimizer
// scalars — everything an exact resume needs (the data order is a pure function of seed and position).
import { stat } from "node:fs/promises";
import { TfewError } from "../errors.js";
import type { AtomicWriteOptions } from "../io/atomic.js";
import { RUN_FILES, runPaths } from "../io/run-dir.js";
import { readSafetensors, writeSafetensors } from "../io/safetensors.js";
import type { OptimizerState } from "./optimizer.js";
import type { SamplerState } from "../engine/rng.js";
import type { TaskSamplerState } from "../engine/task-sampler.js";

export const CHECKPOINT_FILE = RUN_FILES.checkpoint;

export interface TrainState {
  step: number; // optimizer steps completed
  vectors: Map<string, Float32Array>; // by module path
  optimizer: OptimizerState;
  sampler: SamplerState | TaskSamplerState; // multi-task runs: the task sampler's
  nonfiniteSkipped: number; // steps skipped for NaN/Inf (train.skip_nonfinite)
  configSha: string; // sha256 of config.resolved.yaml: resume refuses a changed config
}

/** Writes runDir/checkpoint.safetensors atomically; on failure (disk full) the previous checkpoint stays intact. */
export async function saveCheckpoint(
  runDir: string,
  state: TrainState,
  options: AtomicWriteOptions = {},
): Promise<string> {
  const tensors: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {};
  for (const [path, v] of state.vectors) tensors[`vector/${path}`] = { dtype: "F32", shape: [v.length], data: v };
  const scalars: Record<string, number> = {};
  for (const [key, value] of Object.entries(state.optimizer)) {
    if (typeof value === "number") scalars[key] = value;
    else tensors[`optimizer/${key}`] = { dtype: "F32", shape: [value.length], data: value };
  }
  const file = runPaths(runDir).checkpoint;
  await writeSafetensors(
    file,
    tensors,
    {
      format: "tfew-checkpoint-1",
      step: String(state.step),
      sampler: JSON.stringify(state.sampler),
      optimizer_scalars: JSON.stringify(scalars),
      nonfinite_skipped: String(state.nonfiniteSkipped),
      config_sha: state.configSha,
    },
    options,
  );
  return file;
}

/** The checkpoint of a run folder; null when the run stopped before writing its first one. */
export async function loadCheckpoint(runDir: string): Promise<TrainState | null> {
  const file = runPaths(runDir).checkpoint;
  if ((await stat(file).catch(() => undefined)) === undefined) return null;
  const { tensors, metadata } = await readSafetensors(file);
  if (metadata.format !== "tfew-checkpoint-1") {
    throw new TfewError(
      `checkpoint: ${file} is not a tfew checkpoint (format ${JSON.stringify(metadata.format)}); resume needs a run folder written by tfew train`,
    );
  }
  const vectors = new Map<string, Float32Array>();
  const optimizer: OptimizerState = {};
  for (const [name, record] of tensors) {
    if (name.startsWith("vector/")) vectors.set(name.slice(7), record.data as Float32Array);
    else if (name.startsWith("optimizer/")) optimizer[name.slice(10)] = record.data as Float32Array;
  }
  try {
    Object.assign(optimizer, JSON.parse(metadata.optimizer_scalars ?? "{}") as Record<string, number>);
    return {
      step: Number(metadata.step),
      vectors,
      optimizer,
      sampler: JSON.parse(metadata.sampler ?? "") as SamplerState | TaskSamplerState,
      nonfiniteSkipped: Number(metadata.nonfinite_skipped ?? 0),
      configSha: metadata.config_sha ?? "",
    };
  } catch {
    throw new TfewError(`checkpoint: metadata of ${file} is damaged; start a new run or restore the file`);
  }
}
