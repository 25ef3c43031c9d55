// T-Few's three training losses (Liu et al. 2022, §3.2; r-three/t-few src/models/EncoderDecoder.py
// training_step) as differentiable tf ops: LM cross-entropy, length-normalised rank loss, unlikelihood.
import { tf } from "../backend/tf.js";
import { TfewError } from "../errors.js";

export interface TfewLossInput {
  /** [batch, choices, choiceLen] per-token NLL of each choice's target tokens, 0 at padding */
  tokenNll: tf.Tensor3D;
  /** [batch, choices, choiceLen] 1 where the choice has a real token (incl. </s>), 0 at padding */
  targetMask: tf.Tensor3D;
  /** [batch, choices] 1 = a real choice, 0 = padding of an example with fewer choices; absent = all real */
  choiceMask?: tf.Tensor2D;
  /** gold choice index per example (length batch) */
  labels: number[];
  /** choice score = summed NLL / length^lengthNorm (T-Few: 1; 0 = plain sums) */
  lengthNorm: number;
  /** total = lm + ul * unlikelihood + ln * rank loss (T-Few (IA)³ recipe: 1 and 1) */
  weights: { ul: number; ln: number };
}

export interface TfewLosses {
  total: tf.Scalar;
  /** mean NLL over the real tokens of the gold choices, all examples flattened together */
  lm: tf.Scalar;
  /** unlikelihood of the wrong choices' tokens, with t-few's normalisation quirk */
  ul: tf.Scalar;
  /** t-few's mc_loss: mean over the batch of cross_entropy(-choiceScores, labels) */
  ln: tf.Scalar;
  /** [batch, choices] summed NLL / length^lengthNorm; rank classification predicts the argmin */
  choiceScores: tf.Tensor2D;
}

/** The three losses as plain numbers. */
export interface LossValues {
  total: number;
  lm: number;
  ul: number;
  ln: number;
}

/**
 * What divides the loss sums of a whole optimizer batch. A micro-batch divides its sums by the WHOLE
 * batch's counts, so the micro-batch gradients add up to the full batch's gradient whatever the split.
 */
export interface LossNormalizers {
  lmTokens: number; // real tokens of the gold choices
  ulTokens: number; // real tokens of the wrong choices
  /** positions of the batch's padded [examples, choices, longest choice] outside ulTokens: t-few adds −log(1.01) for each */
  ulMasked: number;
  examples: number;
}

/** Differentiable sums over a (micro-)batch; divided by LossNormalizers they give the losses. */
export interface LossSums {
  lm: tf.Scalar; // Σ NLL over gold-choice tokens
  ul: tf.Scalar; // Σ −log(1 − p + 0.01) over wrong-choice tokens (the masked positions are added as a constant)
  ln: tf.Scalar; // Σ over examples of cross_entropy(−choiceScores, label)
  choiceScores: tf.Tensor2D; // [batch, choices]
  perExample: tf.Tensor2D; // [batch, 3]: each example's (lm, ul, ln) sums; lm, ul, ln are their column sums
}

/** t-few marks excluded unlikelihood positions with log-likelihood −100: each adds −log(1 − e^−100 + 0.01). */
const UL_MASKED_TERM = -Math.log(1.01);

/**
 * The score of a padded (absent) choice: far above any real one, so it is never the argmin and its softmax
 * weight in the rank loss is exactly 0 (finite, so 0 · score stays 0 where Infinity would give NaN).
 */
export const PADDED_CHOICE_SCORE = 1e9;

/**
 * Rank-classification scores [batch, choices]: Σ NLL / (real tokens)^lengthNorm (an all-padding choice counts
 * 1); with `choiceMask`, padded choices score PADDED_CHOICE_SCORE.
 */
export function choiceScores(
  tokenNll: tf.Tensor3D,
  targetMask: tf.Tensor3D,
  lengthNorm: number,
  choiceMask?: tf.Tensor2D,
): tf.Tensor2D {
  return tf.tidy(() => {
    const sums = tf.sum(tf.mul(tokenNll, targetMask), 2); // [batch, choices]
    const scores = (
      lengthNorm === 0 ? sums : tf.div(sums, tf.pow(tf.maximum(tf.sum(targetMask, 2), 1), lengthNorm))
    ) as tf.Tensor2D;
    if (choiceMask === undefined) return scores;
    return tf.where(choiceMask.greater(0), scores, tf.fill(scores.shape, PADDED_CHOICE_SCORE)) as tf.Tensor2D;
  });
}

export function lossSums(input: Omit<TfewLossInput, "weights">): LossSums {
  checkInput({ ...input, weights: { ul: 0, ln: 0 } });
  const { tokenNll, targetMask, choiceMask, labels, lengthNorm } = input;
  const [batch, choices] = tokenNll.shape;
  return tf.tidy(() => {
    const mask = targetMask.toFloat(); // [batch, choices, len]
    const goldValues = new Float32Array(batch * choices);
    labels.forEach((label, row) => (goldValues[row * choices + label] = 1));
    const gold = tf.tensor2d(goldValues, [batch, choices]); // [batch, choices] one-hot of labels
    const gold3 = gold.expandDims(2); // [batch, choices, 1]
    const nll = tokenNll.mul(mask); // [batch, choices, len]
    const scores = choiceScores(tokenNll, mask as tf.Tensor3D, lengthNorm, choiceMask); // padded: out of the softmax
    const lmEach = nll.mul(gold3).sum([1, 2]); // [batch]
    const lnEach = tf.logSoftmax(scores.neg()).mul(gold).sum(1).neg(); // [batch, choices] → [batch] CE
    const keep = mask.mul(tf.sub(1, gold3)); // [batch, choices, len] wrong-choice tokens
    const ulEach = tf
      .where(keep.greater(0), tf.sub(1, tokenNll.neg().exp()).add(1e-2).log().neg(), tf.zerosLike(tokenNll))
      .sum([1, 2]); // [batch]
    const perExample = tf.stack([lmEach, ulEach, lnEach], 1) as tf.Tensor2D; // [batch, 3]
    return {
      lm: lmEach.sum() as tf.Scalar,
      ul: ulEach.sum() as tf.Scalar,
      ln: lnEach.sum() as tf.Scalar,
      choiceScores: scores,
      perExample,
    };
  });
}

/**
 * The counts of a batch that is padded as `targetMask` is (used when one pass holds the whole batch); padded
 * choices (`choiceMask` 0) count nowhere, as in batchNormalizers.
 */
export function normalizersOf(
  targetMask: tf.Tensor3D,
  labels: readonly number[],
  choiceMask?: tf.Tensor2D,
): LossNormalizers {
  const [batch, choices, len] = targetMask.shape;
  const mask = targetMask.dataSync();
  const real = choiceMask?.dataSync();
  let lmTokens = 0;
  let ulTokens = 0;
  let realChoices = 0;
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < choices; c++) {
      if (real !== undefined && real[b * choices + c] === 0) continue;
      realChoices++;
      let n = 0;
      for (let t = 0; t < len; t++) n += mask[(b * choices + c) * len + t] as number;
      if (c === labels[b]) lmTokens += n;
      else ulTokens += n;
    }
  }
  return { lmTokens, ulTokens, ulMasked: realChoices * len - ulTokens, examples: batch };
}

/** This pass's share of the batch objective: Σ-terms over the whole batch's counts (the ul constant excluded). */
export function lossShare(sums: LossSums, n: LossNormalizers, weights: { ul: number; ln: number }): tf.Scalar {
  return tf.tidy(() => {
    let total = tf.div(sums.lm, Math.max(n.lmTokens, 1));
    if (n.ulTokens > 0) total = tf.add(total, tf.mul(sums.ul, weights.ul / n.ulTokens));
    return tf.add(total, tf.mul(sums.ln, weights.ln / n.examples)) as tf.Scalar;
  });
}

/**
 * The losses of a whole batch from its summed parts. Degenerate inputs give 0 instead of t-few's NaN: no gold
 * tokens → lm = 0, no wrong-choice tokens → ul = 0.
 */
export function lossValues(
  sums: { lm: number; ul: number; ln: number },
  n: LossNormalizers,
  weights: { ul: number; ln: number },
): LossValues {
  const lm = sums.lm / Math.max(n.lmTokens, 1);
  const ul = n.ulTokens > 0 ? (sums.ul + n.ulMasked * UL_MASKED_TERM) / n.ulTokens : 0;
  const ln = sums.ln / n.examples;
  return { total: lm + weights.ul * ul + weights.ln * ln, lm, ul, ln };
}

/**
 * All three losses of one whole batch and their weighted total, as differentiable tensors (gradients flow
 * to tokenNll only). The same sums and counts as micro-batched training, in one pass.
 */
export function tfewLosses(input: TfewLossInput): TfewLosses {
  checkInput(input);
  const n = normalizersOf(input.targetMask, input.labels, input.choiceMask);
  return tf.tidy(() => {
    const sums = lossSums(input);
    const lm = tf.div(sums.lm, Math.max(n.lmTokens, 1)) as tf.Scalar;
    const ul = (
      n.ulTokens > 0 ? tf.div(tf.add(sums.ul, n.ulMasked * UL_MASKED_TERM), n.ulTokens) : tf.scalar(0)
    ) as tf.Scalar;
    const ln = tf.div(sums.ln, n.examples) as tf.Scalar;
    const total = lm.add(ul.mul(input.weights.ul)).add(ln.mul(input.weights.ln)) as tf.Scalar;
    return { total, lm, ul, ln, choiceScores: sums.choiceScores };
  });
}

function checkInput(input: TfewLossInput): void {
  const { tokenNll, targetMask, labels, lengthNorm, weights } = input;
  const [batch, choices] = tokenNll.shape;
  if (tokenNll.shape.join() !== targetMask.shape.join()) {
    throw new TfewError(
      `tfewLosses: targetMask shape [${targetMask.shape.join(", ")}] differs from tokenNll [${tokenNll.shape.join(", ")}]; ` +
        `build both as [batch, choices, choiceLen]`,
    );
  }
  if (labels.length !== batch) {
    throw new TfewError(
      `tfewLosses: ${labels.length} labels for a batch of ${batch}; pass one gold choice per example`,
    );
  }
  labels.forEach((label, row) => {
    if (!Number.isInteger(label) || label < 0 || label >= choices) {
      throw new TfewError(
        `tfewLosses: label ${label} of example ${row} is not a choice index in [0, ${choices}); check the task's label mapping`,
      );
    }
  });
  for (const [what, value] of [
    ["lengthNorm", lengthNorm],
    ["weights.ul", weights.ul],
    ["weights.ln", weights.ln],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) {
      throw new TfewError(`tfewLosses: ${what} is ${value}; set it to a finite number >= 0`);
    }
  }
}
