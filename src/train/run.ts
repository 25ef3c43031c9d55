// `tfew train`: T-Few (IA)³ training from a resolved config into a run folder. runTraining names the stages
// (setup.ts: open the run, set up, start the engine; run-files.ts: the run files before, the checkpoints during
// and the adapter + summary after the loop); trainLoop is the step loop itself, top to bottom: sample a batch,
// its gradient over micro-batches, clip, optimizer step, new vectors to the engine, log, checkpoint.
// Checkpoints make a killed run resumable exactly; a signal stops it after one.
import { asOutOfMemoryError } from "../backend/out-of-memory.js";
import type { GradientEngine } from "../engine/accumulate.js";
import type { TfewExample } from "../engine/batch.js";
import { clipByGlobalNorm } from "./grad-clip.js";
import { finishRun, saveTrainCheckpoint, writeRunFiles } from "./run-files.js";
import { learningRateAt } from "./schedule.js";
import { usedGrads } from "./set-optimizers.js";
import { openRun, setUp, startEngine, type TrainOptions, type Training } from "./setup.js";
import { openStepLog } from "./step-log.js";
import type { LoopResult, TrainSummary } from "./summary.js";
import { applyUpdate, skipStep } from "./update.js";

export type { TrainOptions } from "./setup.js";
export type { TrainSummary } from "./summary.js";

export async function runTraining(options: TrainOptions): Promise<TrainSummary> {
  const started = new Date();
  const run = await openRun(options);
  const t = await setUp(options, run);
  const engine = await startEngine(t, options.log);
  const accept = { acceptChanged: options.acceptChangedInputs === true, log: options.log };
  const manifest = await writeRunFiles(t, run, started, accept);
  const loop = await trainLoop(t, engine, options);
  return finishRun(t, engine, loop, manifest);
}

/** The step loop, from the run's current step to train.steps; stops cleanly (after a checkpoint) on a signal. */
async function trainLoop(t: Training, engine: GradientEngine, options: TrainOptions): Promise<LoopResult> {
  const { train } = t.config;
  const backend = t.ws.backend.name;
  const stepLog = await openStepLog(t, {
    microBatchSize: engine.microBatchSize,
    log: options.log,
    progressStream: options.progressStream,
  });
  let stoppedBy: string | null = null;
  try {
    while (t.step < train.steps) {
      stoppedBy = options.stopRequested?.() ?? null;
      if (stoppedBy !== null) break;
      const started = performance.now();
      const batch = t.sampler.next(train.batch_size).map((i) => t.examples[i] as TfewExample);
      const lr = learningRateAt(t.step, { lr: train.lr, totalSteps: train.steps, warmupRatio: train.warmup_ratio });
      // loss and gradient of the whole batch, summed over its micro-batches (forward + backward)
      const result = await engine.compute(batch).catch((error: unknown) => {
        throw asOutOfMemoryError(error, { phase: "train", backend, size: engine.microBatchSize });
      });
      // the sets of tasks not in the batch get no update
      result.grads = usedGrads(result.grads, t.groups, new Set(batch.map((e) => e.task ?? 0)));
      const gradNorm = train.max_grad_norm === null ? NaN : clipByGlobalNorm(result.grads, train.max_grad_norm).norm;
      const problem = applyUpdate(t, result, lr); // the optimizer step, undone if it made a vector non-finite
      if (problem === null) await engine.setVectors(t.params);
      else skipStep(t, problem, options.log); // stops the run unless train.skip_nonfinite
      t.step++;
      if (t.step === 1) t.firstLoss = result.losses.total;
      await stepLog.step(t, { batch, result, lr, gradNorm, seconds: (performance.now() - started) / 1000 });
      if (t.step % train.checkpoint_every === 0 || t.step === train.steps) await saveTrainCheckpoint(t);
    }
    if (stoppedBy !== null) await saveTrainCheckpoint(t);
  } finally {
    await stepLog.close();
    await engine.close();
  }
  return stepLog.result(stoppedBy);
}
