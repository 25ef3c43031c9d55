// summary.json of a training run: step times (mean and median over steps 2.., step 1 includes warm-up),
// throughput, the split used (micro-batches, workers), MFU and the GPU monitor's summary.
import type { GpuSampler } from "../monitor/gpu-sampler.js";

/** What the step loop hands back. */
export interface LoopResult {
  losses: number[];
  stepTimes: number[];
  tokensTotal: number;
  lastMfu: number | null;
  stoppedBy: string | null;
  gpu: GpuSampler | null;
  wall: number;
  deviceReads: number; // device reads the steps made (every thread: workers report theirs)
  tensorsLeaked: number | null; // live tensors at the end minus after step 2 (this thread; 0 = no per-step leak)
}

export interface TrainSummary {
  run_dir: string;
  adapter_dir: string;
  backend: string;
  device: string;
  steps: number;
  first_loss: number | null;
  final_loss: number | null;
  s_per_step: number | null; // mean over steps 2.. (step 1 includes warm-up)
  s_per_step_median: number | null; // median over steps 2.. (what the PyTorch reference reports)
  examples_per_s: number | null;
  tokens_per_s: number | null;
  micro_batch_size: number;
  workers: number;
  nonfinite_skipped: number;
  device_reads_per_step: number | null; // tensor reads back to the host per step (GPU backends: 1, loss + gradients packed)
  tensors_leaked: number | null; // tf.memory().numTensors at the end minus after step 2 (null: fewer than 3 steps)
  mfu: number | null;
  gpu: unknown;
  wall_s: number;
  stopped_by: string | null;
}

export function summarize(
  r: LoopResult & {
    runDir: string;
    adapterDir: string;
    backend: string;
    batchSize: number;
    microBatchSize: number;
    workers: number;
    steps: number;
    nonfiniteSkipped: number;
    firstLoss: number | null; // the run's step 1 (a resumed run did not run it)
  },
): TrainSummary {
  const steady = r.stepTimes.length > 1 ? r.stepTimes.slice(1) : r.stepTimes;
  const meanStep = steady.length > 0 ? steady.reduce((a, b) => a + b, 0) / steady.length : null;
  const sorted = [...steady].sort((a, b) => a - b);
  const medianStep =
    sorted.length > 0
      ? ((sorted[(sorted.length - 1) >> 1] as number) + (sorted[sorted.length >> 1] as number)) / 2
      : null;
  return {
    run_dir: r.runDir,
    adapter_dir: r.adapterDir,
    backend: r.backend,
    device: r.gpu?.summary()?.gpus[0] ?? `${r.backend} (CPU)`,
    steps: r.steps,
    first_loss: r.firstLoss,
    final_loss: r.losses.at(-1) ?? null,
    s_per_step: meanStep,
    s_per_step_median: medianStep,
    examples_per_s: meanStep ? r.batchSize / meanStep : null,
    tokens_per_s: r.wall > 0 ? r.tokensTotal / r.wall : null,
    micro_batch_size: r.microBatchSize,
    workers: r.workers,
    nonfinite_skipped: r.nonfiniteSkipped,
    device_reads_per_step: r.stepTimes.length > 0 ? r.deviceReads / r.stepTimes.length : null,
    tensors_leaked: r.tensorsLeaked,
    mfu: r.lastMfu,
    gpu: r.gpu?.summary() ?? null,
    wall_s: r.wall,
    stopped_by: r.stoppedBy,
  };
}
