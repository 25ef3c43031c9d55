// classificationMetrics against hand-computed values, with sklearn f1_score(average="macro") semantics.
import { describe, expect, it } from "vitest";
import { classificationMetrics } from "./metrics.js";

describe("classificationMetrics", () => {
  it("computes accuracy, per-class P/R/F1, confusion; a never-predicted class has F1 0 and counts", () => {
    // gold [a a b b c], pred [a b b b a]
    const m = classificationMetrics([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], ["a", "b", "c"]);
    expect(m.n).toBe(5);
    expect(m.accuracy).toBeCloseTo(0.6, 12);
    expect(m.confusion).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 0],
    ]);
    const [a, b, c] = m.per_class;
    expect(a).toEqual({ label: "a", precision: 0.5, recall: 0.5, f1: 0.5, support: 2 });
    expect(b?.precision).toBeCloseTo(2 / 3, 12);
    expect(b?.recall).toBe(1);
    expect(b?.f1).toBeCloseTo(0.8, 12);
    expect(c).toEqual({ label: "c", precision: 0, recall: 0, f1: 0, support: 1 }); // never predicted: zero_division=0
    expect(m.macro_f1).toBeCloseTo((0.5 + 0.8 + 0) / 3, 12);
  });

  it("counts a predicted class absent from gold (F1 0) and leaves out a class in neither", () => {
    // labels a b c d; gold [a b b], pred [a b d]: c is in neither, d only predicted.
    const m = classificationMetrics([0, 1, 1], [0, 1, 3], ["a", "b", "c", "d"]);
    expect(m.accuracy).toBeCloseTo(2 / 3, 12);
    expect(m.per_class[0]).toEqual({ label: "a", precision: 1, recall: 1, f1: 1, support: 1 });
    expect(m.per_class[1]?.f1).toBeCloseTo(2 / 3, 12);
    expect(m.per_class[2]).toEqual({ label: "c", precision: 0, recall: 0, f1: 0, support: 0 });
    expect(m.per_class[3]).toEqual({ label: "d", precision: 0, recall: 0, f1: 0, support: 0 });
    // sklearn: f1_score([0,1,1], [0,1,3], average="macro") = (1 + 2/3 + 0) / 3 = 0.5555...
    expect(m.macro_f1).toBeCloseTo(5 / 9, 12);
  });

  it("gives 1 for all-correct predictions, averaging only over the labels that occur", () => {
    const m = classificationMetrics([0, 1, 1, 0], [0, 1, 1, 0], ["x", "y", "z"]);
    expect(m.accuracy).toBe(1);
    expect(m.macro_f1).toBe(1);
    expect(m.per_class[2]).toEqual({ label: "z", precision: 0, recall: 0, f1: 0, support: 0 });
    expect(m.confusion).toEqual([
      [2, 0, 0],
      [0, 2, 0],
      [0, 0, 0],
    ]);
  });

  it("gives 0 macro-F1 when every prediction is wrong", () => {
    const m = classificationMetrics([0, 0], [1, 1], ["p", "q"]);
    expect(m.accuracy).toBe(0);
    expect(m.macro_f1).toBe(0);
  });

  it("rejects empty input, length mismatch and out-of-range indices with one-line errors", () => {
    expect(() => classificationMetrics([], [], ["a", "b"])).toThrow(/no examples/);
    expect(() => classificationMetrics([0, 1], [0], ["a", "b"])).toThrow(/2 gold labels but 1 predictions/);
    expect(() => classificationMetrics([0, 2], [0, 1], ["a", "b"])).toThrow(/gold\[1\] = 2 is not a label index/);
    expect(() => classificationMetrics([0, 1], [0, 0.5], ["a", "b"])).toThrow(/predicted\[1\]/);
    expect(() => classificationMetrics([0], [0], [])).toThrow(/empty label list/);
  });
});
