// AdamW (Loshchilov & Hutter, decoupled weight decay) as torch.optim.AdamW computes it (single-tensor path,
// amsgrad=False): float32 state, bias correction, defaults betas (0.9, 0.999) and eps 1e-8.
import type { OptimizerCore, ParamSpec } from "./optimizer-types.js";

export interface AdamWOptions {
  /** decoupled weight decay: p *= 1 - lr * weightDecay before the Adam update */
  weightDecay: number;
  /** [beta1, beta2]; default [0.9, 0.999] */
  betas?: [number, number] | undefined;
  /** added to the bias-corrected sqrt of the second moment; default 1e-8 */
  eps?: number | undefined;
}

export const ADAMW_DEFAULTS = { betas: [0.9, 0.999] as [number, number], eps: 1e-8 } as const;

const f32 = Math.fround;

export class AdamW implements OptimizerCore {
  readonly name = "adamw" as const;
  readonly slots = new Map<string, Float32Array>();
  stepCount = 0;
  private readonly names: string[];
  private readonly weightDecay: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;

  constructor(params: ParamSpec[], options: AdamWOptions) {
    this.weightDecay = options.weightDecay;
    [this.beta1, this.beta2] = options.betas ?? ADAMW_DEFAULTS.betas;
    this.eps = options.eps ?? ADAMW_DEFAULTS.eps;
    this.names = params.map((spec) => spec.name);
    for (const spec of params) {
      const size = spec.shape.reduce((a, b) => a * b, 1);
      this.slots.set(`${spec.name}.exp_avg`, new Float32Array(size));
      this.slots.set(`${spec.name}.exp_avg_sq`, new Float32Array(size));
    }
  }

  step(params: Map<string, Float32Array>, grads: Map<string, Float32Array>, lr: number): void {
    this.stepCount += 1;
    const t = this.stepCount;
    // Python floats (float64) in torch; each becomes a float32 scalar where it meets a tensor.
    const decayFactor = f32(1 - lr * this.weightDecay);
    const b1 = f32(this.beta1);
    const b2 = f32(this.beta2);
    const oneMinusB1 = f32(1 - this.beta1);
    const oneMinusB2 = f32(1 - this.beta2);
    const stepSize = f32(-(lr / (1 - Math.pow(this.beta1, t))));
    const correction2Sqrt = f32(Math.sqrt(1 - Math.pow(this.beta2, t)));
    const eps = f32(this.eps);
    for (const name of this.names) {
      const p = params.get(name) as Float32Array;
      const g = grads.get(name) as Float32Array;
      const m = this.slots.get(`${name}.exp_avg`) as Float32Array;
      const v = this.slots.get(`${name}.exp_avg_sq`) as Float32Array;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i] as number;
        const mi = f32(f32((m[i] as number) * b1) + oneMinusB1 * gi); // exp_avg.mul_(b1).add_(g, alpha=1-b1)
        const vi = f32(f32((v[i] as number) * b2) + oneMinusB2 * f32(gi * gi)); // .addcmul_(g, g, value=1-b2)
        m[i] = mi;
        v[i] = vi;
        const denom = f32(f32(f32(Math.sqrt(vi)) / correction2Sqrt) + eps); // (sqrt(v)/sqrt(bc2)).add_(eps)
        const pi = f32((p[i] as number) * decayFactor); // p.mul_(1 - lr*wd)
        p[i] = f32(pi + stepSize * f32(mi / denom)); // p.addcdiv_(m, denom, value=-lr/bc1)
      }
    }
  }
}
