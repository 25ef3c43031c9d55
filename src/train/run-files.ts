// The files `tfew train` writes into its run folder around the step loop: config.resolved.yaml, manifest.json and a
// trimmed metrics.jsonl before it; checkpoints during it; the adapter, summary.json and the manifest's end after it.
import { assignTrained } from "../adapters/trainable.js";
import { describeDataFiles } from "../data/manifest.js";
import type { GradientEngine } from "../engine/accumulate.js";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";
import { hashFiles, resetMetricsLog, runPaths, TFEW_VERSION } from "../io/run-dir.js";
import { saveCheckpoint } from "./checkpoint.js";
import { changedInputs, type InputHistoryEntry, type RunInputs } from "./resume.js";
import { trimEventFiles } from "./run-events.js";
import type { OpenedRun, Training } from "./setup.js";
import { summarize, type LoopResult, type TrainSummary } from "./summary.js";
import { saveTrainedVectors } from "./vectors.js";

export type RunManifest = Awaited<ReturnType<typeof writeRunFiles>>;

/**
 * Before the loop: config.resolved.yaml, manifest.json, and metrics.jsonl trimmed to the checkpoint on resume. A
 * resume first checks the inputs against the previous manifest (resume.ts), before writing anything.
 */
export async function writeRunFiles(
  t: Training,
  run: OpenedRun,
  started: Date,
  options: { acceptChanged: boolean; log: (line: string) => void },
) {
  const files = runPaths(t.runDir);
  const inputs: RunInputs = {
    model_commit: t.ws.source.commit ?? null,
    model_files: t.ws.source.commit ? null : await hashFiles(t.ws.model.files),
    data_files: await describeDataFiles(t.task.files), // [{ path, format, rows, sha256 }]
  };
  const input_history = inputHistory(run, inputs, { ...options, manifestFile: files.manifest });
  await writeFileAtomic(files.config, run.configText);
  const manifest = {
    tfew_version: TFEW_VERSION,
    backend: t.ws.backend.name,
    backend_reason: t.ws.backend.reason,
    model: t.config.model,
    model_source: t.ws.source.kind,
    ...inputs,
    seed: t.config.seed,
    started_at: started.toISOString(),
    ended_at: null as string | null,
    resumed_from_step: run.resumeState?.step ?? null,
    input_history, // earlier checksums of inputs a resume accepted as changed (--accept-changed-inputs)
  };
  await writeJsonAtomic(files.manifest, manifest);
  // metrics.jsonl is an append log: a fresh run starts it empty; a resume keeps the rows up to the checkpoint
  const keep = { keepThroughStep: run.resumeState?.step ?? 0 };
  await resetMetricsLog(files.metrics, keep);
  await trimEventFiles(t.runDir, keep); // the TensorBoard event files likewise; the continued run starts a new one
  return manifest;
}

/** The previous manifest's input_history, plus the inputs it recorded when they changed since (accepted). */
function inputHistory(
  run: OpenedRun,
  inputs: RunInputs,
  options: { acceptChanged: boolean; manifestFile: string; log: (line: string) => void },
): InputHistoryEntry[] {
  const previous = run.previousManifest;
  if (previous === null) return [];
  const history = Array.isArray(previous.input_history) ? previous.input_history : [];
  const changed = changedInputs(previous, inputs, options);
  if (changed.length === 0) return history;
  options.log(
    `resume: note: training on with changed inputs (${changed.join(", ")}); ${options.manifestFile} keeps the earlier checksums in input_history`,
  );
  const entry: InputHistoryEntry = {
    until_step: run.resumeState?.step ?? 0,
    changed,
    accepted_at: new Date().toISOString(),
    model_commit: previous.model_commit ?? null,
    model_files: previous.model_files ?? null,
    data_files: previous.data_files ?? [],
  };
  return [...history, entry];
}

/** During the loop: checkpoint.safetensors of the current step (vectors, optimizer, sampler: an exact resume). */
export async function saveTrainCheckpoint(t: Training): Promise<void> {
  await saveCheckpoint(t.runDir, {
    step: t.step,
    vectors: t.params,
    optimizer: t.optimizer.state(),
    sampler: t.sampler.snapshot(),
    nonfiniteSkipped: t.nonfiniteSkipped,
    configSha: t.configSha,
    firstLoss: t.firstLoss,
  });
  t.lastCheckpointStep = t.step;
}

/** After the loop: the adapter (unless a signal stopped the run), summary.json and the manifest's end time. */
export async function finishRun(
  t: Training,
  engine: GradientEngine,
  loop: LoopResult,
  manifest: RunManifest,
): Promise<TrainSummary> {
  const files = runPaths(t.runDir);
  if (loop.stoppedBy === null) {
    assignTrained(t.vectors, t.params);
    await saveTrainedVectors(t.runDir, t.vectors, { baseModel: t.config.model });
  }
  const summary = summarize({
    ...loop,
    runDir: t.runDir,
    adapterDir: files.adapter,
    backend: t.ws.backend.name,
    batchSize: t.config.train.batch_size,
    microBatchSize: engine.microBatchSize,
    workers: engine.workers,
    steps: t.step,
    nonfiniteSkipped: t.nonfiniteSkipped,
    firstLoss: t.firstLoss,
  });
  await writeJsonAtomic(files.summary, summary);
  await writeJsonAtomic(files.manifest, { ...manifest, ended_at: new Date().toISOString() });
  return summary;
}
