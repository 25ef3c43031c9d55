// Per-task losses of a multi-task batch (reported, never trained on: the objective stays the whole batch's):
// each example's loss sums from the same per-token NLL as losses.ts, grouped by task, each task divided by
// its own examples' counts.
import { tf } from "../backend/tf.js";
import { batchNormalizers, type TfewExample } from "./batch.js";
import { lossValues, type LossValues } from "./losses.js";

export interface Sums {
  lm: number;
  ul: number;
  ln: number;
}

/** Loss sums of each example [batch, 3] = (lm, ul, ln) as losses.ts lossSums defines them, before normalizing. */
export function exampleSumsTensor(tokenNll: tf.Tensor3D, targetMask: tf.Tensor3D, labels: readonly number[], lengthNorm: number): tf.Tensor2D {
  const choices = tokenNll.shape[1];
  return tf.tidy(() => {
    const gold = tf.oneHot(tf.tensor1d(labels as number[], "int32"), choices).toFloat(); // [batch, choices]
    const gold3 = tf.expandDims(gold, 2); // [batch, choices, 1]
    const nll = tf.mul(tokenNll, targetMask); // [batch, choices, len]
    const lengths = tf.maximum(tf.sum(targetMask, 2), 1); // [batch, choices]
    const sums = tf.sum(nll, 2); // [batch, choices]
    const scores = lengthNorm === 0 ? sums : tf.div(sums, tf.pow(lengths, lengthNorm)); // [batch, choices]
    const lm = tf.sum(tf.mul(nll, gold3), [1, 2]); // [batch]
    const ln = tf.neg(tf.sum(tf.mul(tf.logSoftmax(tf.neg(scores)), gold), 1)); // [batch]
    const keep = tf.mul(targetMask, tf.sub(1, gold3)); // [batch, choices, len] wrong-choice tokens
    const ulTerms = tf.where(tf.greater(keep, 0), tf.neg(tf.log(tf.add(tf.sub(1, tf.exp(tf.neg(tokenNll))), 1e-2))), tf.zerosLike(tokenNll));
    const ul = tf.sum(ulTerms, [1, 2]); // [batch]
    return tf.stack([lm, ul, ln], 1) as tf.Tensor2D; // [batch, 3]
  });
}

/** Adds each example's sums into its task's entry. */
export function addByTask(into: Map<number, Sums>, sums: readonly Sums[], tasks: readonly number[]): void {
  sums.forEach((s, b) => {
    const task = tasks[b] ?? 0;
    const acc = into.get(task) ?? { lm: 0, ul: 0, ln: 0 };
    into.set(task, { lm: acc.lm + s.lm, ul: acc.ul + s.ul, ln: acc.ln + s.ln });
  });
}

/** Each task's losses over its own examples of the batch (keyed by task index). */
export function taskLosses(examples: readonly TfewExample[], sums: ReadonlyMap<number, Sums>, weights: { ul: number; ln: number }): Map<number, { losses: LossValues; examples: number }> {
  const out = new Map<number, { losses: LossValues; examples: number }>();
  for (const [task, s] of [...sums].sort((a, b) => a[0] - b[0])) {
    const mine = examples.filter((e) => (e.task ?? 0) === task);
    out.set(task, { losses: lossValues(s, batchNormalizers(mine), weights), examples: mine.length });
  }
  return out;
}
