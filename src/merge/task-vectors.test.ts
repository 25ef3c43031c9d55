// Task arithmetic, TIES and DARE on hand-made (IA)³ vectors whose values (1 ± dyadic fractions) are exact in
// float32, so every expected value below is worked out by hand and compared exactly. Each adapter is a k
// vector (2 entries) and a wo vector (3 entries); flattened, its τ = l − 1 has 5 entries, k first.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAdapter, writeAdapterFiles } from "../adapters/peft-adapter.js";
import { mulberry32 } from "../engine/rng.js";
import { mergeAdapters, type MergeSource } from "./merge.js";
import { mergeAdapterFolders } from "./merge-files.js";
import { checkTaskVectorFlags, dropAndRescale, electAndMerge, trimTopK } from "./task-vectors.js";
import { tfewMessageOfSync } from "../../tests/helpers/errors.js";

const K = "encoder.block.0.layer.0.SelfAttention.k";
const WO = "encoder.block.0.layer.1.DenseReluDense.wo";

/** An adapter whose flattened task vector is tau (l = 1 + τ). */
function adapter(dir: string, tau: number[]): MergeSource {
  const l = tau.map((t) => 1 + t);
  return {
    dir,
    config: { targetModules: ["k", "wo"], feedforwardModules: ["wo"] },
    baseModel: "/models/t5",
    values: new Map([
      [K, Float32Array.from(l.slice(0, 2))],
      [WO, Float32Array.from(l.slice(2))],
    ]),
    shapes: new Map([
      [K, [2, 1]],
      [WO, [1, 3]],
    ]),
  };
}

//                       k[0]    k[1]     wo[0]   wo[1]  wo[2]
const A = adapter("a", [0.5, -0.125, 0.25, 0, -0.75]);
const B = adapter("b", [-0.25, 0.25, 0.125, 0.625, -0.5]);
const C = adapter("c", [0.125, -0.5, -0.375, 0.25, 0.0625]);

const flatL = (m: { values: Map<string, Float32Array> }) => [...(m.values.get(K) ?? []), ...(m.values.get(WO) ?? [])];
const draws = (list: number[]) => {
  let i = 0;
  return () => {
    if (i >= list.length) throw new Error("more draws than the table has");
    return list[i++] as number;
  };
};

describe("task arithmetic: l = 1 + λ Σ τᵢ", () => {
  it("λ = 1 and λ = 0.5", () => {
    // Σ τ = [0.5−0.25+0.125, −0.125+0.25−0.5, 0.25+0.125−0.375, 0+0.625+0.25, −0.75−0.5+0.0625]
    //     = [0.375, −0.375, 0, 0.875, −1.1875]
    const m1 = mergeAdapters({ adapters: [A, B, C], method: "task-arithmetic" });
    expect(flatL(m1.adapter)).toEqual([1.375, 0.625, 1, 1.875, -0.1875]);
    expect(m1.weights).toEqual([]);
    const m2 = mergeAdapters({ adapters: [A, B, C], method: "task-arithmetic", lambda: 0.5 });
    expect(flatL(m2.adapter)).toEqual([1.1875, 0.8125, 1, 1.4375, 0.40625]);
    expect(m2.adapter.shapes.get(WO)).toEqual([1, 3]);
  });

  it("two base-model adapters (l = 1) stay 1, where a raw sum of l (PEFT weights [1, 1]) would be 2", () => {
    const zero = [0, 0, 0, 0, 0];
    const m = mergeAdapters({ adapters: [adapter("x", zero), adapter("y", zero)], method: "task-arithmetic" });
    expect(flatL(m.adapter)).toEqual([1, 1, 1, 1, 1]);
  });
});

describe("TIES: trim, elect sign, disjoint mean", () => {
  it("trim keeps ⌈density·n⌉ entries by |τ|, equal magnitudes in index order", () => {
    const tauB = Float64Array.of(-0.25, 0.25, 0.125, 0.625, -0.5);
    // density 0.6 → 3 of 5: 0.625, 0.5, then −0.25 (index 0) before 0.25 (index 1)
    expect(Array.from(trimTopK(tauB, 0.6))).toEqual([-0.25, 0, 0, 0.625, -0.5]);
    expect(Array.from(trimTopK(tauB, 0.2))).toEqual([0, 0, 0, 0.625, 0]); // ⌈1⌉ = 1
    expect(Array.from(trimTopK(tauB, 0.3))).toEqual([0, 0, 0, 0.625, -0.5]); // ⌈1.5⌉ = 2
    expect(Array.from(trimTopK(tauB, 1))).toEqual(Array.from(tauB));
  });

  it("elect: sign of the sum; mean of the agreeing entries; 0 where the sum is 0", () => {
    const merged = electAndMerge([Float64Array.of(0.5, 0.5, 0.25, 0), Float64Array.of(-0.5, -0.25, 0.75, 0)]);
    expect(Array.from(merged)).toEqual([0, 0.5, 0.5, 0]); // 0 = 0.5 − 0.5; + → 0.5; + → (0.25+0.75)/2
  });

  it("density 0.6, λ = 1 and λ = 0.5 on three adapters", () => {
    // trimmed (3 of 5 each):  A [0.5, 0, 0.25, 0, −0.75]   B [−0.25, 0, 0, 0.625, −0.5]   C [0, −0.5, −0.375, 0.25, 0]
    // sums [0.25, −0.5, −0.125, 0.875, −1.25] → signs + − − + −
    // agreeing means: [0.5 (A), −0.5 (C), −0.375 (C), (0.625+0.25)/2, (−0.75−0.5)/2] = [0.5, −0.5, −0.375, 0.4375, −0.625]
    const m1 = mergeAdapters({ adapters: [A, B, C], method: "ties", density: 0.6 });
    expect(flatL(m1.adapter)).toEqual([1.5, 0.5, 0.625, 1.4375, 0.375]);
    const m2 = mergeAdapters({ adapters: [A, B, C], method: "ties", density: 0.6, lambda: 0.5 });
    expect(flatL(m2.adapter)).toEqual([1.25, 0.75, 0.8125, 1.21875, 0.6875]);
  });

  it("the default density 0.2 keeps one entry per adapter", () => {
    // A: −0.75 at 4; B: 0.625 at 3; C: −0.5 at 1 — no overlaps, each kept entry is its own mean
    const m = mergeAdapters({ adapters: [A, B, C], method: "ties" });
    expect(flatL(m.adapter)).toEqual([1, 0.5, 1, 1.625, 0.25]);
  });
});

describe("DARE: drop with p = 1 − density, rescale by 1/(1 − p), sum", () => {
  it("a table of draws: adapter after adapter, k before wo; u < p drops", () => {
    // density 0.5 → p = 0.5, kept entries ×2
    // A draws [0.1, 0.7, 0.5, 0.9, 0.3] → drop, keep, keep (0.5 is not < 0.5), keep, drop → [0, −0.25, 0.5, 0, 0]
    // B draws [0.6, 0.2, 0.8, 0.4, 0.99] → keep, drop, keep, drop, keep → [−0.5, 0, 0.25, 0, −1]
    // Σ = [−0.5, −0.25, 0.75, 0, −1]
    const table = [0.1, 0.7, 0.5, 0.9, 0.3, 0.6, 0.2, 0.8, 0.4, 0.99];
    const m1 = mergeAdapters({ adapters: [A, B], method: "dare", density: 0.5, rand: draws(table) });
    expect(flatL(m1.adapter)).toEqual([0.5, 0.75, 1.75, 1, 0]);
    const m2 = mergeAdapters({ adapters: [A, B], method: "dare", density: 0.5, lambda: 0.5, rand: draws(table) });
    expect(flatL(m2.adapter)).toEqual([0.75, 0.875, 1.375, 1, 0.5]);
  });

  it("density 0.25: kept entries ×4", () => {
    const tau = Float64Array.of(0.5, -0.125, 0.25);
    expect(Array.from(dropAndRescale(tau, 0.25, draws([0.8, 0.75, 0.74])))).toEqual([2, -0.5, 0]);
  });

  it("density 1 drops nothing and equals task arithmetic", () => {
    const dare = mergeAdapters({ adapters: [A, B, C], method: "dare", density: 1, rand: mulberry32(3) });
    const ta = mergeAdapters({ adapters: [A, B, C], method: "task-arithmetic" });
    expect(flatL(dare.adapter)).toEqual(flatL(ta.adapter));
  });
});

const oneLine = tfewMessageOfSync;

describe("flags: out of range or for another method, one line each", () => {
  it.each([
    ["average", { lambda: 1 }, "merge: --lambda is for --method task-arithmetic or ties or dare; --method average"],
    ["fisher", { density: 0.5 }, "merge: --density is for --method ties or dare; --method fisher does not use it"],
    ["task-arithmetic", { density: 0.5 }, "merge: --density is for --method ties or dare; --method task-arithmetic"],
    ["ties", { seed: 1 }, "merge: --seed is for --method dare; --method ties does not use it (drop --seed)"],
    ["ties", { lambda: 0 }, "merge: --lambda 0 is out of range; λ scales the merged task vector"],
    ["dare", { lambda: -1 }, "merge: --lambda -1 is out of range"],
    ["dare", { lambda: NaN }, "merge: --lambda NaN is out of range"],
    ["ties", { density: 0 }, "merge: --density 0 is out of range; it is the fraction of each task vector kept"],
    ["dare", { density: 1.5 }, "merge: --density 1.5 is out of range; it is the fraction of each task vector kept"],
    ["dare", { seed: 1.5 }, "merge: --seed 1.5 must be a whole number from 0 to 4294967295"],
  ] as const)("%s with %j", (method, flags, start) => {
    expect(oneLine(() => checkTaskVectorFlags(method, flags))).toContain(start);
  });

  it("--weight with a task-vector method", () => {
    expect(oneLine(() => mergeAdapters({ adapters: [A, B], method: "ties", weights: [1, 2] }))).toBe(
      "merge: --weight is for --method weighted or fisher; --method ties scales the summed task vectors by --lambda",
    );
  });

  it("the range limits themselves are accepted", () => {
    expect(() => checkTaskVectorFlags("dare", { lambda: 1e-3, density: 1, seed: 0 })).not.toThrow();
  });
});

describe("merge folders: merge.json records method and parameters; DARE is seeded", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "tfew-taskvec-"));
    await writeAdapterFiles(join(root, "a"), A);
    await writeAdapterFiles(join(root, "b"), B);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));
  const dirs = () => [join(root, "a"), join(root, "b")];
  const record = async (out: string) => JSON.parse(await readFile(join(out, "merge.json"), "utf8")) as object;

  it("ties", async () => {
    const out = join(root, "ties");
    const s = await mergeAdapterFolders({
      adapterDirs: dirs(),
      method: "ties",
      lambda: 0.5,
      density: 0.6,
      outDir: out,
    });
    expect(s.methodParameters).toEqual({ lambda: 0.5, density: 0.6 });
    expect(await record(out)).toMatchObject({ method: "ties", lambda: 0.5, density: 0.6 });
    expect(await record(out)).not.toHaveProperty("seed");
  });

  it("dare: defaults recorded; the same seed gives the same vectors, the draws are mulberry32(seed)", async () => {
    const run = async (name: string, seed?: number) => {
      const out = join(root, name);
      await mergeAdapterFolders({ adapterDirs: dirs(), method: "dare", density: 0.5, seed, outDir: out });
      return { out, l: flatL(await readAdapter(out)) };
    };
    const [x, y, z, d] = [await run("d7", 7), await run("d7b", 7), await run("d8", 8), await run("dd")];
    expect(y.l).toEqual(x.l);
    expect(z.l).not.toEqual(x.l);
    expect(await record(x.out)).toMatchObject({ method: "dare", lambda: 1, density: 0.5, drop_rate: 0.5, seed: 7 });
    expect(await record(d.out)).toMatchObject({ seed: 42 });
    const direct = mergeAdapters({ adapters: [A, B], method: "dare", density: 0.5, rand: mulberry32(7) });
    expect(x.l).toEqual(flatL(direct.adapter));
  });
});
