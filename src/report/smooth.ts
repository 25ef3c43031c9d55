// Curve smoothing as TensorBoard's scalar dashboard does it: a debiased exponential moving average
// (smoothed_i = ema_i / (1 − w^n), the Adam-style bias correction), non-finite values passed through untouched.

/** TensorBoard's default smoothing weight. */
export const DEFAULT_SMOOTHING = 0.6;

/** Debiased EMA of `values` with weight `w` in [0, 1); a constant series is returned as it is. */
export function emaSmooth(values: readonly (number | null)[], w = DEFAULT_SMOOTHING): (number | null)[] {
  const first = values.find((v) => v !== null && Number.isFinite(v));
  if (values.every((v) => v === first || v === null || !Number.isFinite(v))) return [...values];
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return v;
    last = last * w + (1 - w) * v;
    n++;
    return last / (1 - w ** n);
  });
}

/** Mean and population standard deviation of the values at each index (nulls left out); null where none. */
export function meanStd(series: readonly (readonly (number | null)[])[]): {
  mean: (number | null)[];
  std: (number | null)[];
} {
  const length = Math.max(0, ...series.map((s) => s.length));
  const mean: (number | null)[] = [];
  const std: (number | null)[] = [];
  for (let i = 0; i < length; i++) {
    const vs = series.map((s) => s[i]).filter((v): v is number => v !== null && v !== undefined && Number.isFinite(v));
    if (vs.length === 0) {
      mean.push(null);
      std.push(null);
      continue;
    }
    const m = vs.reduce((a, b) => a + b, 0) / vs.length;
    mean.push(m);
    std.push(Math.sqrt(vs.reduce((a, v) => a + (v - m) ** 2, 0) / vs.length));
  }
  return { mean, std };
}
