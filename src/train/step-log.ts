// What the training loop (train/run.ts) records after each step: step times, losses, tokens and device reads for
// summary.json; MFU from the GPU sampler's device; every train.log_every steps a metrics.jsonl row (+ TensorBoard)
// and the progress line.
import { tf } from "../backend/tf.js";
import type { StepGradients } from "../engine/accumulate.js";
import { passTokens, type TfewExample } from "../engine/batch.js";
import { startGpuSampler } from "../monitor/gpu-sampler.js";
import { createMetricsLog } from "../monitor/metrics-log.js";
import { mfu, resolvePeakFlops, t5StepFlops } from "../monitor/mfu.js";
import { createProgress } from "../monitor/progress.js";
import { runPaths } from "../io/run-dir.js";
import type { Training } from "./setup.js";
import type { LoopResult } from "./summary.js";

/** One finished optimizer step, as the loop hands it over. */
export interface StepRecord {
  batch: TfewExample[];
  result: StepGradients;
  lr: number;
  gradNorm: number; // NaN without train.max_grad_norm
  seconds: number;
}

export interface StepLog {
  /** Records step `t.step` (already counted); yields to the event loop (GPU sampler, signals, stdout). */
  step(t: Training, s: StepRecord): Promise<void>;
  /** Stops the progress line, the logs and the GPU sampler. */
  close(): Promise<void>;
  /** What the loop hands back for summary.json; wall time up to now. */
  result(stoppedBy: string | null): LoopResult;
}

export async function openStepLog(
  t: Training,
  options: { microBatchSize: number; log: (line: string) => void; progressStream?: NodeJS.WriteStream },
): Promise<StepLog> {
  const { config } = t;
  const metrics = createMetricsLog(runPaths(t.runDir).metrics, { events: true }); // + a TensorBoard event file
  const gpu =
    config.monitor.gpu === "auto"
      ? await startGpuSampler({ intervalMs: config.monitor.interval_ms, onWarning: options.log })
      : null;
  const progress = createProgress({ total: config.train.steps, label: "train", stream: options.progressStream });
  const out: LoopResult = {
    losses: [],
    stepTimes: [],
    tokensTotal: 0,
    lastMfu: null,
    stoppedBy: null,
    gpu,
    wall: 0,
    deviceReads: 0,
    tensorsLeaked: null,
  };
  let tensorsAfterStep2: number | null = null;
  const t0 = performance.now();
  return {
    async step(t, { batch, result, lr, gradNorm, seconds }) {
      out.stepTimes.push(seconds);
      out.losses.push(result.losses.total);
      out.tokensTotal += result.tokens;
      out.deviceReads += result.reads;
      if (out.stepTimes.length === 2) tensorsAfterStep2 = tf.memory().numTensors;
      else if (tensorsAfterStep2 !== null) out.tensorsLeaked = tf.memory().numTensors - tensorsAfterStep2;
      await new Promise((r) => setImmediate(r)); // let the GPU sampler, signals and stdout run
      const g = gpu?.latest()[0];
      const peak = resolvePeakFlops({ gpuName: g?.name ?? null, peakTflops: config.monitor.peak_tflops });
      if (peak !== null) {
        // the work this step really did: each micro-batch at its own padded lengths
        const flops = passTokens(batch, options.microBatchSize).reduce(
          (sum, tokens) => sum + t5StepFlops(t.ws.model.config, tokens, { training: true }),
          0,
        );
        out.lastMfu = mfu(flops, seconds, peak);
      }
      if (t.step % config.train.log_every !== 0 && t.step !== config.train.steps) return;
      const record = {
        step: t.step,
        loss: result.losses.total,
        lm_loss: result.losses.lm,
        ul_loss: result.losses.ul,
        ln_loss: result.losses.ln,
        lr,
        grad_norm: gradNorm,
        examples_per_s: result.examples / seconds,
        tokens_per_s: result.tokens / seconds,
        step_s: seconds,
        ...(g ? { gpu_util_pct: g.utilizationPct, gpu_mem_mib: g.memoryUsedMiB } : {}),
        ...(out.lastMfu !== null ? { mfu: out.lastMfu } : {}),
        ...(result.tasks && t.multi ? { tasks: taskRecord(result.tasks, t.multi.names) } : {}),
      };
      metrics.write(record);
      progress.update(t.step, {
        loss: record.loss,
        lr,
        examples_per_s: record.examples_per_s,
        ...(g?.utilizationPct != null ? { gpu_util_pct: g.utilizationPct } : {}),
        ...(g?.memoryUsedMiB != null ? { gpu_mem_mib: g.memoryUsedMiB } : {}),
      });
    },
    async close() {
      progress.stop();
      metrics.close();
      await gpu?.stop();
    },
    result(stoppedBy) {
      return { ...out, stoppedBy, wall: (performance.now() - t0) / 1000 };
    },
  };
}

/** metrics.jsonl's per-task losses: { name: { loss, lm_loss, ul_loss, ln_loss, examples } } for the tasks in the batch. */
function taskRecord(
  tasks: NonNullable<StepGradients["tasks"]>,
  names: readonly string[],
): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [index, { losses, examples }] of tasks)
    out[names[index] ?? String(index)] = {
      loss: losses.total,
      lm_loss: losses.lm,
      ul_loss: losses.ul,
      ln_loss: losses.ln,
      examples,
    };
  return out;
}
