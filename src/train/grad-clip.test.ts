// Hand-computed tests of the global gradient norm, clipping and gradient averaging.
import { describe, expect, it } from "vitest";
import { clipByGlobalNorm, globalNorm } from "./grad-clip.js";

const grads = () =>
  new Map([
    ["a", new Float32Array([3, 0])],
    ["b", new Float32Array([4])],
  ]);

describe("globalNorm / clipByGlobalNorm", () => {
  it("computes the L2 norm over all parameters", () => {
    expect(globalNorm(grads())).toBe(5);
    expect(globalNorm(new Map())).toBe(0);
  });

  it("scales by maxNorm / (norm + 1e-6) when the norm is larger", () => {
    const g = grads();
    const { norm, scale } = clipByGlobalNorm(g, 1);
    expect(norm).toBe(5);
    expect(scale).toBeCloseTo(1 / (5 + 1e-6), 15);
    expect(g.get("a")?.[0]).toBeCloseTo(3 / (5 + 1e-6), 7);
    expect(g.get("b")?.[0]).toBeCloseTo(4 / (5 + 1e-6), 7);
    expect(globalNorm(g)).toBeCloseTo(1, 6);
  });

  it("leaves small gradients alone", () => {
    const g = grads();
    expect(clipByGlobalNorm(g, 10)).toEqual({ norm: 5, scale: 1 });
    expect(Array.from(g.get("a") ?? [])).toEqual([3, 0]);
  });

  it("returns a non-finite norm without touching the gradients", () => {
    const g = new Map([["a", new Float32Array([1, Number.NaN])]]);
    const result = clipByGlobalNorm(g, 1);
    expect(result.norm).toBeNaN();
    expect(result.scale).toBe(1);
    expect(g.get("a")?.[0]).toBe(1);
    const inf = new Map([["a", new Float32Array([Infinity])]]);
    expect(clipByGlobalNorm(inf, 1).norm).toBe(Infinity);
    expect(() => clipByGlobalNorm(grads(), 0)).toThrow(/max norm 0/);
  });

  it("accumulates in float64 (no float32 overflow of the sum of squares)", () => {
    const big = new Map([["a", new Float32Array([3e20, 4e20])]]);
    expect(Math.abs(globalNorm(big) / 5e20 - 1)).toBeLessThan(1e-7); // 3e20, 4e20 are float32-rounded
  });
});
