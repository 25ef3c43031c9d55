import { describe, expect, it } from "vitest";
import { emaSmooth, meanStd } from "./smooth.js";

describe("emaSmooth (TensorBoard's debiased EMA)", () => {
  it("matches hand-computed values", () => {
    // w = 0.5: ema 0.5, 1.25, 2.125; debias by 1 − 0.5^n = 0.5, 0.75, 0.875 → 1, 1.6667, 2.4286
    const s = emaSmooth([1, 2, 3], 0.5) as number[];
    expect(s[0]).toBeCloseTo(1, 12);
    expect(s[1]).toBeCloseTo(5 / 3, 12);
    expect(s[2]).toBeCloseTo(2.125 / 0.875, 12);
    expect(emaSmooth([4, 8], 0)).toEqual([4, 8]); // weight 0 = no smoothing
  });

  it("passes non-finite values through without counting them, and leaves a constant series alone", () => {
    const s = emaSmooth([1, null, Number.NaN, 3], 0.5);
    expect(s[1]).toBeNull();
    expect(s[2]).toBeNaN();
    expect(s[3]).toBeCloseTo((0.25 + 1.5) / 0.75, 12);
    expect(emaSmooth([2, 2, null, 2], 0.9)).toEqual([2, 2, null, 2]);
  });
});

describe("meanStd", () => {
  it("gives the mean and population std per index, ignoring missing values", () => {
    const { mean, std } = meanStd([
      [1, 2, null],
      [3, 2],
      [5, 2, 7],
    ]);
    expect(mean).toEqual([3, 2, 7]);
    expect(std[0]).toBeCloseTo(Math.sqrt(8 / 3), 12);
    expect(std.slice(1)).toEqual([0, 0]);
    expect(meanStd([[null]])).toEqual({ mean: [null], std: [null] });
  });
});
