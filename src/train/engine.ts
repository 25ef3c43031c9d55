// Gradient engines: turn a batch of T-Few examples into the averaged (IA)³ gradient of one optimizer
// step. The local engine accumulates micro-batches in this thread; the worker engine (workers.ts) splits
// the micro-batches across worker_threads. Both weight micro-batch results by their example counts.
import { assignVectors, type Ia3VectorSet } from "../adapters/ia3.js";
import type { T5Model } from "../model/t5.js";
import { makeBatch, splitMicroBatches, type TfewExample } from "./batch.js";
import { averageGrads } from "./grad-clip.js";
import { computeGradients, type LossSettings, type LossValues } from "./step.js";

export interface StepGradients {
  losses: LossValues; // example-weighted mean over micro-batches
  grads: Map<string, Float32Array>; // example-weighted mean, by module path
  examples: number;
  tokens: number; // real (non-pad) encoder + decoder tokens processed
}

export interface GradientEngine {
  readonly microBatchSize: number;
  readonly workers: number;
  compute(examples: TfewExample[]): Promise<StepGradients>;
  setVectors(values: ReadonlyMap<string, Float32Array>): Promise<void>;
  close(): Promise<void>;
}

/** Accumulates weighted micro-batch results (gradients and losses); the gradient average is averageGrads'. */
export class GradientAccumulator {
  private readonly grads: ReadonlyMap<string, Float32Array>[] = [];
  private readonly weights: number[] = [];
  private readonly losses: LossValues = { total: 0, lm: 0, ul: 0, ln: 0 };
  examples = 0;
  tokens = 0;

  add(part: { losses: LossValues; grads: ReadonlyMap<string, Float32Array>; examples: number; tokens: number }): void {
    this.grads.push(part.grads);
    this.weights.push(part.examples);
    for (const key of ["total", "lm", "ul", "ln"] as const) this.losses[key] += part.losses[key] * part.examples;
    this.examples += part.examples;
    this.tokens += part.tokens;
  }

  result(): StepGradients {
    const n = this.examples;
    const losses = { total: this.losses.total / n, lm: this.losses.lm / n, ul: this.losses.ul / n, ln: this.losses.ln / n };
    return { losses, grads: averageGrads(this.grads as Map<string, Float32Array>[], this.weights), examples: n, tokens: this.tokens };
  }
}

export function countTokens(examples: readonly TfewExample[]): number {
  return examples.reduce((n, e) => n + e.inputIds.length + e.choices.reduce((m, c) => m + c.length, 0), 0);
}

/** Gradients of a list of micro-batches in this thread (used by the local engine and by each worker). */
export function accumulateMicroBatches(
  model: T5Model,
  set: Ia3VectorSet,
  microBatches: readonly TfewExample[][],
  settings: LossSettings,
): StepGradients {
  const acc = new GradientAccumulator();
  for (const examples of microBatches) {
    const batch = makeBatch(examples, { padId: model.config.padTokenId, decoderStartId: model.config.decoderStartTokenId });
    const r = computeGradients(model, set, batch, settings);
    acc.add({ losses: r.losses, grads: r.grads, examples: examples.length, tokens: countTokens(examples) });
  }
  return acc.result();
}

export function createLocalEngine(model: T5Model, set: Ia3VectorSet, settings: LossSettings, microBatchSize: number): GradientEngine {
  return {
    microBatchSize,
    workers: 1,
    compute: async (examples) => accumulateMicroBatches(model, set, splitMicroBatches(examples, microBatchSize), settings),
    setVectors: async (values) => assignVectors(set, values),
    close: async () => undefined,
  };
}
