// The model Fisher's cheap exact form (per-choice score gradients, Σ_c p_c (g_c − ḡ)²) equals the definition
// Σ_c p_c (∇ log p(c|x))² taken through the all-choices log-softmax (the empirical path with label c), and
// the block arithmetic: F = (1/N) Σ blocks in order.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import "@tensorflow/tfjs-backend-wasm";
import { createVectorSet } from "../adapters/ia3.js";
import { IA3_DEFAULTS } from "../adapters/ia3-config.js";
import { selectBackend } from "../backend/select.js";
import { readSafetensors } from "../io/safetensors.js";
import { loadT5 } from "../model/load.js";
import { softmaxOfNegated } from "./choice-probabilities.js";
import { combineFisherBlocks, exampleFisher } from "./fisher.js";
import { rankBatch } from "./rank.js";

const GOLD = join(import.meta.dirname, "..", "..", "tests", "fixtures", "hf-reference", "t5-tiny-gated");

describe("model Fisher", () => {
  it("Σ_c p_c (g_c − ḡ)² equals Σ_c p_c (∇ log p(c|x))² through the log-softmax (≤ 1e-5 relative)", async () => {
    const backend = await selectBackend("wasm");
    const model = await loadT5(GOLD, backend);
    const { tensors } = await readSafetensors(join(GOLD, "ia3.safetensors"));
    const initial = new Map<string, Float32Array>();
    for (const [name, t] of tensors)
      if (name.endsWith(".ia3_l"))
        initial.set(name.slice("base_model.model.".length, -".ia3_l".length), t.data as Float32Array);
    const set = createVectorSet("gold", model.weights, IA3_DEFAULTS.t5, initial);
    const example = {
      inputIds: [4892, 17, 1433, 10, 621, 8, 166, 8759, 58, 1],
      choices: [
        [59, 3, 20458, 1],
        [3, 20458, 18, 3897, 1],
        [3986, 19672, 1],
      ],
      label: 1,
    };
    const fast = await exampleFisher(model, set, example, { kind: "model", lengthNorm: 1 });
    const p = softmaxOfNegated(
      Array.from((await rankBatch(model, set, [example], { lengthNorm: 1, choiceChunk: 8 })).scores[0] as Float32Array),
    );
    const byChoice: Map<string, Float64Array>[] = [];
    for (let c = 0; c < example.choices.length; c++)
      byChoice.push(await exampleFisher(model, set, { ...example, label: c }, { kind: "empirical", lengthNorm: 1 }));
    let diff = 0;
    let scale = 0;
    for (const [path, f] of fast) {
      f.forEach((x, j) => {
        const want = byChoice.reduce(
          (s, m, c) => s + (p[c] as number) * ((m.get(path) as Float64Array)[j] as number),
          0,
        );
        diff = Math.max(diff, Math.abs(x - want));
        scale = Math.max(scale, Math.abs(want));
      });
    }
    expect(scale).toBeGreaterThan(0);
    expect(diff / scale).toBeLessThanOrEqual(1e-5);
  }, 60_000);
});

describe("block arithmetic", () => {
  it("adds the blocks in order and divides by the example count", () => {
    const blocks = [new Map([["k", Float64Array.of(1, 2)]]), new Map([["k", Float64Array.of(3, 6)]])];
    expect(Array.from(combineFisherBlocks(blocks, 4).get("k") as Float32Array)).toEqual([1, 2]);
    const [p0, p1] = softmaxOfNegated([0, Math.log(3)]);
    expect(p0).toBeCloseTo(0.75, 12);
    expect(p1).toBeCloseTo(0.25, 12);
  });
});
