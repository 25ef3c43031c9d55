// `tfew generate` in-process: on the gold model (shared T5 tokenizer) its JSONL equals transformers' generate
// (greedy and beam, with and without the PEFT adapter); on the demo model every strategy writes its fields, the
// config's generate: section applies and flags override it; bad input is one line and writes nothing.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_MODEL_DIR, makeTempDir, removeTempDir, runTfew, runTfewOk } from "./helpers/tfew-cli.js";
import { GOLD_MODEL_DIR, SHARED_TOKENIZER_DIR, hasSharedTokenizer, skipNote } from "./helpers/shared.js";

interface Line {
  source: string;
  id?: number;
  generation: string;
  ids: number[];
  logprob: number;
  candidates?: { text: string; ids: number[]; score: number; logprob: number }[];
}
interface GoldCase {
  source: string;
  adapter: boolean;
  greedy: { ids: number[] };
  beam: { sequences: number[][]; sequences_scores: number[] };
}
const gold = JSON.parse(readFileSync(join(GOLD_MODEL_DIR, "generate.json"), "utf8")) as { cases: GoldCase[] };
const trim = (row: number[]) => (row.includes(1) ? row.slice(1, row.indexOf(1, 1) + 1) : row.slice(1));

const writeJsonl = (file: string, rows: readonly object[]) =>
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
const readLines = (file: string) =>
  readFileSync(file, "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as Line);

let dir: string;
beforeAll(() => {
  dir = makeTempDir("tfew-generate-");
});
afterAll(() => removeTempDir(dir));

if (!hasSharedTokenizer) console.log(skipNote("models/t5-tokenizer/tokenizer.json"));

describe.skipIf(!hasSharedTokenizer)("tfew generate on the gold model = transformers", () => {
  const gold8 = (adapter: boolean) => gold.cases.filter((c) => c.adapter === adapter);
  const base = ["--model", GOLD_MODEL_DIR, "--tokenizer", SHARED_TOKENIZER_DIR, "--backend", "wasm"];

  it.each([false, true])("greedy and beam-4 (adapter %s)", async (withAdapter) => {
    const input = join(dir, `gold-${withAdapter}.jsonl`);
    writeJsonl(
      input,
      gold8(withAdapter).map((c, id) => ({ id, source: c.source })),
    );
    const adapter = withAdapter ? ["--adapter", join(GOLD_MODEL_DIR, "adapter")] : [];
    const greedyOut = join(dir, `greedy-${withAdapter}.jsonl`);
    const r = await runTfewOk([
      "generate",
      ...base,
      ...adapter,
      "--input",
      input,
      "--output",
      greedyOut,
      "--max-new-tokens",
      "12",
    ]);
    expect(r.stderr).toMatch(/generate: 8 inputs, \d+ tokens in [\d.]+ s: [\d.]+ tokens\/s, [\d.]+ ms\/token/);
    const greedy = readLines(greedyOut);
    expect(greedy.map((l) => l.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]); // other fields kept, input order
    expect(greedy.map((l) => l.ids)).toEqual(gold8(withAdapter).map((c) => trim(c.greedy.ids)));
    const beamOut = join(dir, `beam-${withAdapter}.jsonl`);
    const beamArgs = [
      "--strategy",
      "beam",
      "--num-beams",
      "4",
      "--num-return-sequences",
      "4",
      "--early-stopping",
      "true",
    ];
    await runTfewOk([
      "generate",
      ...base,
      ...adapter,
      "--input",
      input,
      "--output",
      beamOut,
      "--max-new-tokens",
      "12",
      ...beamArgs,
    ]);
    readLines(beamOut).forEach((line, i) => {
      const c = gold8(withAdapter)[i] as GoldCase;
      expect(line.candidates?.map((x) => x.ids)).toEqual(c.beam.sequences.map(trim));
      line.candidates?.forEach((x, j) =>
        expect(Math.abs(x.score - (c.beam.sequences_scores[j] as number))).toBeLessThan(1e-4),
      );
      expect(line.ids).toEqual(line.candidates?.[0]?.ids);
    });
  });
});

describe("tfew generate on the demo model", () => {
  const input = () => {
    const file = join(dir, "demo.jsonl");
    writeJsonl(file, [{ source: "my printer is broken" }, { source: "refund please", ticket: 7 }]);
    return file;
  };

  it("mbr (samples, chrF): candidates ranked by expected utility; the same seed, the same file", async () => {
    const a = join(dir, "mbr-a.jsonl");
    const b = join(dir, "mbr-b.jsonl");
    const args = ["--strategy", "mbr", "--mbr-candidates", "4", "--max-new-tokens", "6", "--seed", "3"];
    await runTfewOk(["generate", "--model", DEMO_MODEL_DIR, "--input", input(), "--output", a, ...args]);
    await runTfewOk(["generate", "--model", DEMO_MODEL_DIR, "--input", input(), "--output", b, ...args]);
    expect(readFileSync(b, "utf8")).toBe(readFileSync(a, "utf8"));
    const lines = readLines(a);
    expect(lines[1]).toMatchObject({ source: "refund please", ticket: 7 });
    for (const line of lines) {
      expect(line.candidates).toHaveLength(4);
      const scores = line.candidates?.map((c) => c.score) ?? [];
      expect([...scores].sort((x, y) => y - x)).toEqual(scores);
      expect(line.generation).toBe(line.candidates?.[0]?.text);
      expect(line.ids.length).toBeLessThanOrEqual(6);
    }
  });

  it("takes the config's generate: section; a flag overrides it", async () => {
    const config = join(dir, "gen.yaml");
    writeFileSync(
      config,
      "generate:\n  strategy: beam\n  num_beams: 3\n  num_return_sequences: 2\n  max_new_tokens: 2\n",
    );
    const out = join(dir, "cfg.jsonl");
    await runTfewOk(["generate", "--model", DEMO_MODEL_DIR, "--config", config, "--input", input(), "--output", out]);
    for (const line of readLines(out)) {
      expect(line.candidates).toHaveLength(2);
      expect(line.ids.length).toBeLessThanOrEqual(2);
    }
    const flagged = join(dir, "cfg-flag.jsonl");
    const args = ["--config", config, "--max-new-tokens", "5", "--min-new-tokens", "5"];
    await runTfewOk(["generate", "--model", DEMO_MODEL_DIR, ...args, "--input", input(), "--output", flagged]);
    for (const line of readLines(flagged)) expect(line.ids).toHaveLength(5);
  });

  it("bad input: one line, non-zero exit, nothing written or replaced", async () => {
    const bad = join(dir, "bad.jsonl");
    writeFileSync(bad, '{"source": "ok"}\n{"text": "no source"}\n');
    const out = join(dir, "never.jsonl");
    const r = await runTfew(["generate", "--model", DEMO_MODEL_DIR, "--input", bad, "--output", out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe(`tfew: error: generate: line 2 of ${bad} needs a string field "source"`);
    expect(existsSync(out)).toBe(false);
    const beams = await runTfew([
      "generate",
      "--model",
      DEMO_MODEL_DIR,
      "--input",
      input(),
      "--output",
      out,
      "--strategy",
      "beam",
      "--num-beams",
      "2",
      "--num-return-sequences",
      "3",
    ]);
    expect(beams.stderr).toMatch(/generate.num_return_sequences \(3\) must be <= generate.num_beams \(2\)/);
    const top = await runTfew([
      "generate",
      "--model",
      DEMO_MODEL_DIR,
      "--input",
      input(),
      "--output",
      out,
      "--top-p",
      "2",
    ]);
    expect(top.stderr).toMatch(/generate.top_p in --top-p must be a number in \(0, 1\]/);
    writeFileSync(out, "mine\n");
    const kept = await runTfew(["generate", "--model", DEMO_MODEL_DIR, "--input", input(), "--output", out]);
    expect(kept.stderr).toMatch(/already exists; give --overwrite/);
    expect(readFileSync(out, "utf8")).toBe("mine\n");
  });
});
