// Hand-computed values of the linear warmup + linear decay schedule.
import { describe, expect, it } from "vitest";
import { learningRateAt } from "./schedule.js";

describe("learningRateAt", () => {
  const options = { lr: 3e-3, totalSteps: 100, warmupRatio: 0.06 }; // 6 warmup steps

  it("warms up linearly from 0 over round(ratio * total) steps", () => {
    expect(learningRateAt(0, options)).toBe(0);
    expect(learningRateAt(1, options)).toBeCloseTo(3e-3 / 6, 15);
    expect(learningRateAt(3, options)).toBeCloseTo(1.5e-3, 15);
    expect(learningRateAt(5, options)).toBeCloseTo((3e-3 * 5) / 6, 15);
  });

  it("peaks at the end of warmup and decays linearly to 0 at totalSteps", () => {
    expect(learningRateAt(6, options)).toBeCloseTo(3e-3, 15);
    expect(learningRateAt(53, options)).toBeCloseTo(1.5e-3, 15); // (100 - 53) / 94 = 0.5
    expect(learningRateAt(99, options)).toBeCloseTo(3e-3 / 94, 15);
    expect(learningRateAt(100, options)).toBe(0);
    expect(learningRateAt(150, options)).toBe(0);
  });

  it("without warmup starts at the peak; rounding picks whole warmup steps", () => {
    const noWarmup = { lr: 1e-2, totalSteps: 10, warmupRatio: 0 };
    expect(learningRateAt(0, noWarmup)).toBe(1e-2);
    expect(learningRateAt(4, noWarmup)).toBeCloseTo(6e-3, 15);
    // 0.25 * 10 = 2.5 -> 3 warmup steps
    const half = { lr: 1, totalSteps: 10, warmupRatio: 0.25 };
    expect(learningRateAt(2, half)).toBeCloseTo(2 / 3, 15);
    expect(learningRateAt(3, half)).toBe(1);
    expect(learningRateAt(8, half)).toBeCloseTo(2 / 7, 15);
  });

  it("with full warmup the rate is 0 at totalSteps; bad options throw", () => {
    expect(learningRateAt(4, { lr: 1, totalSteps: 4, warmupRatio: 1 })).toBe(0);
    expect(learningRateAt(2, { lr: 1, totalSteps: 4, warmupRatio: 1 })).toBe(0.5);
    expect(() => learningRateAt(-1, options)).toThrow(/step -1/);
    expect(() => learningRateAt(1.5, options)).toThrow(/step 1.5/);
    expect(() => learningRateAt(0, { ...options, totalSteps: 0 })).toThrow(/total steps 0/);
    expect(() => learningRateAt(0, { ...options, warmupRatio: 1.5 })).toThrow(/warmup ratio 1.5/);
  });
});
