// Rank classification (T-Few `predict`): score every answer choice by its length-normalized NLL and pick
// the lowest. The encoder and the cross-attention K/V run once per example; choices go through the decoder
// in chunks that share them, so a 77-label task costs one encoder pass and bounded memory.
import { tf } from "../backend/tf.js";
import { toScales, type Ia3VectorSet } from "../adapters/ia3.js";
import { crossKeyValues, decode, encode, lmLogits, shiftRight, type T5Model } from "../model/t5.js";

export interface RankInput {
  inputIds: number[]; // prompt ending in </s>
  choices: number[][]; // every choice, each ending in </s>
}

export interface RankOptions {
  lengthNorm: number; // score = Σ NLL / length^lengthNorm
  choiceChunk: number; // choices per decoder pass
}

export interface RankResult {
  scores: Float32Array[]; // per example: [choices] normalized NLL (lower = better)
  nllSums: Float32Array[]; // per example: [choices] Σ NLL (−log-likelihood of the whole choice)
  predictions: number[];
}

/** Rows of logits per decoder pass: 1024 × a 32k vocabulary = 128 MB of float32. */
const MAX_LOGIT_ROWS = 1024;

/** −log p(target) per row without a gradient: logsumexp − the gathered target logit (no one-hot copy). */
export function scoringNll(logits: tf.Tensor2D, targets: Int32Array): tf.Tensor1D {
  const [rows, vocab] = logits.shape;
  const flatIndex = tf.tensor1d(Int32Array.from(targets, (t, row) => row * vocab + Math.max(t, 0)), "int32"); // [rows]
  const picked = tf.gather(tf.reshape(logits, [rows * vocab]), flatIndex); // [rows]
  const real = tf.tensor1d(Float32Array.from(targets, (t) => (t > 0 ? 1 : 0)));
  return tf.mul(tf.sub(tf.logSumExp(logits, -1), picked), real) as tf.Tensor1D;
}

/** Scores one batch of examples (all with the same choice list length). */
export function rankBatch(model: T5Model, adapter: Ia3VectorSet | null, batch: readonly RankInput[], options: RankOptions): RankResult {
  const size = batch.length;
  const numChoices = (batch[0] as RankInput).choices.length;
  const srcLen = Math.max(...batch.map((e) => e.inputIds.length));
  const ids = new Int32Array(size * srcLen);
  const mask = new Float32Array(size * srcLen);
  batch.forEach((e, b) => {
    ids.set(e.inputIds, b * srcLen);
    mask.fill(1, b * srcLen, b * srcLen + e.inputIds.length);
  });
  const nllSums = batch.map(() => new Float32Array(numChoices));
  tf.tidy(() => {
    const ia3 = adapter === null ? undefined : toScales(adapter);
    const attentionMask = tf.tensor2d(mask, [size, srcLen]);
    const encoded = encode(model, tf.tensor2d(ids, [size, srcLen], "int32"), attentionMask, ia3); // [batch, src, d]
    const crossKv = crossKeyValues(model, encoded, ia3); // once per example, shared by every chunk
    const maxTgtLen = Math.max(...batch.flatMap((e) => e.choices.map((c) => c.length)));
    // bound the logits of one decoder pass ([rows, vocab] floats) so many-label tasks fit the wasm heap
    const chunk = Math.max(1, Math.min(options.choiceChunk, Math.floor(MAX_LOGIT_ROWS / (size * maxTgtLen))));
    for (let first = 0; first < numChoices; first += chunk) {
      const count = Math.min(chunk, numChoices - first);
      const tgtLen = Math.max(...batch.flatMap((e) => e.choices.slice(first, first + count).map((c) => c.length)));
      const targets = new Int32Array(size * count * tgtLen);
      batch.forEach((e, b) => e.choices.slice(first, first + count).forEach((c, j) => targets.set(c, (b * count + j) * tgtLen)));
      tf.tidy(() => {
        const decoderInputIds = tf.tensor3d(shiftRight(targets, tgtLen, model.config.decoderStartTokenId), [size, count, tgtLen], "int32");
        const hidden = decode(model, { crossKv, encoderMask: attentionMask, decoderInputIds }, ia3); // [batch·count·tgt, d]
        const nll = scoringNll(lmLogits(model, hidden), targets); // [batch·count·tgt]
        const sums = tf.sum(tf.reshape(nll, [size * count, tgtLen]), -1).dataSync(); // [batch·count]
        for (let b = 0; b < size; b++) for (let j = 0; j < count; j++) (nllSums[b] as Float32Array)[first + j] = sums[b * count + j] as number;
      });
    }
  });
  const scores = nllSums.map((sums, b) =>
    sums.map((s, j) => s / Math.pow(((batch[b] as RankInput).choices[j] as number[]).length, options.lengthNorm)),
  );
  const predictions = scores.map((s) => s.reduce((best, v, j) => (v < (s[best] as number) ? j : best), 0));
  return { scores, nllSums, predictions };
}

/** Rank-classifies every example in batches of `batchSize`, reporting progress after each batch. */
export async function rankAll(
  model: T5Model,
  adapter: Ia3VectorSet | null,
  inputs: readonly RankInput[],
  options: RankOptions & { batchSize: number; onBatch?: (done: number) => void },
): Promise<RankResult> {
  const out: RankResult = { scores: [], nllSums: [], predictions: [] };
  for (let i = 0; i < inputs.length; i += options.batchSize) {
    const r = rankBatch(model, adapter, inputs.slice(i, i + options.batchSize), options);
    out.scores.push(...r.scores);
    out.nllSums.push(...r.nllSums);
    out.predictions.push(...r.predictions);
    options.onBatch?.(Math.min(i + options.batchSize, inputs.length));
    await new Promise((r) => setImmediate(r));
  }
  return out;
}
