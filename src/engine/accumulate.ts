// Gradient engines turn a batch of T-Few examples into the loss and (IA)³ gradient of one optimizer step.
// Each micro-batch's share is already divided by the whole batch's counts, so the step's gradient is the
// plain SUM of the shares: on wasm / cpu read per micro-batch and taken in float64 in micro-batch order (a given
// micro_batch_size gives the same bytes on 1 or N workers); on GPU / native backends summed on the device and
// read ONCE per step. Any micro_batch_size gives the full-batch gradient up to float rounding. On a worker pool
// the gradients job computes each worker's share of the micro-batches.
import { assignTrained, type TrainedVectors } from "../adapters/trainable.js";
import { accumulatesOnDevice, deviceReads, readFloats } from "../backend/reads.js";
import { tf } from "../backend/tf.js";
import type { T5Model } from "../model/t5.js";
import { batchNormalizers, makeBatch, splitMicroBatches, type TfewExample } from "./batch.js";
import { computeGradients, gradientTensors, unpackSummable, type LossSettings } from "./gradients.js";
import { lossValues, type LossNormalizers, type LossValues } from "./losses.js";
import { workerVectors, type WorkerJob, type WorkerPool } from "./pool.js";
import { addByTask, taskLosses, type Sums } from "./task-losses.js";

export interface StepGradients {
  losses: LossValues; // of the whole batch
  grads: Map<string, Float32Array>; // d total / d vector of the whole batch, by module path
  examples: number;
  tokens: number; // real (non-pad) encoder + decoder tokens processed
  tasks?: Map<number, { losses: LossValues; examples: number }>; // several sets: each task's losses over its examples
  reads: number; // device reads this step made (backend/reads.ts), in every thread
}

/** One micro-batch's contribution (what a worker sends back), kept in micro-batch order. */
export interface MicroBatchPart {
  sums: { lm: number; ul: number; ln: number };
  grads: Map<string, Float32Array>;
  examples: number;
  tokens: number;
  taskSums?: [number, Sums][]; // several sets: each task's loss sums (a list: crosses worker threads)
  reads: number; // device reads made for this part
}

export interface GradientEngine {
  readonly microBatchSize: number;
  readonly workers: number;
  compute(examples: TfewExample[]): Promise<StepGradients>;
  setVectors(values: ReadonlyMap<string, Float32Array>): Promise<void>;
  close(): Promise<void>;
}

/** Σ of gradient maps with the same names and lengths, accumulated in float64 in list order. */
export function sumGrads(list: readonly ReadonlyMap<string, Float32Array>[]): Map<string, Float32Array> {
  const first = list[0];
  if (first === undefined) throw new Error("sumGrads: no gradients given");
  const out = new Map<string, Float32Array>();
  for (const [name, data] of first) {
    const acc = new Float64Array(data.length);
    list.forEach((grads, k) => {
      const other = grads.get(name);
      if (other === undefined || other.length !== data.length || grads.size !== first.size) {
        throw new Error(`sumGrads: gradient map ${k} does not hold the same parameters as map 0 (${name})`);
      }
      for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] as number) + (other[i] as number);
    });
    out.set(name, Float32Array.from(acc));
  }
  return out;
}

/** The step's losses and gradient from its micro-batch parts (in order) and the batch's counts (and examples, for per-task losses). */
export function combineParts(
  parts: readonly MicroBatchPart[],
  n: LossNormalizers,
  settings: LossSettings,
  examples?: readonly TfewExample[],
): StepGradients {
  const sums = { lm: 0, ul: 0, ln: 0 };
  for (const p of parts) for (const key of ["lm", "ul", "ln"] as const) sums[key] += p.sums[key];
  const byTask = new Map<number, Sums>();
  for (const p of parts) for (const [task, s] of p.taskSums ?? []) addByTask(byTask, [s], [task]);
  const weights = { ul: settings.ulWeight, ln: settings.lnWeight };
  return {
    ...(byTask.size > 0 && examples ? { tasks: taskLosses(examples, byTask, weights) } : {}),
    losses: lossValues(sums, n, { ul: settings.ulWeight, ln: settings.lnWeight }),
    grads: sumGrads(parts.map((p) => p.grads)),
    examples: parts.reduce((a, p) => a + p.examples, 0),
    tokens: parts.reduce((a, p) => a + p.tokens, 0),
    reads: parts.reduce((a, p) => a + p.reads, 0),
  };
}

export function countTokens(examples: readonly TfewExample[]): number {
  return examples.reduce((n, e) => n + e.inputIds.length + e.choices.reduce((m, c) => m + c.length, 0), 0);
}

/** The parts of a list of micro-batches in this thread (the local engine and each worker): one read each. */
export async function microBatchParts(
  model: T5Model,
  set: TrainedVectors,
  microBatches: readonly TfewExample[][],
  settings: LossSettings,
  n: LossNormalizers,
): Promise<MicroBatchPart[]> {
  const parts: MicroBatchPart[] = [];
  for (const examples of microBatches) {
    const batch = makeBatch(examples, {
      padId: model.config.padTokenId,
      decoderStartId: model.config.decoderStartTokenId,
    });
    const before = deviceReads();
    const r = await computeGradients(model, set, batch, settings, n);
    const reads = deviceReads() - before;
    parts.push({
      sums: r.sums,
      grads: r.grads,
      examples: examples.length,
      tokens: countTokens(examples),
      reads,
      ...(r.taskSums ? { taskSums: [...r.taskSums] } : {}),
    });
  }
  return parts;
}

/**
 * The step on the device: every micro-batch's packed sums and gradients added there (float32, micro-batch
 * order), then ONE read for the whole step (loss sums, per-task sums and every gradient together).
 */
export async function deviceStep(
  model: T5Model,
  set: TrainedVectors,
  microBatches: readonly TfewExample[][],
  settings: LossSettings,
  n: LossNormalizers,
): Promise<MicroBatchPart> {
  const all = microBatches.flat();
  const hasTasks = all.some((e) => e.task !== undefined);
  const taskCount = hasTasks ? Math.max(...all.map((e) => e.task ?? 0)) + 1 : 0;
  let total: tf.Tensor1D | null = null;
  for (const examples of microBatches) {
    const batch = makeBatch(examples, {
      padId: model.config.padTokenId,
      decoderStartId: model.config.decoderStartTokenId,
    });
    const t = gradientTensors(model, set, batch, settings, n, hasTasks ? taskCount : undefined);
    t.scores.dispose();
    const previous: tf.Tensor1D | null = total;
    total = previous === null ? t.summable : tf.tidy(() => tf.add(previous, t.summable) as tf.Tensor1D);
    if (previous !== null) tf.dispose([previous, t.summable]);
  }
  const summed = total as tf.Tensor1D;
  try {
    const before = deviceReads();
    const data = await readFloats(summed);
    const reads = deviceReads() - before;
    const present = new Set(all.map((e) => e.task ?? 0));
    const r = unpackSummable(data, set, taskCount, present);
    return {
      sums: r.sums,
      grads: r.grads,
      examples: all.length,
      tokens: countTokens(all),
      reads,
      ...(r.taskSums ? { taskSums: [...r.taskSums] } : {}),
    };
  } finally {
    summed.dispose();
  }
}

/** Gradients in this thread; several sets = per-example task routing (examples carry their task index). */
export function createLocalEngine(
  model: T5Model,
  set: TrainedVectors,
  settings: LossSettings,
  microBatchSize: number,
): GradientEngine {
  const onDevice = accumulatesOnDevice(); // the backend's choice (backend/reads.ts), made once
  return {
    microBatchSize,
    workers: 1,
    compute: async (examples) => {
      const n = batchNormalizers(examples);
      const microBatches = splitMicroBatches(examples, microBatchSize);
      const parts = onDevice
        ? [await deviceStep(model, set, microBatches, settings, n)]
        : await microBatchParts(model, set, microBatches, settings, n);
      return combineParts(parts, n, settings, examples);
    },
    setVectors: async (values) => assignTrained(set, values),
    close: async () => undefined,
  };
}

/** The gradients job: a worker's share of a step's micro-batches, one part each (in order). */
export const gradientsJob: WorkerJob<
  { microBatches: TfewExample[][]; normalizers: LossNormalizers; settings: LossSettings },
  MicroBatchPart[]
> = {
  kind: "gradients",
  run: (state, r) => microBatchParts(state.model, workerVectors(state), r.microBatches, r.settings, r.normalizers),
};

/** The set-vectors job: the step's new vector values (flat names) into a worker's variables. */
export const setVectorsJob: WorkerJob<Map<string, Float32Array>, null> = {
  kind: "set-vectors",
  run: async (state, values) => {
    assignTrained(workerVectors(state), values);
    return null;
  },
};

/**
 * Training on the pool: a step's examples are split into micro-batches of exactly microBatchSize (never
 * resized for the worker count), dealt to the workers in contiguous shares, and their parts summed in order.
 */
export function createWorkerEngine(
  pool: WorkerPool,
  options: { microBatchSize: number; settings: LossSettings },
): GradientEngine {
  return {
    microBatchSize: options.microBatchSize,
    workers: pool.size,
    async compute(examples) {
      const normalizers = batchNormalizers(examples);
      const micro = splitMicroBatches(examples, options.microBatchSize);
      const replies = await pool.map(micro, gradientsJob, (share) => ({
        microBatches: share,
        normalizers,
        settings: options.settings,
      }));
      return combineParts(replies.flat(), normalizers, options.settings, examples);
    },
    setVectors: (values) => pool.broadcast(setVectorsJob, new Map(values)),
    close: () => pool.close(),
  };
}
