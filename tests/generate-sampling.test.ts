// Generation behaviour on the gold model beyond the transformers fixture: seeded sampling is reproducible and
// independent of batching, top-k 1 / tiny top-p sampling is greedy, min_new_tokens holds </s> back, logprob is the
// model's own Σ log p of the ids (as rank scoring gives it), MBR picks from its candidates; no tensor leaks.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import "@tensorflow/tfjs-backend-wasm";
import { tf } from "../src/backend/tf.js";
import { rankBatch } from "../src/engine/rank.js";
import { generate, type GenerateSettings } from "../src/generate/generate.js";
import type { T5Model } from "../src/model/t5.js";
import { HF_DEFAULTS } from "./helpers/generate-defaults.js";
import { loadGoldModel } from "./helpers/gold-model.js";
import { GOLD_MODEL_DIR } from "./helpers/shared.js";

const gold = JSON.parse(readFileSync(join(GOLD_MODEL_DIR, "generate.json"), "utf8")) as {
  cases: { input_ids: number[]; adapter: boolean; greedy: { ids: number[] } }[];
};
const prompts = gold.cases.filter((c) => !c.adapter).map((c) => c.input_ids);

describe("generate on the gold model (wasm)", () => {
  let model: T5Model;
  const run = (ps: number[][], settings: Partial<GenerateSettings>) =>
    generate(model, null, ps, { ...HF_DEFAULTS, ...settings });
  const ids = (r: Awaited<ReturnType<typeof run>>) => r.generations.map((g) => g.candidates.map((c) => c.ids));

  beforeAll(async () => {
    await tf.setBackend("wasm");
    model = await loadGoldModel({ keepUntransposed: false });
  });

  it("sampling: same seed → same ids, batched = one by one, another seed → other ids", async () => {
    const settings = { strategy: "sample" as const, numReturnSequences: 3, topK: 0, temperature: 1.5 };
    const before = tf.memory().numTensors;
    const a = await run(prompts.slice(0, 4), { ...settings, batchSize: 4 });
    expect(tf.memory().numTensors).toBe(before);
    const b = await run(prompts.slice(0, 4), { ...settings, batchSize: 1 });
    expect(ids(b)).toEqual(ids(a));
    const c = await run(prompts.slice(0, 4), { ...settings, batchSize: 4, seed: 7 });
    expect(ids(c)).not.toEqual(ids(a));
    expect(new Set(ids(a)[0]?.map((x) => x.join())).size).toBeGreaterThan(1); // three different samples
  });

  it("top_k 1 and top_p 0.001 sampling give the greedy ids", async () => {
    const greedy = gold.cases.filter((c) => !c.adapter).map((c) => [c.greedy.ids.slice(1)]);
    expect(ids(await run(prompts, { strategy: "sample", topK: 1, temperature: 0.7 }))).toEqual(greedy);
    expect(ids(await run(prompts, { strategy: "sample", topK: 0, topP: 0.001 }))).toEqual(greedy);
  });

  it("min_new_tokens keeps </s> out until that many tokens were generated", async () => {
    const eosId = 10330; // the probe token: source 0 greedily ends [3986, 10330]
    const stops = await run([prompts[0] as number[]], { eosId });
    expect(ids(stops)[0]?.[0]).toEqual([3986, 10330]);
    const held = ids(await run([prompts[0] as number[]], { eosId, minNewTokens: 3 }))[0]?.[0] ?? [];
    expect(held.slice(0, 2).includes(eosId)).toBe(false);
    expect(held.length).toBeGreaterThanOrEqual(3);
  });

  it("logprob is the model's Σ log p of the ids (rank scoring of the same ids, within 1e-4)", async () => {
    const r = await run(prompts.slice(0, 3), { strategy: "beam", numBeams: 3, numReturnSequences: 2 });
    const hyps = r.generations.flatMap((g, i) => g.candidates.map((c) => ({ prompt: prompts[i] as number[], c })));
    const scored = await rankBatch(
      model,
      null,
      hyps.map((h) => ({ inputIds: h.prompt, choices: [h.c.ids] })),
      { lengthNorm: 0, choiceChunk: 1 },
    );
    hyps.forEach((h, i) => {
      const ranked = -(scored.nllSums[i]?.[0] as number);
      const where = `candidate ${i}: generate ${h.c.logprob}, rank ${ranked} (${tf.getBackend()}, ${model.attention})`;
      expect(Math.abs(h.c.logprob - ranked), where).toBeLessThan(1e-4);
    });
  });

  it("MBR returns its candidates ordered by expected utility, the winner first", async () => {
    const r = await run(prompts.slice(0, 2), {
      strategy: "mbr",
      mbrCandidates: 4,
      mbrCandidatesFrom: "sample",
      mbrUtility: "chrf",
    });
    for (const g of r.generations) {
      expect(g.candidates).toHaveLength(4);
      const u = g.candidates.map((c) => c.utility as number);
      expect([...u].sort((x, y) => y - x)).toEqual(u);
    }
  });
});
