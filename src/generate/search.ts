// Greedy search and sampling (transformers' _sample with do_sample false / true): one token per row and step from
// the processed scores; a row that produced </s> is finished (fed <pad> and left out) until every row is or
// max_new_tokens is reached. Each row's logprob is Σ log p of its tokens under the model itself (raw logits).
import { tf } from "../backend/tf.js";
import type { DecoderSession } from "../engine/decoder-session.js";
import { processScores, type ProcessorSettings } from "./processors.js";
import { candidateCount, drawIndex, nucleusProbabilities } from "./sampling.js";

export interface DecodeSettings extends ProcessorSettings {
  maxNewTokens: number;
  startId: number; // decoder_start_token_id
  padId: number;
}

export interface SampleSettings {
  temperature: number;
  topK: number; // 0 = off
  topP: number; // 1 = off
  rand: (() => number)[]; // one seeded uniform generator per row
}

/** One generated sequence: ids after the decoder start token (a final </s> included), Σ log p, search score. */
export interface Hypothesis {
  ids: number[];
  logprob: number;
  score: number; // greedy / sample: logprob; beam: Σ log p of the processed scores / length^length_penalty
}

/** Row offsets r · width [rows, 1] (int32), to index a flattened [rows, width] tensor. */
export function rowOffsets(rows: number, width: number): tf.Tensor2D {
  return tf.reshape(tf.mul(tf.range(0, rows, 1, "int32"), tf.scalar(width, "int32")), [rows, 1]) as tf.Tensor2D;
}

/** Greedy (sample = null) or sampled decoding of every row of the session; one Hypothesis per row. */
export async function pickSearch(
  session: DecoderSession,
  s: DecodeSettings,
  sample: SampleSettings | null,
): Promise<Hypothesis[]> {
  const rows = session.rows;
  const sequences = Array.from({ length: rows }, () => [s.startId]);
  const logprobs = new Float64Array(rows);
  const finished = new Uint8Array(rows);
  for (let step = 0; step < s.maxNewTokens && finished.some((f) => f === 0); step++) {
    const tokens = Int32Array.from(sequences, (seq, r) => (finished[r] ? s.padId : (seq.at(-1) as number)));
    const read = await session.step(tokens, (logits) => {
      const vocab = logits.shape[1];
      const logp = tf.reshape(tf.logSoftmax(logits), [-1]); // [rows·vocab]
      const scores = processScores(logits, sequences, s, step);
      if (sample === null) {
        const best = tf.argMax(scores, 1); // [rows]
        const flat = tf.add(tf.reshape(best, [rows, 1]), rowOffsets(rows, vocab)); // [rows, 1]
        return [best, tf.gather(logp, tf.reshape(flat, [-1]))];
      }
      const warped = sample.temperature === 1 ? scores : tf.div(scores, sample.temperature);
      const top = tf.topk(warped, candidateCount(sample.topK, vocab)); // [rows, k] descending
      const flat = tf.add(top.indices, rowOffsets(rows, vocab)); // [rows, k]
      return [top.values, top.indices, tf.reshape(tf.gather(logp, tf.reshape(flat, [-1])), [rows, -1])];
    });
    for (let r = 0; r < rows; r++) {
      if (finished[r]) continue;
      const [token, lp] = sample === null ? greedyPick(read, r) : samplePick(read, r, sample);
      (sequences[r] as number[]).push(token);
      logprobs[r] = (logprobs[r] as number) + lp;
      if (token === s.eosId) finished[r] = 1;
    }
  }
  return sequences.map((seq, r) => ({
    ids: seq.slice(1),
    logprob: logprobs[r] as number,
    score: logprobs[r] as number,
  }));
}

function greedyPick(read: Float32Array[], row: number): [number, number] {
  return [(read[0] as Float32Array)[row] as number, (read[1] as Float32Array)[row] as number];
}

function samplePick(read: Float32Array[], row: number, sample: SampleSettings): [number, number] {
  const [values, indices, logp] = read as [Float32Array, Float32Array, Float32Array];
  const k = values.length / (sample.rand.length || 1);
  const probs = nucleusProbabilities(values.subarray(row * k, (row + 1) * k), sample.topP);
  const j = drawIndex(probs, (sample.rand[row] as () => number)());
  return [indices[row * k + j] as number, logp[row * k + j] as number];
}
