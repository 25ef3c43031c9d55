// Confident learning (Northcutt, Jiang & Chuang 2021, "Confident Learning: Estimating Uncertainty in Dataset
// Labels", §2-3) on out-of-fold probabilities: per-class thresholds, the confident joint C[given][true], its
// calibration to the label counts (eq. 3), the noise matrix, and the label issues of the C_{ỹ,y*} method.

/** Probabilities from rank-classification scores (lower = better): p = softmax(−score). */
export { softmaxOfNegated } from "../engine/choice-probabilities.js";

/** Slack on the threshold comparison, as cleanlab: an example exactly at its class mean must count despite rounding. */
const EPSILON = 1e-6;

/** t_j = mean of p_j over the examples labelled j; Infinity for a class with no labelled example (never confident). */
export function perClassThresholds(probs: readonly number[][], labels: readonly number[], classes: number): number[] {
  return Array.from({ length: classes }, (_, j) => {
    const own = labels.flatMap((s, i) => (s === j ? [(probs[i] as number[])[j] as number] : []));
    return own.length === 0 ? Infinity : own.reduce((a, b) => a + b, 0) / own.length;
  });
}

/**
 * The confident guess of each example: the class with the largest p among those with p_j >= t_j, or null when no
 * class reaches its threshold (the example is not counted). Ties go to the lower class index.
 */
export function confidentGuesses(probs: readonly number[][], thresholds: readonly number[]): (number | null)[] {
  return probs.map((p) => {
    let best: number | null = null;
    p.forEach((v, j) => {
      if (v >= (thresholds[j] as number) - EPSILON && (best === null || v > (p[best] as number))) best = j;
    });
    return best;
  });
}

/** C[i][j] = number of examples labelled i whose confident guess is j. */
export function confidentJoint(
  labels: readonly number[],
  guesses: readonly (number | null)[],
  classes: number,
): number[][] {
  const c = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  guesses.forEach((g, i) => {
    const row = c[labels[i] as number] as number[];
    if (g !== null) row[g] = (row[g] as number) + 1;
  });
  return c;
}

/**
 * Q[i][j] ≈ p(given = i, true = j): each row of C rescaled to sum to the number of examples labelled i, then the
 * whole divided by n (eq. 3). A row with no counted example (only a class with no labels) stays zero.
 */
export function calibratedJoint(confident: readonly number[][], labelCounts: readonly number[]): number[][] {
  const n = labelCounts.reduce((a, b) => a + b, 0);
  return confident.map((row, i) => {
    const sum = row.reduce((a, b) => a + b, 0);
    return row.map((v) => (sum === 0 ? 0 : ((v / sum) * (labelCounts[i] as number)) / n));
  });
}

/**
 * The noise matrix p(given = i | true = j): each column of Q normalized to sum to 1. A column with no mass (a class
 * never the confident guess) is taken as noise-free: the unit column e_j.
 */
export function noiseMatrix(joint: readonly number[][]): number[][] {
  const k = joint.length;
  const columnSums = Array.from({ length: k }, (_, j) => joint.reduce((a, row) => a + (row[j] as number), 0));
  return joint.map((row, i) =>
    row.map((v, j) => (columnSums[j] === 0 ? (i === j ? 1 : 0) : v / (columnSums[j] as number))),
  );
}

export interface ConfidentLearningResult {
  thresholds: number[];
  labelCounts: number[];
  /** Per example: the confident guess (null = below every threshold). */
  guesses: (number | null)[];
  confidentJoint: number[][];
  joint: number[][];
  noiseMatrix: number[][];
  /** Per example: p(given label). */
  selfConfidence: number[];
  /** Per example: the confident guess, else the most probable class. */
  suggested: number[];
  /** Per example: counted off the diagonal of the confident joint (the C_{ỹ,y*} rule). */
  isIssue: boolean[];
  /** Example indices, lowest self-confidence first (ties: input order). */
  ranking: number[];
  /** Per given class: how many of its examples are issues. */
  issuesPerClass: number[];
  /** 1 − trace(Q): the estimated share of wrong labels. */
  noiseRate: number;
}

/** The whole analysis for n examples with probabilities probs[n][k] and given labels in 0..k−1. */
export function confidentLearning(
  probs: readonly number[][],
  labels: readonly number[],
  classes: number,
): ConfidentLearningResult {
  const labelCounts = Array.from({ length: classes }, (_, j) => labels.filter((s) => s === j).length);
  const thresholds = perClassThresholds(probs, labels, classes);
  const guesses = confidentGuesses(probs, thresholds);
  const confident = confidentJoint(labels, guesses, classes);
  const joint = calibratedJoint(confident, labelCounts);
  const selfConfidence = labels.map((s, i) => (probs[i] as number[])[s] as number);
  const argmax = (p: readonly number[]) => p.reduce((best, v, j) => (v > (p[best] as number) ? j : best), 0);
  const suggested = guesses.map((g, i) => g ?? argmax(probs[i] as number[]));
  const isIssue = guesses.map((g, i) => g !== null && g !== labels[i]);
  const ranking = labels
    .map((_, i) => i)
    .sort((a, b) => (selfConfidence[a] as number) - (selfConfidence[b] as number) || a - b);
  const issuesPerClass = labelCounts.map((_, j) => labels.filter((s, i) => s === j && isIssue[i]).length);
  const noiseRate = 1 - joint.reduce((a, row, i) => a + (row[i] as number), 0);
  return {
    thresholds,
    labelCounts,
    guesses,
    confidentJoint: confident,
    joint,
    noiseMatrix: noiseMatrix(joint),
    selfConfidence,
    suggested,
    isIssue,
    ranking,
    issuesPerClass,
    noiseRate,
  };
}
