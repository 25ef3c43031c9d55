// Gradient engines: turn a batch of T-Few examples into the averaged (IA)³ gradient of one optimizer
// step. The local engine accumulates micro-batches in this thread; the worker engine (workers.ts) splits
// the micro-batches across worker_threads. Both weight micro-batch results by their example counts.
import { assignVectors, type Ia3VectorSet } from "../adapters/ia3.js";
import type { T5Model } from "../model/t5.js";
import { makeBatch, splitMicroBatches, type TfewExample } from "./batch.js";
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

/** Accumulates weighted micro-batch results (gradients and losses). */
export class GradientAccumulator {
  private readonly grads = new Map<string, Float32Array>();
  private readonly losses: LossValues = { total: 0, lm: 0, ul: 0, ln: 0 };
  examples = 0;
  tokens = 0;

  add(part: { losses: LossValues; grads: ReadonlyMap<string, Float32Array>; examples: number; tokens: number }): void {
    for (const [path, g] of part.grads) {
      let acc = this.grads.get(path);
      if (acc === undefined) this.grads.set(path, (acc = new Float32Array(g.length)));
      for (let i = 0; i < g.length; i++) acc[i] = (acc[i] as number) + (g[i] as number) * part.examples;
    }
    for (const key of ["total", "lm", "ul", "ln"] as const) this.losses[key] += part.losses[key] * part.examples;
    this.examples += part.examples;
    this.tokens += part.tokens;
  }

  result(): StepGradients {
    const n = this.examples;
    for (const g of this.grads.values()) for (let i = 0; i < g.length; i++) g[i] = (g[i] as number) / n;
    const losses = { total: this.losses.total / n, lm: this.losses.lm / n, ul: this.losses.ul / n, ln: this.losses.ln / n };
    return { losses, grads: this.grads, examples: n, tokens: this.tokens };
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
