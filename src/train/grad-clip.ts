// Gradient utilities on plain Float32Arrays: global L2 norm, clipping by it (torch.nn.utils.clip_grad_norm_),
// and averaging of micro-batch / worker gradients.
import { TfewError } from "../errors.js";

/** sqrt of the sum of squares of every gradient element, accumulated in float64. NaN/Infinity pass through. */
export function globalNorm(grads: Map<string, Float32Array>): number {
  let total = 0;
  for (const data of grads.values()) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as number;
      total += v * v;
    }
  }
  return Math.sqrt(total);
}

/**
 * Scales every gradient in place by maxNorm / (norm + 1e-6) when that is below 1 (torch clip_grad_norm_).
 * Returns the norm before clipping and the scale used (1 when not clipped). A non-finite norm leaves the
 * gradients untouched and is returned as is (scale 1): the training loop decides whether to skip the step.
 */
export function clipByGlobalNorm(grads: Map<string, Float32Array>, maxNorm: number): { norm: number; scale: number } {
  if (!Number.isFinite(maxNorm) || maxNorm <= 0) {
    throw new TfewError(`gradient clipping: max norm ${maxNorm} is not a finite number > 0; set max_grad_norm or disable clipping`);
  }
  const norm = globalNorm(grads);
  if (!Number.isFinite(norm)) return { norm, scale: 1 };
  const scale = maxNorm / (norm + 1e-6);
  if (scale >= 1) return { norm, scale: 1 };
  for (const data of grads.values()) {
    for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) * scale;
  }
  return { norm, scale };
}

/**
 * Weighted mean of gradient maps with identical names and lengths: sum_i w_i g_i / sum_i w_i, accumulated in
 * float64. Weights are example counts when each gradient is a mean over its micro-batch; default all 1.
 */
export function averageGrads(list: Map<string, Float32Array>[], weights?: number[]): Map<string, Float32Array> {
  const first = list[0];
  if (first === undefined) throw new TfewError("averageGrads: no gradients given; pass at least one gradient map");
  const w = weights ?? list.map(() => 1);
  if (w.length !== list.length) {
    throw new TfewError(`averageGrads: ${w.length} weights for ${list.length} gradient maps; pass one weight per map`);
  }
  if (w.some((x) => !Number.isFinite(x) || x < 0)) {
    throw new TfewError(`averageGrads: weights [${w.join(", ")}] must be finite and >= 0 (example counts)`);
  }
  const totalWeight = w.reduce((a, b) => a + b, 0);
  if (totalWeight <= 0) throw new TfewError("averageGrads: the weights sum to 0; pass example counts of non-empty batches");
  const out = new Map<string, Float32Array>();
  for (const [name, data] of first) {
    const acc = new Float64Array(data.length);
    list.forEach((grads, k) => {
      const other = grads.get(name);
      if (other === undefined || other.length !== data.length) {
        throw new TfewError(
          `averageGrads: gradient map ${k} ${other === undefined ? "lacks" : `has ${other.length} elements for`} ${name}` +
            `${other === undefined ? "" : `, expected ${data.length}`}; every map must hold the same parameters`,
        );
      }
      const weight = (w[k] as number) / totalWeight;
      for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] as number) + weight * (other[i] as number);
    });
    out.set(name, Float32Array.from(acc));
  }
  list.forEach((grads, k) => {
    if (grads.size !== first.size) {
      const extra = [...grads.keys()].find((name) => !first.has(name));
      throw new TfewError(`averageGrads: gradient map ${k} has extra parameter ${extra ?? "?"}; every map must hold the same parameters`);
    }
  });
  return out;
}
