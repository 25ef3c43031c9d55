// Logits processors of transformers' generate (generation/logits_process.py): repetition penalty, no-repeat
// n-grams and min_new_tokens, applied to a step's scores [rows, vocab] from each row's sequence so far (decoder
// start token included, as transformers' input_ids). Which entries change is found on the host; the scores are
// edited on the device with one gather and scatter (backend-independent ops).
import { tf } from "../backend/tf.js";

export interface ProcessorSettings {
  repetitionPenalty: number; // 1 = off; logit > 0 → logit / p, else logit · p, for every token already present
  noRepeatNgramSize: number; // 0 = off; a token that would repeat an n-gram of the sequence gets −∞
  minNewTokens: number; // 0 = off; </s> gets −∞ until this many tokens were generated
  eosId: number;
}

/** Whether any processor would change a step's scores (skips the device work when none does). */
export function processorsActive(s: ProcessorSettings): boolean {
  return s.repetitionPenalty !== 1 || s.noRepeatNgramSize > 0 || s.minNewTokens > 0;
}

/**
 * Tokens NoRepeatNGramLogitsProcessor bans after `sequence`: every token that followed an earlier occurrence of the
 * sequence's last n−1 tokens (nothing while the sequence is shorter than n − 1 tokens).
 */
export function bannedNgramTokens(sequence: readonly number[], n: number): number[] {
  if (n <= 0 || sequence.length + 1 < n) return [];
  const prefix = sequence.slice(sequence.length - n + 1);
  const banned = new Set<number>();
  for (let i = 0; i + n <= sequence.length; i++) {
    let same = true;
    for (let j = 0; j < n - 1 && same; j++) same = sequence[i + j] === prefix[j];
    if (same) banned.add(sequence[i + n - 1] as number);
  }
  return [...banned];
}

/** [row, token] pairs, flattened, of each row's distinct tokens (the repetition penalty's entries). */
function presentTokens(sequences: readonly (readonly number[])[]): number[] {
  const out: number[] = [];
  sequences.forEach((seq, row) => {
    for (const token of new Set(seq)) out.push(row, token);
  });
  return out;
}

/** [row, token] pairs, flattened, that are set to −∞: banned n-gram continuations and an early </s>. */
function blockedTokens(sequences: readonly (readonly number[])[], s: ProcessorSettings, generated: number): number[] {
  const out: number[] = [];
  sequences.forEach((seq, row) => {
    const blocked = new Set(bannedNgramTokens(seq, s.noRepeatNgramSize));
    if (generated < s.minNewTokens) blocked.add(s.eosId);
    for (const token of blocked) out.push(row, token);
  });
  return out;
}

/**
 * The processed scores: repetition penalty, then no-repeat n-grams, then min_new_tokens (transformers' order).
 * `generated` is how many tokens each row has generated (all rows of one step alike).
 */
export function processScores(
  scores: tf.Tensor2D,
  sequences: readonly (readonly number[])[],
  s: ProcessorSettings,
  generated: number,
): tf.Tensor2D {
  if (!processorsActive(s)) return scores;
  let out = scores;
  const shape = scores.shape;
  if (s.repetitionPenalty !== 1) {
    const pairs = presentTokens(sequences);
    const index = tf.tensor2d(pairs, [pairs.length / 2, 2], "int32"); // [entries, 2]
    const values = tf.gatherND(out, index) as tf.Tensor1D; // [entries]
    const penalized = tf.where(
      tf.less(values, 0),
      tf.mul(values, s.repetitionPenalty),
      tf.div(values, s.repetitionPenalty),
    );
    out = tf.add(out, tf.scatterND(index, tf.sub(penalized, values), shape)) as tf.Tensor2D;
  }
  const blocked = blockedTokens(sequences, s, generated);
  if (blocked.length > 0) {
    const index = tf.tensor2d(blocked, [blocked.length / 2, 2], "int32"); // [entries, 2]
    // a 0/1 mask (scatter sums duplicates; none here) turned into −∞ where set
    const mask = tf.scatterND(index, tf.ones([blocked.length / 2]), shape);
    out = tf.where(tf.greater(mask, 0), tf.fill(shape, -Infinity), out) as tf.Tensor2D;
  }
  return out;
}
