// Merge math on small hand-made vectors (values worked out by hand in the comments) and every mismatch the
// compatibility check must name.
import { describe, expect, it } from "vitest";
import { FISHER_FLOOR, mergeAdapters, resolveWeights, type MergeSource } from "./merge.js";
import { tfewMessageOfSync } from "../../tests/helpers/errors.js";

const K = "encoder.block.0.layer.0.SelfAttention.k";
const WO = "encoder.block.0.layer.1.DenseReluDense.wo";

function adapter(dir: string, k: number[], wo: number[], extra: Partial<MergeSource> = {}): MergeSource {
  return {
    dir,
    config: { targetModules: ["k", "wo"], feedforwardModules: ["wo"] },
    baseModel: "/models/t5",
    values: new Map([
      [K, Float32Array.from(k)],
      [WO, Float32Array.from(wo)],
    ]),
    shapes: new Map([
      [K, [k.length, 1]],
      [WO, [1, wo.length]],
    ]),
    ...extra,
  };
}

const values = (a: { values: Map<string, Float32Array> }, path: string) => Array.from(a.values.get(path) ?? []);

const errorOf = tfewMessageOfSync;

describe("average and weighted", () => {
  const a = adapter("a", [1, 2], [0.5, 1.5, -1]);
  const b = adapter("b", [5, 6], [1.5, 0.5, 3]);
  const c = adapter("c", [3, 1], [1, 1, 1]);

  it("average: element-wise mean", () => {
    const { adapter: m, weights } = mergeAdapters({ adapters: [a, b, c], method: "average" });
    expect(values(m, K)).toEqual([3, 3]); // (1+5+3)/3, (2+6+1)/3
    expect(values(m, WO)).toEqual([1, 1, 1]); // (0.5+1.5+1)/3, (1.5+0.5+1)/3, (-1+3+1)/3
    expect(weights).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expect(m.shapes.get(WO)).toEqual([1, 3]);
    expect(m.config).toEqual(a.config);
    expect(m.baseModel).toBe("/models/t5");
  });

  it("weighted: Σ wᵢθᵢ / Σ wᵢ", () => {
    const { adapter: m, weights } = mergeAdapters({ adapters: [a, b], method: "weighted", weights: [1, 3] });
    expect(weights).toEqual([0.25, 0.75]);
    expect(values(m, K)).toEqual([4, 5]); // (1·1 + 3·5)/4, (1·2 + 3·6)/4
    expect(values(m, WO)).toEqual([1.25, 0.75, 2]); // (0.5 + 3·1.5)/4, (1.5 + 3·0.5)/4, (−1 + 3·3)/4
  });

  it("weighted with a zero weight returns the other adapter exactly", () => {
    const { adapter: m } = mergeAdapters({ adapters: [a, b], method: "weighted", weights: [0, 2] });
    expect(values(m, K)).toEqual([5, 6]);
    expect(values(m, WO)).toEqual([1.5, 0.5, 3]);
  });
});

describe("fisher", () => {
  const a = adapter("a", [1, 2, 3], [1]);
  const b = adapter("b", [3, 4, 5], [9]);
  const fa = new Map([
    [K, Float32Array.of(1, 0, 0)],
    [WO, Float32Array.of(2)],
  ]);
  const fb = new Map([
    [K, Float32Array.of(3, 0, 1)],
    [WO, Float32Array.of(6)],
  ]);

  it("θ = Σ wᵢ max(Fᵢ, ε) θᵢ / Σ wᵢ max(Fᵢ, ε)", () => {
    const { adapter: m } = mergeAdapters({ adapters: [a, b], method: "fisher", fishers: [fa, fb] });
    const e = FISHER_FLOOR;
    expect(values(m, K)).toEqual([
      2.5, // (1·1 + 3·3) / (1 + 3)
      3, // both Fisher 0 → floored to ε → the plain mean (2 + 4) / 2
      Math.fround((e * 3 + 1 * 5) / (e + 1)), // a's 0 floored to ε
    ]);
    expect(values(m, WO)).toEqual([7]); // (2·1 + 6·9) / 8
  });

  it("weights multiply the Fisher values", () => {
    const { adapter: m } = mergeAdapters({ adapters: [a, b], method: "fisher", fishers: [fa, fb], weights: [1, 2] });
    expect(values(m, K)[0]).toBe(Math.fround(19 / 7)); // (1·1·1 + 2·3·3) / (1·1 + 2·3)
    expect(values(m, K)[1]).toBe(Math.fround(10 / 3)); // (1·ε·2 + 2·ε·4) / (3ε)
    expect(values(m, WO)).toEqual([Math.fround(110 / 14)]); // (1·2·1 + 2·6·9) / (2 + 12)
  });

  it("a custom floor", () => {
    const { adapter: m } = mergeAdapters({ adapters: [a, b], method: "fisher", fishers: [fa, fb], fisherFloor: 1 });
    expect(values(m, K)).toEqual([2.5, 3, 4]); // third: (1·3 + 1·5) / 2
  });

  it("bad diagonals: missing, wrong length, negative, NaN, extra entry", () => {
    const merge = (f: Map<string, Float32Array>) => () =>
      mergeAdapters({ adapters: [a, b], method: "fisher", fishers: [fa, f] });
    expect(errorOf(() => mergeAdapters({ adapters: [a, b], method: "fisher" }))).toBe(
      "merge: --method fisher needs one Fisher diagonal per adapter (got 0 for 2 adapters)",
    );
    expect(errorOf(merge(new Map([[K, Float32Array.of(1, 1, 1)]])))).toBe(
      `merge: the Fisher diagonal of b has no entry for ${WO}; recompute it for this adapter`,
    );
    expect(
      errorOf(
        merge(
          new Map([
            [K, Float32Array.of(1, 1)],
            [WO, Float32Array.of(1)],
          ]),
        ),
      ),
    ).toBe(`merge: the Fisher diagonal of b has 2 values for ${K}, the vector 3; recompute it for this adapter`);
    expect(
      errorOf(
        merge(
          new Map([
            [K, Float32Array.of(1, -1, 1)],
            [WO, Float32Array.of(1)],
          ]),
        ),
      ),
    ).toBe(`merge: the Fisher diagonal of b holds -1 at ${K}[1]; Fisher values must be finite and ≥ 0`);
    expect(
      errorOf(
        merge(
          new Map([
            [K, Float32Array.of(1, 1, NaN)],
            [WO, Float32Array.of(1)],
          ]),
        ),
      ),
    ).toContain(`holds NaN at ${K}[2]`);
    expect(errorOf(merge(new Map([...fb, ["x.q", Float32Array.of(1)]])))).toBe(
      "merge: the Fisher diagonal of b has an entry for x.q, which the adapter lacks; recompute it for this adapter",
    );
  });
});

describe("weights", () => {
  it.each([
    [
      "average",
      [1, 2],
      "merge: --weight is for --method weighted or fisher; --method average weighs every adapter equally",
    ],
    ["weighted", null, "merge: --method weighted needs one --weight per --adapter (2 adapters, no --weight)"],
    [
      "weighted",
      [1],
      "merge: 1 --weight values for 2 --adapter folders; give one --weight per adapter, in the same order",
    ],
    [
      "fisher",
      [1, 2, 3],
      "merge: 3 --weight values for 2 --adapter folders; give one --weight per adapter, in the same order",
    ],
    ["weighted", [1, -1], "merge: --weight number 2 is -1; weights must be finite and ≥ 0"],
    ["weighted", [NaN, 1], "merge: --weight number 1 is NaN; weights must be finite and ≥ 0"],
    ["weighted", [0, 0], "merge: the --weight values sum to 0; give at least one positive weight"],
  ] as const)("%s with %j: one line", (method, weights, message) => {
    expect(errorOf(() => resolveWeights(method, 2, weights))).toBe(message);
  });

  it("fisher without --weight weighs adapters equally", () => {
    expect(resolveWeights("fisher", 4, null)).toEqual([0.25, 0.25, 0.25, 0.25]);
  });
});

describe("compatibility: each mismatch one line naming both folders", () => {
  const a = adapter("runs/a/adapter", [1, 2], [1]);
  const check = (b: MergeSource) => errorOf(() => mergeAdapters({ adapters: [a, b], method: "average" }));

  it("fewer than two adapters", () => {
    expect(errorOf(() => mergeAdapters({ adapters: [a], method: "average" }))).toBe(
      "merge: give at least two --adapter folders (got 1)",
    );
  });

  it("target modules, feed-forward modules, base model", () => {
    expect(
      check(adapter("b", [1, 2], [1], { config: { targetModules: ["k", "v", "wo"], feedforwardModules: ["wo"] } })),
    ).toBe(
      'merge: b has target_modules ["k","v","wo"] but runs/a/adapter has ["k","wo"]; merge only adapters trained with the same adapter.target_modules',
    );
    expect(check(adapter("b", [1, 2], [1], { config: { targetModules: ["k", "wo"], feedforwardModules: [] } }))).toBe(
      'merge: b has feedforward_modules [] but runs/a/adapter has ["wo"]; merge only adapters trained with the same adapter.feedforward_modules',
    );
    expect(check(adapter("b", [1, 2], [1], { baseModel: "google/flan-t5-small" }))).toBe(
      "merge: b was trained on google/flan-t5-small but runs/a/adapter on /models/t5; merge only adapters of the same base model",
    );
  });

  it('same modules in another order, and an unknown base model (PEFT writes ""), are compatible', () => {
    const b = adapter("b", [3, 4], [3], {
      config: { targetModules: ["wo", "k"], feedforwardModules: ["wo"] },
      baseModel: "",
    });
    expect(values(mergeAdapters({ adapters: [b, a], method: "average" }).adapter, K)).toEqual([2, 3]);
    expect(mergeAdapters({ adapters: [b, a], method: "average" }).adapter.baseModel).toBe("/models/t5");
  });

  it("vector names and shapes", () => {
    const missing = adapter("b", [1, 2], [1]);
    missing.values.delete(WO);
    expect(check(missing)).toBe(
      `merge: b has no vector for ${WO}, which runs/a/adapter has; b and runs/a/adapter were made for different models`,
    );
    const extra = adapter("b", [1, 2], [1]);
    extra.values.set("decoder.block.9.layer.0.SelfAttention.k", Float32Array.of(1));
    expect(check(extra)).toBe(
      "merge: b has a vector for decoder.block.9.layer.0.SelfAttention.k, which runs/a/adapter lacks; b and runs/a/adapter were made for different models",
    );
    expect(check(adapter("b", [1, 2, 3], [1]))).toBe(
      `merge: vector ${K} has shape [3, 1] in b but [2, 1] in runs/a/adapter; b and runs/a/adapter were made for different models`,
    );
  });
});
