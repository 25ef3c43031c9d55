// Sampling warpers of transformers' generate (TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper) on the
// host, over a row's top candidates in descending order, and the draw from tfew's seeded generator (engine/rng.ts):
// reproducible for a seed on every backend, but not torch.multinomial's stream.

/** Probabilities of candidates with logits `sorted` (descending) after top-p (nucleus) filtering; 0 = removed. */
export function nucleusProbabilities(sorted: ArrayLike<number>, topP: number): Float64Array {
  const n = sorted.length;
  const probs = softmax(sorted);
  if (topP >= 1) return probs;
  // transformers: sort ascending, remove tokens whose cumulative probability is <= 1 − top_p, keep the top one
  const removed = new Uint8Array(n);
  let cumulative = 0;
  for (let i = n - 1; i >= 0; i--) {
    cumulative += probs[i] as number;
    if (cumulative <= 1 - topP && i > 0) removed[i] = 1;
  }
  let kept = 0;
  for (let i = 0; i < n; i++) if (!removed[i]) kept += probs[i] as number;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = removed[i] ? 0 : (probs[i] as number) / kept;
  return out;
}

/** Softmax in float64 of finite or −∞ logits (−∞ → probability 0). */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] as number);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Number.isFinite(logits[i] as number) ? Math.exp((logits[i] as number) - max) : 0;
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / sum;
  return out;
}

/** Index drawn from `probs` (summing to 1) with one uniform number u in [0, 1). */
export function drawIndex(probs: ArrayLike<number>, u: number): number {
  let cumulative = 0;
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if ((probs[i] as number) <= 0) continue;
    cumulative += probs[i] as number;
    last = i;
    if (u < cumulative) return i;
  }
  return last; // rounding: u beyond the float sum
}

/**
 * How many top candidates a sampling step reads: top_k (0 = all `vocab`). Ties at the k-th logit are cut at k
 * (transformers keeps every tied token; only exact float ties differ).
 */
export function candidateCount(topK: number, vocab: number): number {
  return topK > 0 ? Math.min(topK, vocab) : vocab;
}

export interface WarpSettings {
  temperature: number;
  topK: number; // 0 = off
  topP: number; // 1 = off
}

/**
 * The sampling distribution over a whole logits row, as transformers builds it (host reference of the device path):
 * logits / temperature, top-k (every token tied with the k-th kept), then top-p over what is left.
 */
export function warpedProbabilities(logits: ArrayLike<number>, w: WarpSettings): Float64Array {
  const scaled = Array.from(logits, (x) => x / w.temperature);
  if (w.topK > 0 && w.topK < scaled.length) {
    const kth = [...scaled].sort((a, b) => b - a)[w.topK - 1] as number;
    for (let i = 0; i < scaled.length; i++) if ((scaled[i] as number) < kth) scaled[i] = -Infinity;
  }
  const order = scaled.map((_, i) => i).sort((a, b) => (scaled[b] as number) - (scaled[a] as number) || a - b);
  const sorted = nucleusProbabilities(
    order.map((i) => scaled[i] as number),
    w.topP,
  );
  const out = new Float64Array(scaled.length);
  order.forEach((i, rank) => (out[i] = sorted[rank] as number));
  return out;
}
