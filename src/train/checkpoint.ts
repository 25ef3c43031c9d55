// Training checkpoints: one safetensors file written atomically (temp, fsync, rename), holding the (IA)³
// vectors (every set of a multi-task run, as "<task>/<path>"), the optimizer's arrays, and in its metadata the
// step, data-sampler position, optimizer scalars and step-1 loss — everything an exact resume needs (the data
// order is a pure function of seed and position). Loading refuses a damaged, newer-format or non-finite file.
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
  firstLoss?: number | null; // the loss of the run's step 1 (summary.json's first_loss after a resume)
}

/** The checkpoint format this tfew writes and reads ("tfew-checkpoint-1"). */
export const CHECKPOINT_FORMAT = 1;

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
      format: `tfew-checkpoint-${CHECKPOINT_FORMAT}`,
      step: String(state.step),
      sampler: JSON.stringify(state.sampler),
      optimizer_scalars: JSON.stringify(scalars),
      nonfinite_skipped: String(state.nonfiniteSkipped),
      config_sha: state.configSha,
      ...(state.firstLoss == null ? {} : { first_loss: String(state.firstLoss) }),
    },
    options,
  );
  return file;
}

/** The checkpoint of a run folder; null when there is none (the caller tells a deleted one from none yet). */
export async function loadCheckpoint(runDir: string): Promise<TrainState | null> {
  const file = runPaths(runDir).checkpoint;
  if ((await stat(file).catch(() => undefined)) === undefined) return null;
  const { tensors, metadata } = await readSafetensors(file).catch((error: unknown) => {
    throw damaged(file, error);
  });
  checkFormat(file, metadata.format);
  const vectors = new Map<string, Float32Array>();
  const optimizer: OptimizerState = {};
  for (const [name, record] of tensors) {
    if (name.startsWith("vector/")) {
      checkFinite(file, name, record.data as Float32Array, metadata.step);
      vectors.set(name.slice(7), record.data as Float32Array);
    } else if (name.startsWith("optimizer/")) optimizer[name.slice(10)] = record.data as Float32Array;
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
      firstLoss: metadata.first_loss === undefined ? null : Number(metadata.first_loss),
    };
  } catch {
    throw new TfewError(`checkpoint: metadata of ${file} is damaged; ${START_OVER}`);
  }
}

/** A run folder keeps one checkpoint: a damaged one cannot be replaced by an earlier one. */
const START_OVER =
  "tfew keeps one checkpoint per run, so restore the file from a backup, or start over with tfew train --out NEW";

/** readSafetensors' error about a damaged file, told as a checkpoint's (which is not downloaded). */
function damaged(file: string, error: unknown): unknown {
  if (!(error instanceof TfewError)) return error;
  const reason = error.message.replace(/^safetensors: /, "").replace(/; [^;]*re-download it$/, "");
  return new TfewError(`checkpoint: ${file} is damaged (${reason}); ${START_OVER}`, { cause: error });
}

function checkFormat(file: string, format: string | undefined): void {
  if (format === `tfew-checkpoint-${CHECKPOINT_FORMAT}`) return;
  const version = /^tfew-checkpoint-(\d+)$/.exec(format ?? "")?.[1];
  if (version !== undefined && Number(version) > CHECKPOINT_FORMAT) {
    throw new TfewError(
      `checkpoint: ${file} was written by a newer tfew (format ${version}, this one reads ${CHECKPOINT_FORMAT}); upgrade tfew to resume it`,
    );
  }
  throw new TfewError(
    `checkpoint: ${file} is not a tfew checkpoint (format ${JSON.stringify(format)}); resume needs a run folder written by tfew train`,
  );
}

/** Training never checkpoints a non-finite vector (such an update is undone or stops the run): the file was damaged. */
function checkFinite(file: string, name: string, data: Float32Array, step: string | undefined): void {
  const at = data.findIndex((v) => !Number.isFinite(v));
  if (at < 0) return;
  throw new TfewError(
    `checkpoint: ${file} holds a non-finite value (${data[at]} in ${name}[${at}], step ${step ?? "?"}); ` +
      `it cannot be resumed: ${START_OVER}`,
  );
}
