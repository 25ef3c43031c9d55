// AdamW against hand-computed first and second steps (torch.optim.AdamW formulas, float64 here).
import { describe, expect, it } from "vitest";
import { createOptimizer } from "./optimizer.js";

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe("AdamW", () => {
  it("matches hand-computed steps with decoupled weight decay and bias correction", () => {
    const opt = createOptimizer({ name: "adamw", weightDecay: 0.1 }, [{ name: "w", shape: [2] }]);
    const w = new Float32Array([1, -2]);
    const params = new Map([["w", w]]);
    const lr = 0.01;

    opt.step(params, new Map([["w", new Float32Array([0.5, -0.1])]]), lr);
    // step 1: p *= 1 - lr*wd = 0.999; bias-corrected m = g, v = g^2, so the step is lr * g / (|g| + 1e-8)
    const step1 = [0.999 - (0.01 * 0.5) / (0.5 + 1e-8), -1.998 + (0.01 * 0.1) / (0.1 + 1e-8)];
    expect(rel(w[0] as number, step1[0] as number)).toBeLessThan(1e-6);
    expect(rel(w[1] as number, step1[1] as number)).toBeLessThan(1e-6);
    const state1 = opt.state();
    expect(rel((state1["w.exp_avg"] as Float32Array)[1] as number, -0.01)).toBeLessThan(1e-6);
    expect(rel((state1["w.exp_avg_sq"] as Float32Array)[0] as number, 0.00025)).toBeLessThan(1e-6);

    opt.step(params, new Map([["w", new Float32Array([-0.2, 0.3])]]), lr);
    // step 2: m = 0.9 m + 0.1 g2 = [0.025, 0.021]; v = 0.999 v + 0.001 g2^2 = [0.00028975, 0.00009999]
    // p = 0.999 p - lr / (1 - 0.9^2) * m / (sqrt(v) / sqrt(1 - 0.999^2) + 1e-8)
    const m = [0.025, 0.021];
    const v = [0.00028975, 0.00009999];
    const step2 = step1.map(
      (p, i) =>
        0.999 * p - ((0.01 / 0.19) * (m[i] as number)) / (Math.sqrt(v[i] as number) / Math.sqrt(0.001999) + 1e-8),
    );
    expect(rel(w[0] as number, step2[0] as number)).toBeLessThan(1e-6);
    expect(rel(w[1] as number, step2[1] as number)).toBeLessThan(1e-6);
    expect(opt.state().step).toBe(2);
  });

  it("uses the configured betas and eps", () => {
    const opt = createOptimizer({ name: "adamw", weightDecay: 0, betas: [0.5, 0.9], eps: 0.1 }, [
      { name: "w", shape: [1] },
    ]);
    const w = new Float32Array([0]);
    opt.step(new Map([["w", w]]), new Map([["w", new Float32Array([0.3])]]), 1);
    // bias-corrected m = 0.3, v = 0.09: step = 0.3 / (0.3 + 0.1)
    expect(rel(w[0] as number, -0.75)).toBeLessThan(1e-6);
  });
});
