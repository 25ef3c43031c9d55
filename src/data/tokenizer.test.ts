// Gold test: the 30 cases of tests/fixtures/hf-reference/tokenizer_cases.json (transformers 4.30.2 slow
// T5Tokenizer) id for id, decoded and decoded_no_cleanup; plus truncation and the missing-file error.
import { mkdtempSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_DIR, SHARED_TOKENIZER_DIR, hasSharedTokenizer, skipNote } from "../../tests/helpers/shared.js";
import { isTfewError } from "../errors.js";
import { loadTokenizer, type T5Tokenizer } from "./tokenizer.js";

interface GoldCase {
  index: number;
  category: string;
  text: string;
  ids: number[];
  decoded: string;
  decoded_no_cleanup: string;
}

if (!hasSharedTokenizer) console.log(skipNote("models/t5-tokenizer/tokenizer.json"));

describe.skipIf(!hasSharedTokenizer)("T5 tokenizer vs transformers 4.30.2 T5Tokenizer (gold)", () => {
  let tok: T5Tokenizer;
  let cases: GoldCase[];
  beforeAll(async () => {
    tok = await loadTokenizer(SHARED_TOKENIZER_DIR);
    const gold = JSON.parse(await readFile(join(FIXTURE_DIR, "tokenizer_cases.json"), "utf8")) as { cases: GoldCase[] };
    cases = gold.cases;
  });

  it("has the T5 special ids and vocabulary size", () => {
    expect(tok.padId).toBe(0);
    expect(tok.eosId).toBe(1);
    expect(tok.vocabSize).toBe(32100);
    expect(cases).toHaveLength(30);
  });

  it("encodes all 30 gold cases id for id (with the final </s>)", () => {
    const failed = cases.filter((c) => JSON.stringify(tok.encode(c.text)) !== JSON.stringify(c.ids)).map((c) => c.index);
    expect(failed).toEqual([]);
    for (const c of cases) expect(tok.encode(c.text, { addEos: false })).toEqual(c.ids.slice(0, -1));
  });

  it("decodes all 30 gold cases (skip special tokens, with and without clean-up)", () => {
    for (const c of cases) {
      expect(tok.decode(c.ids), `case ${c.index}`).toBe(c.decoded);
      expect(tok.decode(c.ids, { cleanUp: false }), `case ${c.index}`).toBe(c.decoded_no_cleanup);
    }
  });

  it("keeps special tokens when asked, like T5Tokenizer.convert_tokens_to_string", () => {
    expect(tok.decode([8774, 296, 1], { skipSpecialTokens: false })).toBe("Hello world</s>");
    expect(tok.decode([])).toBe("");
    expect(() => tok.decode([40000])).toThrow(/outside the tokenizer vocabulary/);
  });

  it("normalizes like SentencePiece: NFKC-style charsmap, whitespace runs, tabs and newlines", () => {
    expect(tok.encode("Hello\tworld\nagain")).toEqual([8774, 296, 541, 1]);
    expect(tok.encode("  Hello \u00a0  world  ")).toEqual(tok.encode("Hello world"));
    expect(tok.encode("")).toEqual([1]);
    expect(tok.encode(" \n\t ")).toEqual([1]);
  });

  it("truncates to a token budget at a word boundary, keeping a prefix of the original text", () => {
    const text = "The quick brown fox jumps over the lazy dog. ".repeat(20).trim();
    for (const budget of [0, 1, 5, 12, 37, 100]) {
      const cut = tok.truncate(text, budget);
      expect(text.startsWith(cut)).toBe(true);
      const n = tok.encode(cut, { addEos: false }).length;
      expect(n).toBeLessThanOrEqual(budget);
      expect(n).toBeGreaterThanOrEqual(budget - 3); // a word here is at most 3 tokens
    }
    expect(tok.truncate("short", 10)).toBe("short");
    const oneWord = "x".repeat(400); // a single word longer than the budget is cut inside the word
    const cut = tok.truncate(oneWord, 7);
    expect(cut.length).toBeGreaterThan(0);
    expect(tok.encode(cut, { addEos: false }).length).toBeLessThanOrEqual(7);
  });
});

describe("loadTokenizer errors", () => {
  it("names the folder and says how to get a tokenizer.json", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tfew-tok-"));
    const error: unknown = await loadTokenizer(dir).catch((e: unknown) => e);
    expect(isTfewError(error)).toBe(true);
    expect(String(error)).toContain(dir);
    expect(String(error)).toMatch(/spiece\.model.*tokenizer\.json/);
    expect(String(error)).not.toContain("\n");
  });
});
