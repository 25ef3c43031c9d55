// Integration: `tfew score` (JSONL log-likelihoods) against the gold HF losses of the tiny T5 fixture, and
// `tfew inspect` parameter counts against counts made here from the weight files and from T5's layer shapes.
// Gold: forward.json / ia3.json loss = mean NLL over every label token (HF), so Σ -logprob / Σ tokens = loss.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_MODEL_DIR, ensureBuilt, makeTempDir, removeTempDir, runTfew, runTfewOk } from "./helpers/tfew-cli.js";
import { GOLD_MODEL_DIR, SHARED_TOKENIZER_DIR, hasSharedTokenizer, skipNote } from "./helpers/shared.js";

interface GoldCase {
  input_texts: string[];
  label_texts: string[];
  labels: number[][];
  loss: number;
}
interface ScoreLine {
  logprob: number;
  tokens: number;
}

const readGold = (name: "forward" | "ia3") =>
  JSON.parse(readFileSync(join(GOLD_MODEL_DIR, `${name}.json`), "utf8")) as GoldCase;

function writeJsonl(file: string, rows: readonly object[]): void {
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
}

function readScores(file: string): ScoreLine[] {
  return readFileSync(file, "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as ScoreLine);
}

/** Total parameter count of a T5 (v1.1 layout: untied lm_head when tie_word_embeddings is false), from its shapes. */
function t5ParameterCount(c: {
  d_model: number;
  d_kv: number;
  num_heads: number;
  d_ff: number;
  num_layers: number;
  num_decoder_layers: number;
  vocab_size: number;
  gated: boolean;
  tied: boolean;
  buckets: number;
}): number {
  const inner = c.num_heads * c.d_kv;
  const attention = 4 * c.d_model * inner + c.d_model; // q, k, v, o + its layer norm
  const ffn = (c.gated ? 3 : 2) * c.d_model * c.d_ff + c.d_model; // wi_0, wi_1, wo + its layer norm
  const bias = c.buckets * c.num_heads; // relative attention bias, first layer of each stack
  const encoder = c.num_layers * (attention + ffn) + bias + c.d_model; // + final layer norm
  const decoder = c.num_decoder_layers * (2 * attention + ffn) + bias + c.d_model;
  const embedding = c.vocab_size * c.d_model;
  return embedding + encoder + decoder + (c.tied ? 0 : embedding);
}

/** (IA)³ parameters with T5's default targets k, v (every attention) and wo (input side, every FFN). */
function ia3Count(c: {
  d_kv: number;
  num_heads: number;
  d_ff: number;
  num_layers: number;
  num_decoder_layers: number;
}): number {
  const inner = c.num_heads * c.d_kv;
  return c.num_layers * (2 * inner + c.d_ff) + c.num_decoder_layers * (4 * inner + c.d_ff);
}

/** Element count of every tensor in a safetensors file, read from its JSON header only. */
function safetensorsElements(file: string): number {
  const bytes = readFileSync(file);
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString("utf8")) as Record<string, { shape?: number[] }>;
  return Object.entries(header)
    .filter(([name]) => name !== "__metadata__")
    .reduce((n, [, t]) => n + (t.shape ?? []).reduce((a, b) => a * b, 1), 0);
}

const fmt = (n: number) => n.toLocaleString("en-US");

let tmp: string;
beforeAll(async () => {
  await ensureBuilt();
  tmp = makeTempDir("score-inspect");
});
afterAll(() => removeTempDir(tmp));

if (!hasSharedTokenizer) console.log(skipNote("models/t5-tokenizer/tokenizer.json"));

describe("tfew score", () => {
  it.skipIf(!hasSharedTokenizer)(
    "gold tiny T5: Σ -logprob / Σ tokens equals HF's loss (1e-4 relative), with and without the PEFT adapter, lines in input order",
    async () => {
      const gold = readGold("forward");
      const pairs = gold.input_texts.map((source, i) => ({ source, target: gold.label_texts[i] as string }));
      // The three pairs, then again reversed: line i and line 5-i must agree, so lines keep input order.
      const input = join(tmp, "gold.jsonl");
      writeJsonl(input, [...pairs, ...[...pairs].reverse()]);
      const expectedTokens = gold.labels.map((row) => row.filter((id) => id !== -100).length); // </s> included

      const cases: [string, string[], number][] = [
        ["forward", [], gold.loss],
        ["ia3", ["--adapter", join(GOLD_MODEL_DIR, "adapter")], readGold("ia3").loss],
      ];
      for (const [name, extra, loss] of cases) {
        const output = join(tmp, `gold-${name}.jsonl`);
        const r = await runTfewOk([
          "score",
          "--model",
          GOLD_MODEL_DIR,
          "--tokenizer",
          SHARED_TOKENIZER_DIR,
          "--input",
          input,
          "--output",
          output,
          ...extra,
        ]);
        expect(r.stdout).toContain(`scored 6 pairs → ${output}`);
        const lines = readScores(output);
        expect(lines).toHaveLength(6);
        for (const line of lines) expect(Object.keys(line).sort()).toEqual(["logprob", "tokens"]);
        expect(lines.map((l) => l.tokens)).toEqual([...expectedTokens, ...[...expectedTokens].reverse()]);
        for (let i = 0; i < 3; i++) {
          const a = (lines[i] as ScoreLine).logprob;
          const b = (lines[5 - i] as ScoreLine).logprob;
          expect(Math.abs(a - b) / Math.abs(a), `${name} line ${i + 1} vs ${6 - i}`).toBeLessThan(1e-5);
        }
        const first = lines.slice(0, 3);
        const meanNll = first.reduce((s, l) => s - l.logprob, 0) / first.reduce((s, l) => s + l.tokens, 0);
        expect(Math.abs(meanNll - loss) / loss, `${name}: ${meanNll} vs HF ${loss}`).toBeLessThan(1e-4);
      }
    },
  );

  it("demo model: log-probabilities are ≤ 0, blank lines are skipped, and batching does not change them", async () => {
    const input = join(tmp, "demo.jsonl");
    const rows = [
      { source: "Ticket: my invoice is wrong", target: "billing" },
      { source: "Ticket: the app crashes on start", target: "bug report" },
      { source: "Ticket: please add dark mode", target: "feature request" },
    ];
    writeFileSync(input, `${JSON.stringify(rows[0])}\n\n${JSON.stringify(rows[1])}\n${JSON.stringify(rows[2])}\n`);
    const single = join(tmp, "demo-1.jsonl");
    const batched = join(tmp, "demo-16.jsonl");
    await runTfewOk(["score", "--model", DEMO_MODEL_DIR, "--input", input, "--output", single, "--batch-size", "1"]);
    await runTfewOk(["score", "--model", DEMO_MODEL_DIR, "--input", input, "--output", batched]);
    const a = readScores(single);
    const b = readScores(batched);
    expect(a).toHaveLength(3);
    a.forEach((line, i) => {
      expect(line.logprob).toBeLessThanOrEqual(0);
      expect(Number.isInteger(line.tokens) && line.tokens >= 2).toBe(true); // at least one token + </s>
      expect(line.tokens).toBe((b[i] as ScoreLine).tokens);
      expect(Math.abs(line.logprob - (b[i] as ScoreLine).logprob)).toBeLessThan(
        1e-4 * Math.max(1, Math.abs(line.logprob)),
      );
    });
  });

  it("names the line of a bad input row (one line, exit 1)", async () => {
    const input = join(tmp, "bad.jsonl");
    writeFileSync(input, `{"source": "a", "target": "b"}\n{"source": "a"}\n`);
    const r = await runTfew([
      "score",
      "--model",
      DEMO_MODEL_DIR,
      "--input",
      input,
      "--output",
      join(tmp, "bad-out.jsonl"),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n").at(-1)).toBe(
      `tfew: error: score: line 2 of ${input} needs string fields "source" and "target"`,
    );
  });
});

describe("tfew inspect", () => {
  const configOf = (dir: string) =>
    JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;

  it.each([
    ["demo model", DEMO_MODEL_DIR, true],
    ["gold tiny T5", GOLD_MODEL_DIR, false],
  ])(
    "%s: the parameter total equals the weight file's element count; (IA)³ count from the shapes",
    async (_, dir, hasTokenizer) => {
      const c = configOf(dir) as {
        d_kv: number;
        num_heads: number;
        d_ff: number;
        num_layers: number;
        num_decoder_layers: number;
        d_model: number;
        vocab_size: number;
        feed_forward_proj: string;
        tie_word_embeddings: boolean;
        relative_attention_num_buckets: number;
      };
      const r = await runTfewOk(["inspect", "--model", dir]);
      const total = safetensorsElements(join(dir, "model.safetensors"));
      expect(
        t5ParameterCount({
          ...c,
          gated: c.feed_forward_proj.startsWith("gated-"),
          tied: c.tie_word_embeddings,
          buckets: c.relative_attention_num_buckets,
        }),
      ).toBe(total);
      expect(r.stdout).toContain(
        `d_model ${c.d_model}, d_kv ${c.d_kv}, heads ${c.num_heads}, d_ff ${c.d_ff}, layers ${c.num_layers}+${c.num_decoder_layers}, vocab ${c.vocab_size}`,
      );
      expect(r.stdout).toMatch(new RegExp(`^parameters: ${fmt(total)} \\(`, "m"));
      expect(r.stdout).toMatch(new RegExp(`\\(IA\\)³ .*: \\d+ vectors, ${fmt(ia3Count(c))} parameters`));
      expect(r.stdout).toContain(
        hasTokenizer ? "tokenizer: tokenizer.json with" : "tokenizer: none in the model folder",
      );
    },
  );

  it("a folder with only T0-3B's config.json: 540,672 (IA)³ parameters and the full T5-XL count", async () => {
    const dir = join(tmp, "t0-3b-config-only");
    const config = {
      architectures: ["T5ForConditionalGeneration"],
      d_model: 2048,
      d_kv: 64,
      num_heads: 32,
      d_ff: 5120,
      num_layers: 24,
      num_decoder_layers: 24,
      vocab_size: 32128,
      feed_forward_proj: "gated-gelu",
      tie_word_embeddings: false,
      model_type: "t5",
      relative_attention_num_buckets: 32,
      layer_norm_epsilon: 1e-6,
      decoder_start_token_id: 0,
      eos_token_id: 1,
      pad_token_id: 0,
    };
    mkdirSync(dir);
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    const r = await runTfewOk(["inspect", "--model", dir]);
    expect(ia3Count(config)).toBe(540_672);
    expect(r.stdout).toMatch(
      /\(IA\)³ default targets \["k","v","wo"\] \(feed-forward \["wo"\]\): 192 vectors, 540,672 parameters/,
    );
    const total = t5ParameterCount({ ...config, gated: true, tied: false, buckets: 32 });
    expect(total).toBe(2_849_757_184); // google/t5-xl-lm-adapt, T0-3B's base
    expect(r.stdout).toMatch(new RegExp(`^parameters: ${fmt(total)} \\(`, "m"));
  });
});
