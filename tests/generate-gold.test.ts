// Gold test of generation: tfew's incremental decoding against transformers 4.57 `generate` on the tiny gated T5
// (fixtures/hf-reference/t5-tiny-gated/generate.json), with and without its PEFT (IA)³ adapter, on wasm and cpu.
// Pass: greedy and penalty ids identical; beam sequences identical, sequences_scores within 1e-4; batched =
// one-by-one; the EOS probes (a custom eos_token_id) stop, pad and finish beams where transformers does.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "@tensorflow/tfjs-backend-wasm";
import { createVectorSet, disposeVectorSet, type Ia3VectorSet } from "../src/adapters/ia3.js";
import { readAdapter } from "../src/adapters/peft-adapter.js";
import { tf } from "../src/backend/tf.js";
import { generate, type GenerateSettings } from "../src/generate/generate.js";
import { HF_DEFAULTS } from "./helpers/generate-defaults.js";
import type { T5Model } from "../src/model/t5.js";
import { loadGoldModel } from "./helpers/gold-model.js";
import { GOLD_MODEL_DIR } from "./helpers/shared.js";

interface GoldCase {
  input_ids: number[];
  adapter: boolean;
  greedy: { ids: number[] };
  beam: { sequences: number[][]; sequences_scores: number[] };
  greedy_penalties: { ids: number[] };
}
interface ProbeCase {
  source_index: number;
  greedy: { ids: number[] };
  beam: { sequences: number[][]; sequences_scores: number[] };
}
interface Gold {
  cases: GoldCase[];
  batched_greedy: { adapter: boolean; sequences: number[][] }[];
  eos_probes: { eos_token_id: number; cases: ProbeCase[]; batched_greedy: number[][] }[];
}

const gold = JSON.parse(readFileSync(join(GOLD_MODEL_DIR, "generate.json"), "utf8")) as Gold;

const BEAM: Partial<GenerateSettings> = { strategy: "beam", numBeams: 4, earlyStopping: true, numReturnSequences: 4 };

/** transformers' row → tfew's ids: drop the start token 0, cut after the first eos (rows are padded after it). */
function trim(row: readonly number[], eos: number): number[] {
  const ids = row.slice(1);
  const end = ids.indexOf(eos);
  return end < 0 ? ids : ids.slice(0, end + 1);
}

describe.each(["wasm", "cpu"])("generate vs transformers on %s", (backend) => {
  // the cpu backend is ~10× slower on the 32128-wide LM head: there a quarter of the cases and one probe
  const cases = backend === "cpu" ? gold.cases.filter((_, i) => i % 4 === 0) : gold.cases;
  const probes = backend === "cpu" ? gold.eos_probes.slice(0, 1) : gold.eos_probes;
  let model: T5Model;
  let adapter: Ia3VectorSet;
  const run = (prompts: number[][], withAdapter: boolean, settings: Partial<GenerateSettings>) =>
    generate(model, withAdapter ? adapter : null, prompts, { ...HF_DEFAULTS, ...settings });

  beforeAll(async () => {
    await tf.setBackend(backend);
    model = await loadGoldModel({ keepUntransposed: false });
    const peft = await readAdapter(join(GOLD_MODEL_DIR, "adapter"));
    adapter = createVectorSet("gold", model.weights, peft.config, peft.values);
  });
  afterAll(() => disposeVectorSet(adapter));

  it("greedy and greedy with repetition_penalty 1.3, no_repeat_ngram_size 2: identical ids", async () => {
    for (const c of cases) {
      const greedy = await run([c.input_ids], c.adapter, {});
      expect(greedy.generations[0]?.candidates[0]?.ids).toEqual(trim(c.greedy.ids, 1));
      const penalties = await run([c.input_ids], c.adapter, { repetitionPenalty: 1.3, noRepeatNgramSize: 2 });
      expect(penalties.generations[0]?.candidates[0]?.ids).toEqual(trim(c.greedy_penalties.ids, 1));
    }
  });

  it("beam search (4 beams, 4 returned): identical sequences, sequences_scores within 1e-4", async () => {
    let worst = 0;
    for (const c of cases) {
      const { generations } = await run([c.input_ids], c.adapter, BEAM);
      const candidates = generations[0]?.candidates ?? [];
      expect(candidates.map((h) => h.ids)).toEqual(c.beam.sequences.map((row) => trim(row, 1)));
      candidates.forEach((h, i) => (worst = Math.max(worst, Math.abs(h.score - (c.beam.sequences_scores[i] ?? 0)))));
    }
    console.log(`[${backend}] beam sequences_scores max |Δ| ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-4);
  });

  it("batched (right-padded) greedy equals transformers' batch and one-by-one, without leaking tensors", async () => {
    for (const b of gold.batched_greedy) {
      const prompts = gold.cases.filter((c) => c.adapter === b.adapter).map((c) => c.input_ids);
      const before = tf.memory().numTensors;
      const { generations } = await run(prompts, b.adapter, { batchSize: 8 });
      expect(tf.memory().numTensors).toBe(before);
      expect(generations.map((g) => g.candidates[0]?.ids)).toEqual(b.sequences.map((row) => trim(row, 1)));
    }
  });

  it("EOS probes: greedy stops, batched rows finish, beams finish early as transformers'", async () => {
    const base = gold.cases.filter((c) => !c.adapter);
    for (const probe of probes) {
      const eosId = probe.eos_token_id;
      const prompts = base.map((c) => c.input_ids);
      const batched = await run(prompts, false, { eosId, batchSize: 8 });
      expect(batched.generations.map((g) => g.candidates[0]?.ids)).toEqual(
        probe.batched_greedy.map((row) => trim(row, eosId)),
      );
      for (const c of backend === "cpu" ? probe.cases.slice(0, 1) : probe.cases) {
        const prompt = [(base[c.source_index] as GoldCase).input_ids];
        const greedy = await run(prompt, false, { eosId });
        expect(greedy.generations[0]?.candidates[0]?.ids).toEqual(trim(c.greedy.ids, eosId));
        const beam = await run(prompt, false, { ...BEAM, eosId });
        const candidates = beam.generations[0]?.candidates ?? [];
        expect(candidates.map((h) => h.ids)).toEqual(c.beam.sequences.map((row) => trim(row, eosId)));
        candidates.forEach((h, i) => expect(Math.abs(h.score - (c.beam.sequences_scores[i] ?? 0))).toBeLessThan(1e-4));
      }
    }
  });
});
