// Confident learning against tables worked by hand (comments show the arithmetic), including a class that is
// never the confident guess and a class with no labelled example.
import { describe, expect, it } from "vitest";
import { confidentLearning, noiseMatrix, softmaxOfNegated } from "./confident.js";

const TOL = 1e-12;

function expectClose(actual: number[][], expected: number[][]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((row, i) =>
    row.forEach((v, j) => expect(Math.abs(v - (expected[i]?.[j] ?? NaN))).toBeLessThanOrEqual(TOL)),
  );
}

describe("softmax of negated scores", () => {
  it("turns lower normalized NLL into higher probability", () => {
    // scores [1, 2]: p0 = e^-1 / (e^-1 + e^-2) = 1 / (1 + e^-1)
    const [p0, p1] = softmaxOfNegated([1, 2]);
    expect(Math.abs((p0 as number) - 1 / (1 + Math.exp(-1)))).toBeLessThanOrEqual(TOL);
    expect(Math.abs((p0 as number) + (p1 as number) - 1)).toBeLessThanOrEqual(TOL);
    expect(softmaxOfNegated([1000, 1001, 1000]).map((p) => p.toFixed(6))).toEqual(["0.422319", "0.155362", "0.422319"]);
  });
});

describe("confident learning by hand", () => {
  // 3 classes, 2 examples labelled each. Class 2 is never anyone's confident guess.
  const labels = [0, 0, 1, 1, 2, 2];
  const probs = [
    [0.8, 0.1, 0.1], // e0
    [0.4, 0.5, 0.1], // e1
    [0.1, 0.8, 0.1], // e2
    [0.3, 0.6, 0.1], // e3
    [0.65, 0.1, 0.25], // e4
    [0.1, 0.75, 0.15], // e5
  ];
  const r = confidentLearning(probs, labels, 3);

  it("thresholds are the mean self-confidence per class", () => {
    // t0 = (0.8 + 0.4) / 2, t1 = (0.8 + 0.6) / 2, t2 = (0.25 + 0.15) / 2
    r.thresholds.forEach((t, j) => expect(Math.abs(t - ([0.6, 0.7, 0.2][j] as number))).toBeLessThanOrEqual(TOL));
    expect(r.labelCounts).toEqual([2, 2, 2]);
  });

  it("guesses the most probable class above its threshold, or none", () => {
    // e0: {0} → 0; e1: 0.4 < .6, 0.5 < .7, 0.1 < .2 → none; e2: {1}; e3: none; e4: {0 (.65), 2 (.25)} → 0; e5: {1}
    expect(r.guesses).toEqual([0, null, 1, null, 0, 1]);
    expect(r.confidentJoint).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [1, 1, 0],
    ]);
  });

  it("calibrates rows to the label counts and normalizes the joint", () => {
    // rows scaled to 2 each: [2,0,0], [0,2,0], [1,1,0]; divided by n = 6
    expectClose(r.joint, [
      [1 / 3, 0, 0],
      [0, 1 / 3, 0],
      [1 / 6, 1 / 6, 0],
    ]);
    expect(Math.abs(r.noiseRate - 1 / 3)).toBeLessThanOrEqual(TOL);
  });

  it("normalizes columns into the noise matrix; a never-predicted class is a unit column", () => {
    // column sums 1/2, 1/2, 0 → p(given | true=0) = [2/3, 0, 1/3], true=1: [0, 2/3, 1/3], true=2: e2
    expectClose(r.noiseMatrix, [
      [2 / 3, 0, 0],
      [0, 2 / 3, 0],
      [1 / 3, 1 / 3, 1],
    ]);
    r.noiseMatrix[0]?.forEach((_, j) =>
      expect(Math.abs(r.noiseMatrix.reduce((a, row) => a + (row[j] as number), 0) - 1)).toBeLessThanOrEqual(TOL),
    );
  });

  it("flags the off-diagonal members and ranks every example by self-confidence", () => {
    expect(r.isIssue).toEqual([false, false, false, false, true, true]);
    expect(r.issuesPerClass).toEqual([0, 0, 2]);
    expect(r.selfConfidence).toEqual([0.8, 0.4, 0.8, 0.6, 0.25, 0.15]);
    expect(r.ranking).toEqual([5, 4, 1, 3, 0, 2]); // e0 and e2 tie at 0.8: input order
    expect(r.suggested).toEqual([0, 1, 1, 1, 0, 1]); // e1, e3: no confident guess → argmax
  });
});

describe("edge cases", () => {
  it("a class with no labelled example never reaches its threshold and keeps a zero row", () => {
    const labels = [0, 0, 1, 1];
    const probs = [
      [0.7, 0.2, 0.1],
      [0.5, 0.4, 0.1],
      [0.3, 0.6, 0.1],
      [0.2, 0.7, 0.1],
    ];
    const r = confidentLearning(probs, labels, 3);
    // t0 = 0.6, t1 = 0.65, t2 = ∞ → e0: 0; e1: none; e2: none (0.6 < 0.65); e3: 1
    expect(r.thresholds[2]).toBe(Infinity);
    expect(r.guesses).toEqual([0, null, null, 1]);
    expect(r.confidentJoint).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 0],
    ]);
    expectClose(r.joint, [
      [0.5, 0, 0],
      [0, 0.5, 0],
      [0, 0, 0],
    ]);
    expectClose(r.noiseMatrix, [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect(r.isIssue).toEqual([false, false, false, false]);
    expect(r.noiseRate).toBe(0);
  });

  it("counts an example exactly at its class threshold", () => {
    const r = confidentLearning(
      [
        [0.3, 0.7],
        [0.3, 0.7],
        [0.9, 0.1],
      ],
      [1, 1, 0],
      2,
    );
    expect(r.guesses).toEqual([1, 1, 0]);
  });

  it("a swapped pair shows up as two issues and an even noise matrix", () => {
    // two confident examples per class, one of each pair labelled the other way
    const probs = [
      [0.9, 0.1],
      [0.9, 0.1],
      [0.1, 0.9],
      [0.1, 0.9],
    ];
    const r = confidentLearning(probs, [0, 1, 1, 0], 2);
    // t0 = (0.9 + 0.1) / 2 = 0.5 = t1 → guesses [0, 0, 1, 1]; C = [[1,1],[1,1]]
    expect(r.confidentJoint).toEqual([
      [1, 1],
      [1, 1],
    ]);
    expectClose(noiseMatrix(r.joint), [
      [0.5, 0.5],
      [0.5, 0.5],
    ]);
    expect(r.isIssue).toEqual([false, true, false, true]);
  });
});
