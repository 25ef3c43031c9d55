// Adafactor as Hugging Face transformers implements it (transformers/optimization.py `Adafactor`, v4.30.2),
// with T-Few's settings: scale_parameter=True, relative_step=False, warmup_init=False, beta1=None.
// Arithmetic is float32 in torch's operation order (Math.fround after every op torch rounds), so results
// match torch CPU bit for bit on the (IA)³ fixture (sums follow torch's lane order; norms use float64).
import type { OptimizerCore, ParamSpec } from "./optimizer-types.js";

/** HF defaults kept by T-Few: eps = (1e-30, 1e-3), clip_threshold = 1.0, decay_rate = -0.8. */
export const ADAFACTOR_DEFAULTS = {
  /** added to grad² before averaging (HF eps[0]) */
  eps1: 1e-30,
  /** floor of the parameter RMS that scales the step (HF eps[1]) */
  eps2: 1e-3,
  /** the update is divided by max(1, RMS(update) / clipThreshold) */
  clipThreshold: 1.0,
  /** second-moment decay: beta2_t = 1 - t^decayRate (0 at t = 1) */
  decayRate: -0.8,
} as const;

export interface AdafactorOptions {
  /** decoupled weight decay: p -= weightDecay * lr_t * p (HF applies it before the update) */
  weightDecay: number;
}

const f32 = Math.fround;
const EPS1 = f32(ADAFACTOR_DEFAULTS.eps1);

/** A parameter seen as [lead, rows, cols]; 1-D (and scalar) parameters are unfactored. */
interface Layout {
  name: string;
  size: number;
  factored: boolean;
  lead: number;
  rows: number;
  cols: number;
}

export class Adafactor implements OptimizerCore {
  readonly name = "adafactor" as const;
  readonly slots = new Map<string, Float32Array>();
  stepCount = 0;
  private readonly layouts: Layout[];
  private readonly weightDecay: number;
  /** per-element work buffer, sized for the largest parameter */
  private readonly update: Float32Array;

  constructor(params: ParamSpec[], options: AdafactorOptions) {
    this.weightDecay = options.weightDecay;
    this.layouts = params.map((spec) => {
      const size = spec.shape.reduce((a, b) => a * b, 1);
      const factored = spec.shape.length >= 2;
      const rows = factored ? (spec.shape[spec.shape.length - 2] as number) : 1;
      const cols = factored ? (spec.shape[spec.shape.length - 1] as number) : size;
      const lead = size / (rows * cols);
      if (factored) {
        // HF: exp_avg_sq_row has shape[:-1], exp_avg_sq_col has shape[:-2] + shape[-1:]
        this.slots.set(`${spec.name}.exp_avg_sq_row`, new Float32Array(lead * rows));
        this.slots.set(`${spec.name}.exp_avg_sq_col`, new Float32Array(lead * cols));
      } else {
        this.slots.set(`${spec.name}.exp_avg_sq`, new Float32Array(size));
      }
      return { name: spec.name, size, factored, lead, rows, cols };
    });
    this.update = new Float32Array(Math.max(1, ...this.layouts.map((l) => l.size)));
  }

  step(params: Map<string, Float32Array>, grads: Map<string, Float32Array>, lr: number): void {
    this.stepCount += 1;
    const beta2t = 1 - Math.pow(this.stepCount, ADAFACTOR_DEFAULTS.decayRate); // float64, as in Python
    const decay = f32(beta2t);
    const mix = f32(1 - beta2t);
    for (const layout of this.layouts) {
      const p = params.get(layout.name) as Float32Array;
      const g = grads.get(layout.name) as Float32Array;
      // lr_t = max(eps2, RMS(p)) * lr; RMS is a float32 tensor, eps2 * lr a Python float
      const rms = rmsOf(p, layout.size);
      const lrT = rms > ADAFACTOR_DEFAULTS.eps2 ? f32(rms * f32(lr)) : f32(ADAFACTOR_DEFAULTS.eps2 * lr);
      const update = this.update.subarray(0, layout.size);
      for (let i = 0; i < layout.size; i++) {
        const gi = g[i] as number;
        update[i] = f32(f32(gi * gi) + EPS1); // u = grad² + eps1
      }
      if (layout.factored) this.factoredUpdate(layout, update, g, decay, mix);
      else this.plainUpdate(layout, update, g, decay, mix);
      // update /= max(1, RMS(update) / clip_threshold)
      const clip = Math.max(1, f32(rmsOf(update, layout.size) / f32(ADAFACTOR_DEFAULTS.clipThreshold)));
      const wdAlpha = f32(-this.weightDecay * lrT);
      for (let i = 0; i < layout.size; i++) {
        const step = f32(f32((update[i] as number) / clip) * lrT);
        let pi = p[i] as number;
        if (this.weightDecay !== 0) pi = fma32(pi, wdAlpha, pi); // p.add_(p, alpha=-wd*lr_t)
        p[i] = f32(pi - step);
      }
    }
  }

  /** exp_avg_sq = b*exp_avg_sq + (1-b)*u; update = rsqrt(exp_avg_sq) * g (1-D parameters). */
  private plainUpdate(layout: Layout, update: Float32Array, g: Float32Array, decay: number, mix: number): void {
    const sq = this.slots.get(`${layout.name}.exp_avg_sq`) as Float32Array;
    for (let i = 0; i < layout.size; i++) {
      sq[i] = fma32(update[i] as number, mix, f32((sq[i] as number) * decay));
      update[i] = f32(rsqrt32(sq[i] as number) * (g[i] as number));
    }
  }

  /**
   * row = b*row + (1-b)*u.mean(-1); col = b*col + (1-b)*u.mean(-2);
   * update = rsqrt(row / row.mean(-1))[..., :, None] * rsqrt(col)[..., None, :] * g  (HF _approx_sq_grad).
   */
  private factoredUpdate(layout: Layout, update: Float32Array, g: Float32Array, decay: number, mix: number): void {
    const { lead, rows, cols } = layout;
    const row = this.slots.get(`${layout.name}.exp_avg_sq_row`) as Float32Array; // [lead, rows]
    const col = this.slots.get(`${layout.name}.exp_avg_sq_col`) as Float32Array; // [lead, cols]
    const rFactor = new Float64Array(rows);
    const cFactor = new Float64Array(cols);
    for (let k = 0; k < lead; k++) {
      const base = k * rows * cols; // u viewed as [lead, rows, cols]
      for (let r = 0; r < rows; r++) {
        const mean = f32(sum32(update, base + r * cols, cols, 1) / cols);
        const at = k * rows + r;
        row[at] = fma32(mean, mix, f32((row[at] as number) * decay));
      }
      for (let c = 0; c < cols; c++) {
        const mean = f32(sum32(update, base + c, rows, cols) / rows);
        const at = k * cols + c;
        col[at] = fma32(mean, mix, f32((col[at] as number) * decay));
      }
      const rowMean = f32(sum32(row, k * rows, rows, 1) / rows);
      for (let r = 0; r < rows; r++) rFactor[r] = rsqrt32(f32((row[k * rows + r] as number) / rowMean));
      for (let c = 0; c < cols; c++) cFactor[c] = rsqrt32(col[k * cols + c] as number);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const i = base + r * cols + c;
          update[i] = f32(f32((rFactor[r] as number) * (cFactor[c] as number)) * (g[i] as number));
        }
      }
    }
  }
}

/** torch rsqrt on float32: 1 / sqrt(x), each rounded to float32. */
function rsqrt32(x: number): number {
  return f32(1 / f32(Math.sqrt(x)));
}

/** torch's vectorised add with alpha is a fused multiply-add: round(acc + a*b) once (a*b is exact in float64). */
function fma32(a: number, b: number, acc: number): number {
  return f32(acc + a * b);
}

/**
 * Sum of `count` float32 values from `start` with `stride`, in the order of torch's CPU float32 sum
 * (aten/src/ATen/native/cpu/SumKernel.cpp, AVX2 build) for contiguous runs: 8-lane vectors summed by
 * row_sum, then the scalar tail and the 8 lanes added in order. That order makes the bits match for the
 * (IA)³ shapes [n,1] and [1,n]; strided runs (true matrices) accumulate in float64 instead (within an ulp).
 */
function sum32(data: Float32Array, start: number, count: number, stride: number): number {
  if (stride !== 1) {
    let total = 0;
    for (let i = 0; i < count; i++) total += data[start + i * stride] as number;
    return f32(total);
  }
  if (count < LANES) return rowSum32((i) => data[start + i] as number, count);
  const vectors = Math.floor(count / LANES);
  let total = 0;
  for (let i = vectors * LANES; i < count; i++) total = f32(total + (data[start + i] as number));
  for (let lane = 0; lane < LANES; lane++) {
    total = f32(total + rowSum32((v) => data[start + v * LANES + lane] as number, vectors));
  }
  return total;
}

const LANES = 8; // float32 lanes of an AVX2 vector
const ILP = 4; // torch row_sum keeps 4 interleaved partial sums

/** torch row_sum: partial k sums elements i*4+k (multi_row_sum's cascade), tail into partial 0, then 0+1+2+3. */
function rowSum32(at: (i: number) => number, size: number): number {
  const groups = Math.floor(size / ILP);
  const partial = multiRowSum32((row, k) => at(row * ILP + k), groups);
  for (let i = groups * ILP; i < size; i++) partial[0] = f32((partial[0] as number) + at(i));
  let total = partial[0] as number;
  for (let k = 1; k < ILP; k++) total = f32(total + (partial[k] as number));
  return total;
}

/** torch multi_row_sum: ILP running sums over `size` rows, cascaded through 4 levels of 2^levelPower rows. */
function multiRowSum32(at: (row: number, k: number) => number, size: number): number[] {
  const levels = 4;
  const ceilLog2 = size <= 2 ? 1 : Math.floor(Math.log2(size - 1)) + 1;
  const levelPower = Math.max(4, Math.floor(ceilLog2 / levels));
  const levelStep = 2 ** levelPower;
  const acc = Array.from({ length: levels }, () => new Array<number>(ILP).fill(0));
  const level = (j: number): number[] => acc[j] as number[];
  let i = 0;
  while (i + levelStep <= size) {
    for (let j = 0; j < levelStep; j++, i++) {
      for (let k = 0; k < ILP; k++) level(0)[k] = f32((level(0)[k] as number) + at(i, k));
    }
    for (let j = 1; j < levels; j++) {
      for (let k = 0; k < ILP; k++) {
        level(j)[k] = f32((level(j)[k] as number) + (level(j - 1)[k] as number));
        level(j - 1)[k] = 0;
      }
      if (i % 2 ** (levelPower * (j + 1)) !== 0) break; // torch: (i & (levelMask << j*levelPower)) != 0
    }
  }
  for (; i < size; i++) for (let k = 0; k < ILP; k++) level(0)[k] = f32((level(0)[k] as number) + at(i, k));
  for (let j = 1; j < levels; j++) {
    for (let k = 0; k < ILP; k++) level(0)[k] = f32((level(0)[k] as number) + (level(j)[k] as number));
  }
  return level(0);
}

/** HF _rms: ||x||_2 / sqrt(numel), float32 tensor divided by a Python float (cast to float32). */
function rmsOf(data: Float32Array, size: number): number {
  let total = 0;
  for (let i = 0; i < size; i++) {
    const v = data[i] as number;
    total += v * v;
  }
  return f32(f32(Math.sqrt(total)) / f32(Math.sqrt(size)));
}
