// p(choice | x) from rank-classification scores, the one definition that audit, Fisher, eval and predict share.

/** softmax(−s) in float64 (s: choice scores, the length-normalized NLL; lower is better). */
export function softmaxOfNegated(scores: ArrayLike<number>): number[] {
  const s = Array.from(scores);
  const best = Math.min(...s);
  const e = s.map((v) => Math.exp(best - v));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}
