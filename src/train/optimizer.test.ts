// The optimizer factory: input checks, and state()/loadState() round trips that resume bit for bit.
import { describe, expect, it } from "vitest";
import type { OptimizerName, ParamSpec } from "./optimizer-types.js";
import { createOptimizer } from "./optimizer.js";

const specs: ParamSpec[] = [
  { name: "k", shape: [4, 1] },
  { name: "wo", shape: [1, 3] },
  { name: "bias", shape: [2] },
];

function pseudoRandom(seed: number, size: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: size }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
}

const sizes = specs.map((s) => s.shape.reduce((a, b) => a * b, 1));
const initParams = () =>
  new Map(specs.map((s, i) => [s.name, pseudoRandom(i + 1, sizes[i] as number).map((v) => 1 + v)]));
const gradsAt = (t: number) => new Map(specs.map((s, i) => [s.name, pseudoRandom(100 * t + i, sizes[i] as number)]));

describe.each(["adafactor", "adamw"] as OptimizerName[])("%s state round trip", (name) => {
  it("an optimizer resumed from saved state continues with identical bytes", () => {
    const config = { name, weightDecay: 0.01 };
    const a = createOptimizer(config, specs);
    const paramsA = initParams();
    a.step(paramsA, gradsAt(1), 1e-2);
    a.step(paramsA, gradsAt(2), 5e-3);
    const saved = a.state();
    const paramsB = new Map([...paramsA].map(([k, v]) => [k, v.slice()]));
    a.step(paramsA, gradsAt(3), 2e-3);
    // state() is a copy: stepping on did not change what was saved
    expect(saved.step).toBe(2);

    const b = createOptimizer(config, specs);
    b.loadState(saved);
    b.step(paramsB, gradsAt(3), 2e-3);
    for (const spec of specs) {
      expect(Buffer.from((paramsB.get(spec.name) as Float32Array).buffer)).toEqual(
        Buffer.from((paramsA.get(spec.name) as Float32Array).buffer),
      );
    }
    const stateA = a.state();
    const stateB = b.state();
    expect(Object.keys(stateB).sort()).toEqual(Object.keys(stateA).sort());
    for (const key of Object.keys(stateA)) expect(stateB[key]).toEqual(stateA[key]);
    expect(stateB.step).toBe(3);
  });
});

describe("createOptimizer", () => {
  it("names the state slots by parameter", () => {
    expect(Object.keys(createOptimizer({ name: "adafactor", weightDecay: 0 }, specs).state()).sort()).toEqual([
      "bias.exp_avg_sq",
      "k.exp_avg_sq_col",
      "k.exp_avg_sq_row",
      "step",
      "wo.exp_avg_sq_col",
      "wo.exp_avg_sq_row",
    ]);
    expect(Object.keys(createOptimizer({ name: "adamw", weightDecay: 0 }, specs).state())).toContain("k.exp_avg");
  });

  it("rejects state from another optimizer or other shapes, leaving the state unchanged", () => {
    const adafactor = createOptimizer({ name: "adafactor", weightDecay: 0 }, specs);
    const adamwState = createOptimizer({ name: "adamw", weightDecay: 0 }, specs).state();
    expect(() => adafactor.loadState(adamwState)).toThrow(/unexpected key k.exp_avg/);
    const state = adafactor.state();
    expect(() => adafactor.loadState({ ...state, "k.exp_avg_sq_row": new Float32Array(3) })).toThrow(
      /k.exp_avg_sq_row has 3 elements, expected 4/,
    );
    expect(() => adafactor.loadState({ ...state, step: 1.5 })).toThrow(/"step" is 1.5/);
    const { "bias.exp_avg_sq": _dropped, ...missing } = state;
    expect(() => adafactor.loadState(missing)).toThrow(/bias.exp_avg_sq is missing/);
    expect(adafactor.state().step).toBe(0);
  });

  it("checks step inputs and config", () => {
    const opt = createOptimizer({ name: "adamw", weightDecay: 0 }, specs);
    const grads = gradsAt(1);
    grads.delete("wo");
    expect(() => opt.step(initParams(), grads, 1e-3)).toThrow(/no gradient for parameter wo/);
    const short = gradsAt(1);
    short.set("k", new Float32Array(2));
    expect(() => opt.step(initParams(), short, 1e-3)).toThrow(/gradient of k has 2 elements, expected 4/);
    const extra = gradsAt(1);
    extra.set("other", new Float32Array(1));
    expect(() => opt.step(initParams(), extra, 1e-3)).toThrow(/parameter other was not given/);
    expect(() => opt.step(initParams(), gradsAt(1), Number.NaN)).toThrow(/learning rate NaN/);
    expect(() => createOptimizer({ name: "adamw", weightDecay: -1 }, specs)).toThrow(/weight_decay -1/);
    expect(() => createOptimizer({ name: "adamw", weightDecay: 0 }, [...specs, specs[0] as ParamSpec])).toThrow(
      /k is listed twice/,
    );
    expect(() => createOptimizer({ name: "adamw", weightDecay: 0, betas: [1, 0.9] }, specs)).toThrow(/betas/);
  });
});
