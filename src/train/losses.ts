// T-Few's three training losses (Liu et al. 2022, §3.2; r-three/t-few src/models/EncoderDecoder.py
// training_step) as differentiable tf ops: LM cross-entropy, length-normalised rank loss, unlikelihood.
import { tf } from "../backend/tf.js";
import { TfewError } from "../errors.js";

export interface TfewLossInput {
  /** [batch, choices, choiceLen] per-token NLL of each choice's target tokens, 0 at padding */
  tokenNll: tf.Tensor3D;
  /** [batch, choices, choiceLen] 1 where the choice has a real token (incl. </s>), 0 at padding */
  targetMask: tf.Tensor3D;
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

/** t-few marks excluded unlikelihood positions with this log-likelihood. */
const MASKED_LOGLIKELY = -100;

/**
 * All three losses and their weighted total. Gradients flow to tokenNll only (targetMask and labels are
 * data). Degenerate inputs give 0 instead of t-few's NaN: no gold tokens -> lm = 0, no wrong-choice
 * tokens -> ul = 0, an all-padding choice -> its length counts as 1.
 */
export function tfewLosses(input: TfewLossInput): TfewLosses {
  const { tokenNll, targetMask, labels, lengthNorm, weights } = input;
  checkInput(input);
  const [batch, choices] = tokenNll.shape;
  return tf.tidy(() => {
    const mask = targetMask.toFloat(); // [batch, choices, len]
    const goldValues = new Float32Array(batch * choices);
    labels.forEach((label, row) => (goldValues[row * choices + label] = 1));
    const gold = tf.tensor2d(goldValues, [batch, choices]); // [batch, choices] one-hot of labels
    const gold3 = gold.expandDims(2); // [batch, choices, 1]
    const nll = tokenNll.mul(mask); // [batch, choices, len]

    // Rank classification scores: summed NLL / (number of real tokens)^lengthNorm.
    const lengths = mask.sum(2).maximum(1); // [batch, choices]
    const choiceScores = tf.div(nll.sum(2), lengthNorm === 0 ? 1 : lengths.pow(lengthNorm)) as tf.Tensor2D;

    // lm: F.cross_entropy over the gold choice's tokens (ignore_index at padding), mean over real tokens.
    const goldTokens = mask.mul(gold3); // [batch, choices, len]
    const lm = nll.mul(gold3).sum().div(goldTokens.sum().maximum(1)) as tf.Scalar;

    // ln (t-few mc_loss): cross_entropy(-choiceScores, labels), mean over the batch.
    const logProbs = tf.logSoftmax(choiceScores.neg()); // [batch, choices]
    const ln = logProbs.mul(gold).sum().neg().div(batch) as tf.Scalar;

    // ul: cl = -nll, set to -100 at padding and at the gold choice; sum -log(1 - exp(cl) + 1e-2) over ALL
    // elements (each masked one adds -log(1.01)) / number of unmasked elements. t-few's quirk, kept.
    const keep = mask.mul(tf.sub(1, gold3)); // [batch, choices, len]
    const cl = tf.where(keep.greater(0), tokenNll.neg(), tf.fill(tokenNll.shape, MASKED_LOGLIKELY));
    const numerator = tf.sub(1, cl.exp()).add(1e-2).log().neg().sum();
    const count = keep.sum();
    const ul = tf.where(count.greater(0), numerator.div(count.maximum(1)), tf.scalar(0)) as tf.Scalar;

    const total = lm.add(ul.mul(weights.ul)).add(ln.mul(weights.ln)) as tf.Scalar;
    return { total, lm, ul, ln, choiceScores };
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
    throw new TfewError(`tfewLosses: ${labels.length} labels for a batch of ${batch}; pass one gold choice per example`);
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
