// Rank classification (T-Few `predict`): score every answer choice by its length-normalized NLL and pick
// the lowest. The shared pipeline runs the encoder and the cross-attention K/V once per example; choices go
// through the decoder in chunks that share them, each chunk's logits bounded (see memory.ts).
import { readPacked } from "../backend/reads.js";
import { tf } from "../backend/tf.js";
import { adapterInput, type AdapterVectors } from "../adapters/trainable.js";
import type { T5Model } from "../model/t5.js";
import { padChoices, padInputs } from "./batch.js";
import { choiceScores } from "./losses.js";
import { choiceChunkSize } from "./memory.js";
import { choiceNll, encodeInputs } from "./pipeline.js";
import type { WorkerJob, WorkerPool } from "./pool.js";

export interface RankInput {
  inputIds: number[]; // prompt ending in </s>
  choices: number[][]; // every choice, each ending in </s>
}

export interface RankOptions {
  lengthNorm: number; // score = Σ NLL / length^lengthNorm
  choiceChunk: number; // at most this many choices per decoder pass
}

export interface RankResult {
  scores: Float32Array[]; // per example: [choices] normalized NLL (lower = better)
  nllSums: Float32Array[]; // per example: [choices] Σ NLL (−log-likelihood of the whole choice)
  predictions: number[];
}

/**
 * Scores one batch of examples (choice counts may differ: each gets its own). Every chunk's Σ NLL and normalized
 * scores stay on the device until the batch is done: one device read per batch.
 */
export async function rankBatch(
  model: T5Model,
  adapter: AdapterVectors | null,
  batch: readonly RankInput[],
  options: RankOptions,
): Promise<RankResult> {
  const size = batch.length;
  const numChoices = Math.max(...batch.map((e) => e.choices.length)); // fewer: padded, and never read back
  const ids = { padId: model.config.padTokenId, decoderStartId: model.config.decoderStartTokenId };
  const perChunk = tf.tidy(() => {
    const ia3 = adapter === null ? undefined : adapterInput(adapter);
    const inputs = padInputs(
      batch.map((e) => e.inputIds),
      ids.padId,
    );
    const encoded = encodeInputs(model, { ...inputs, size }, ia3); // once per example, shared by every chunk
    const maxTgtLen = Math.max(...batch.flatMap((e) => e.choices.map((c) => c.length)));
    const chunk = choiceChunkSize({
      examples: size,
      tgtLen: maxTgtLen,
      srcLen: inputs.srcLen,
      config: model.config,
      choiceChunk: options.choiceChunk,
    });
    const out: tf.Tensor[] = [];
    for (let first = 0; first < numChoices; first += chunk) {
      const count = Math.min(chunk, numChoices - first);
      const group = {
        count,
        ...padChoices(
          batch.map((e) => e.choices.slice(first, first + count)),
          ids,
          count,
        ),
      };
      out.push(
        tf.tidy(() => {
          const nll = choiceNll(model, encoded, group, ia3); // [size, count, tgt]
          const mask = tf.tensor3d(group.targetMask, [size, count, group.tgtLen]);
          return tf.stack([tf.sum(nll, 2), choiceScores(nll, mask, options.lengthNorm)]); // [2, size, count]
        }),
      );
    }
    return out;
  });
  const values = await readPacked(perChunk).finally(() => tf.dispose(perChunk));
  const scores = batch.map((e) => new Float32Array(e.choices.length));
  const nllSums = batch.map((e) => new Float32Array(e.choices.length));
  let first = 0;
  for (const data of values) {
    const count = data.length / (2 * size); // [2, size, count]
    for (let b = 0; b < size; b++) {
      const own = Math.min(count, (batch[b] as RankInput).choices.length - first); // its real choices here
      for (let j = 0; j < own; j++) {
        (nllSums[b] as Float32Array)[first + j] = data[b * count + j] as number;
        (scores[b] as Float32Array)[first + j] = data[(size + b) * count + j] as number;
      }
    }
    first += count;
  }
  const predictions = scores.map((s) => s.reduce((best, v, j) => (v < (s[best] as number) ? j : best), 0));
  return { scores, nllSums, predictions };
}

/** Rank-classifies every example in batches of `batchSize`, reporting progress after each batch. */
export async function rankAll(
  model: T5Model,
  adapter: AdapterVectors | null,
  inputs: readonly RankInput[],
  options: RankOptions & { batchSize: number; onBatch?: (done: number) => void },
): Promise<RankResult> {
  const out: RankResult = { scores: [], nllSums: [], predictions: [] };
  for (let i = 0; i < inputs.length; i += options.batchSize) {
    const r = await rankBatch(model, adapter, inputs.slice(i, i + options.batchSize), options);
    out.scores.push(...r.scores);
    out.nllSums.push(...r.nllSums);
    out.predictions.push(...r.predictions);
    options.onBatch?.(Math.min(i + options.batchSize, inputs.length));
    await new Promise((r) => setImmediate(r));
  }
  return out;
}

/** The rank job: a worker's shard of the examples, scored with its vectors (a plain set, or none: zero-shot). */
export const rankJob: WorkerJob<{ inputs: RankInput[]; options: RankOptions & { batchSize: number } }, RankResult> = {
  kind: "rank",
  run: (state, r) => {
    if (state.vectors?.kind === "tasks") throw new Error("rank job: the worker holds task sets; rank with one set");
    return rankAll(state.model, state.vectors, r.inputs, r.options);
  },
};

/** Rank classification split across the pool: contiguous shards of the examples, results in input order. */
export async function rankWithPool(
  pool: WorkerPool,
  inputs: readonly RankInput[],
  options: RankOptions & { batchSize: number; onProgress?: (done: number) => void },
): Promise<RankResult> {
  const { onProgress, ...plain } = options;
  const parts = await pool.map(inputs, rankJob, (share) => ({ inputs: share, options: plain }), onProgress);
  return {
    scores: parts.flatMap((p) => p.scores),
    nllSums: parts.flatMap((p) => p.nllSums),
    predictions: parts.flatMap((p) => p.predictions),
  };
}
