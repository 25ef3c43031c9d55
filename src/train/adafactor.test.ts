// Gold test: Adafactor against transformers 4.30.2 Adafactor on the 16 (IA)³ vectors of the fixture (case 4).
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GOLD_MODEL_DIR } from "../../tests/helpers/shared.js";
import { fixtureFloats, fixtureTensor, maxRelativeError, readSafetensors } from "../../tests/helpers/read-fixture.js";
import type { ParamSpec } from "./optimizer-types.js";
import { createOptimizer } from "./optimizer.js";

const gold = readSafetensors(join(GOLD_MODEL_DIR, "adafactor.safetensors"));
const names = [...gold.keys()].filter((k) => k.endsWith(".init")).map((k) => k.slice(0, -".init".length));
const specs: ParamSpec[] = names.map((name) => ({ name, shape: fixtureTensor(gold, `${name}.init`).shape }));
const LR = 3e-3;

function freshParams(): Map<string, Float32Array> {
  return new Map(names.map((n) => [n, fixtureFloats(gold, `${n}.init`).slice()]));
}
const grads = new Map(names.map((n) => [n, fixtureFloats(gold, `${n}.grad`)]));

/** max relative error of each quantity over all 16 vectors */
function measure() {
  const opt = createOptimizer({ name: "adafactor", weightDecay: 0 }, specs);
  const params = freshParams();
  const worst = { step1: 0, step2: 0, delta1: 0, delta2: 0, row: 0, col: 0 };
  opt.step(params, grads, LR);
  for (const n of names) {
    const init = fixtureFloats(gold, `${n}.init`);
    const expected = fixtureFloats(gold, `${n}.step1`);
    const got = params.get(n) as Float32Array;
    worst.step1 = Math.max(worst.step1, maxRelativeError(got, expected));
    worst.delta1 = Math.max(
      worst.delta1,
      maxRelativeError(
        got.map((v, i) => v - (init[i] as number)),
        expected.map((v, i) => v - (init[i] as number)),
      ),
    );
  }
  const after1 = new Map([...params].map(([n, v]) => [n, v.slice()]));
  opt.step(params, grads, LR);
  const state = opt.state();
  for (const n of names) {
    const before = after1.get(n) as Float32Array;
    const expected = fixtureFloats(gold, `${n}.step2`);
    const expected1 = fixtureFloats(gold, `${n}.step1`);
    const got = params.get(n) as Float32Array;
    worst.step2 = Math.max(worst.step2, maxRelativeError(got, expected));
    worst.delta2 = Math.max(
      worst.delta2,
      maxRelativeError(
        got.map((v, i) => v - (before[i] as number)),
        expected.map((v, i) => v - (expected1[i] as number)),
      ),
    );
    worst.row = Math.max(
      worst.row,
      maxRelativeError(state[`${n}.exp_avg_sq_row`] as Float32Array, fixtureFloats(gold, `${n}.state.exp_avg_sq_row`)),
    );
    worst.col = Math.max(
      worst.col,
      maxRelativeError(state[`${n}.exp_avg_sq_col`] as Float32Array, fixtureFloats(gold, `${n}.state.exp_avg_sq_col`)),
    );
  }
  return { worst, step: state.step };
}

describe("Adafactor (HF transformers semantics)", () => {
  it("matches transformers' step1, step2 and factored state on all 16 (IA)³ vectors", () => {
    expect(names.length).toBe(16);
    const { worst, step } = measure();
    console.log("adafactor max relative error", worst);
    expect(step).toBe(2);
    // the brief asks for 1e-4; measured 0 everywhere (bit-identical to torch), so guard at 1e-6. delta* compare
    // the step itself (p_t - p_{t-1}), which is far more sensitive than the parameters.
    for (const value of Object.values(worst)) expect(value).toBeLessThanOrEqual(1e-6);
  });
});

/** Straightforward float64 Adafactor from the HF formulas, for shapes the fixture does not cover. */
function referenceAdafactor(p: number[], grads: number[][], shape: number[], lrs: number[], wd: number): number[] {
  const size = p.length;
  const factored = shape.length >= 2;
  const cols = factored ? (shape[shape.length - 1] as number) : size;
  const rows = factored ? (shape[shape.length - 2] as number) : 1;
  const lead = size / (rows * cols);
  const row = new Array<number>(lead * rows).fill(0);
  const col = new Array<number>(lead * cols).fill(0);
  const sq = new Array<number>(size).fill(0);
  const x = p.slice();
  grads.forEach((g, s) => {
    const t = s + 1;
    const beta2t = 1 - t ** -0.8;
    const rms = Math.sqrt(x.reduce((a, v) => a + v * v, 0) / size);
    const lrT = Math.max(1e-3, rms) * (lrs[s] as number);
    const u = g.map((v) => v * v + 1e-30);
    let update: number[];
    if (factored) {
      update = new Array<number>(size).fill(0);
      for (let k = 0; k < lead; k++) {
        const at = (r: number, c: number) => k * rows * cols + r * cols + c;
        for (let r = 0; r < rows; r++) {
          let m = 0;
          for (let c = 0; c < cols; c++) m += (u[at(r, c)] as number) / cols;
          row[k * rows + r] = beta2t * (row[k * rows + r] as number) + (1 - beta2t) * m;
        }
        for (let c = 0; c < cols; c++) {
          let m = 0;
          for (let r = 0; r < rows; r++) m += (u[at(r, c)] as number) / rows;
          col[k * cols + c] = beta2t * (col[k * cols + c] as number) + (1 - beta2t) * m;
        }
        let rowMean = 0;
        for (let r = 0; r < rows; r++) rowMean += (row[k * rows + r] as number) / rows;
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c++) {
            const v = ((row[k * rows + r] as number) / rowMean) * (col[k * cols + c] as number);
            update[at(r, c)] = (g[at(r, c)] as number) / Math.sqrt(v);
          }
        }
      }
    } else {
      update = g.map((v, i) => {
        sq[i] = beta2t * (sq[i] as number) + (1 - beta2t) * (u[i] as number);
        return v / Math.sqrt(sq[i] as number);
      });
    }
    const clip = Math.max(1, Math.sqrt(update.reduce((a, v) => a + v * v, 0) / size));
    for (let i = 0; i < size; i++) {
      const xi = x[i] as number;
      x[i] = xi - wd * lrT * xi - ((update[i] as number) / clip) * lrT;
    }
  });
  return x;
}

describe("Adafactor on other shapes", () => {
  const cases: { shape: number[]; wd: number }[] = [
    { shape: [5], wd: 0 }, // unfactored
    { shape: [2, 3], wd: 0.1 }, // factored matrix
    { shape: [2, 3, 4], wd: 0.01 }, // factored per leading index
    { shape: [6, 1], wd: 0 },
  ];
  it.each(cases)("shape $shape (weight decay $wd) follows the float64 reference over 3 steps", ({ shape, wd }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const init = Float32Array.from({ length: size }, (_, i) => 0.5 + Math.sin(i + 1));
    const grads = [1, 2, 3].map((t) =>
      Float32Array.from({ length: size }, (_, i) => Math.cos(3 * i + t) * 10 ** ((i % 3) - 2)),
    );
    const lrs = [1e-2, 3e-3, 1e-3];
    const opt = createOptimizer({ name: "adafactor", weightDecay: wd }, [{ name: "p", shape }]);
    const params = new Map([["p", init.slice()]]);
    const before = init.slice();
    grads.forEach((g, s) => opt.step(params, new Map([["p", g]]), lrs[s] as number));
    const expected = referenceAdafactor(
      Array.from(init),
      grads.map((g) => Array.from(g)),
      shape,
      lrs,
      wd,
    );
    const got = params.get("p") as Float32Array;
    // the total change p_3 - p_0, relative to its largest element (float32 rounding of p itself is ~1e-7)
    const delta = (v: number, i: number) => v - (before[i] as number);
    const expectedDelta = expected.map(delta);
    const scale = Math.max(...expectedDelta.map(Math.abs));
    const worst = Math.max(...Array.from(got, (v, i) => Math.abs(delta(v, i) - (expectedDelta[i] as number))));
    expect(worst / scale).toBeLessThan(1e-4);
  });

  it("floors the parameter scale at eps2 = 1e-3 (zero-initialised parameter)", () => {
    const opt = createOptimizer({ name: "adafactor", weightDecay: 0 }, [{ name: "p", shape: [2] }]);
    const p = new Float32Array(2);
    opt.step(new Map([["p", p]]), new Map([["p", new Float32Array([2, -0.5])]]), 0.1);
    // step 1: update = g / |g| = ±1, RMS 1 (no clipping), lr_t = 1e-3 * 0.1
    expect(p[0]).toBeCloseTo(-1e-4, 9);
    expect(p[1]).toBeCloseTo(1e-4, 9);
  });
});
