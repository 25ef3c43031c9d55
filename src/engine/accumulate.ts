// Gradient engines turn a batch of T-Few examples into the loss and (IA)³ gradient of one optimizer step.
// Each micro-batch's share is already divided by the whole batch's counts, so the step's gradient is the
// plain SUM of the shares, taken in float64 in micro-batch order: a given micro_batch_size gives the same
// bytes on 1 or N workers, and any micro_batch_size gives the full-batch gradient up to float rounding.
import { assignTrained, type TrainedVectors } from "../adapters/trainable.js";
import type { T5Model } from "../model/t5.js";
import { batchNormalizers, makeBatch, splitMicroBatches, type TfewExample } from "./batch.js";
import { computeGradients, type LossSettings } from "./gradients.js";
import { lossValues, type LossNormalizers, type LossValues } from "./losses.js";
import { addByTask, taskLosses, type Sums } from "./task-losses.js";

export interface StepGradients {
  losses: LossValues; // of the whole batch
  grads: Map<string, Float32Array>; // d total / d vector of the whole batch, by module path
  examples: number;
  tokens: number; // real (non-pad) encoder + decoder tokens processed
  tasks?: Map<number, { losses: LossValues; examples: number }>; // several sets: each task's losses over its examples
}

/** One micro-batch's contribution (what a worker sends back), kept in micro-batch order. */
export interface MicroBatchPart {
  sums: { lm: number; ul: number; ln: number };
  grads: Map<string, Float32Array>;
  examples: number;
  tokens: number;
  taskSums?: [number, Sums][]; // several sets: each task's loss sums (a list: crosses worker threads)
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
export function combineParts(parts: readonly MicroBatchPart[], n: LossNormalizers, settings: LossSettings, examples?: readonly TfewExample[]): StepGradients {
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
  };
}

export function countTokens(examples: readonly TfewExample[]): number {
  return examples.reduce((n, e) => n + e.inputIds.length + e.choices.reduce((m, c) => m + c.length, 0), 0);
}

/** The parts of a list of micro-batches in this thread (the local engine and each worker). */
export function microBatchParts(model: T5Model, set: TrainedVectors, microBatches: readonly TfewExample[][], settings: LossSettings, n: LossNormalizers): MicroBatchPart[] {
  return microBatches.map((examples) => {
    const batch = makeBatch(examples, { padId: model.config.padTokenId, decoderStartId: model.config.decoderStartTokenId });
    const r = computeGradients(model, set, batch, settings, n);
    return { sums: r.sums, grads: r.grads, examples: examples.length, tokens: countTokens(examples), ...(r.taskSums ? { taskSums: [...r.taskSums] } : {}) };
  });
}

/** Gradients in this thread; several sets = per-example task routing (examples carry their task index). */
export function createLocalEngine(model: T5Model, set: TrainedVectors, settings: LossSettings, microBatchSize: number): GradientEngine {
  return {
    microBatchSize,
    workers: 1,
    compute: async (examples) => {
      const n = batchNormalizers(examples);
      return combineParts(microBatchParts(model, set, splitMicroBatches(examples, microBatchSize), settings, n), n, settings, examples);
    },
    setVectors: async (values) => assignTrained(set, values),
    close: async () => undefined,
  };
}
