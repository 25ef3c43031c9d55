// Gradient utilities on plain Float32Arrays: global L2 norm and clipping by it (torch.nn.utils.clip_grad_norm_),
// the sum of squares accumulated in float64.
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
    throw new TfewError(
      `gradient clipping: max norm ${maxNorm} is not a finite number > 0; set max_grad_norm or disable clipping`,
    );
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
