// Per-set optimizers: a step updates only the sets it has gradients for, each set's state equals a lone
// optimizer's over the same steps, and state()/loadState() continue the run exactly.
import { describe, expect, it } from "vitest";
import { createOptimizer } from "./optimizer.js";
import { createSetOptimizer } from "./set-optimizers.js";

const groups = ["a", "b"].map((name) => ({
  name,
  params: [
    { name: `${name}/k`, shape: [4, 1] },
    { name: `${name}/wo`, shape: [1, 3] },
  ],
}));
const grad = (seed: number, n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 3.1 + i));
const values = () =>
  new Map(
    groups.flatMap((g) => g.params.map((p) => [p.name, new Float32Array(p.shape[0]! * p.shape[1]!).fill(1)] as const)),
  );

describe("createSetOptimizer", () => {
  it("steps only the sets given, each as a lone optimizer over its own steps; state round-trips", () => {
    const opt = createSetOptimizer({ name: "adafactor", weightDecay: 0 }, groups);
    const lone = createOptimizer({ name: "adafactor", weightDecay: 0 }, groups[0]!.params);
    const params = values();
    const aloneParams = new Map(
      [...params].filter(([k]) => k.startsWith("a/")).map(([k, v]) => [k, Float32Array.from(v)]),
    );
    const gA = (s: number) =>
      new Map([
        ["a/k", grad(s, 4)],
        ["a/wo", grad(s + 1, 3)],
      ]);
    opt.step(params, gA(1), 0.1);
    lone.step(aloneParams, gA(1), 0.1);
    expect([...params.get("b/k")!]).toEqual([1, 1, 1, 1]); // b not in the batch: untouched
    opt.step(params, new Map([...gA(2), ["b/k", grad(3, 4)], ["b/wo", grad(4, 3)]]), 0.05);
    lone.step(aloneParams, gA(2), 0.05);
    expect([...params.get("a/k")!]).toEqual([...aloneParams.get("a/k")!]);
    const state = opt.state();
    expect(state["a/step"]).toBe(2);
    expect(state["b/step"]).toBe(1);
    const resumed = createSetOptimizer({ name: "adafactor", weightDecay: 0 }, groups);
    resumed.loadState(state);
    const p2 = new Map([...params].map(([k, v]) => [k, Float32Array.from(v)]));
    const next = new Map([...gA(5), ["b/k", grad(6, 4)], ["b/wo", grad(7, 3)]]);
    opt.step(params, next, 0.02);
    resumed.step(p2, next, 0.02);
    for (const [k, v] of params) expect([...p2.get(k)!]).toEqual([...v]);
  });
});
