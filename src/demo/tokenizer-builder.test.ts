// The demo tokenizer builder: piece counts and scores by hand, T5's tokenizer.json structure, and encode/decode
// round trips through @huggingface/tokenizers directly and through src/data/tokenizer.ts loadTokenizer.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { beforeAll, describe, expect, it } from "vitest";
import { SHARED_TOKENIZER_DIR, hasSharedTokenizer } from "../../tests/helpers/shared.js";
import { loadTokenizer, type T5Tokenizer } from "../data/tokenizer.js";
import { demoCorpus } from "./demo-task.js";
import { demoTask } from "./make-demo.js";
import {
  META_SPACE,
  buildUnigramTokenizer,
  countPieces,
  pieceScores,
  type UnigramTokenizerJson,
} from "./tokenizer-builder.js";

const SENTENCES = [
  "I was charged twice for the Pro plan this month.",
  "Hi! The mobile app crashes every time I open reports.",
  "Could you let us share notes with the whole team?",
  "Which team should handle this customer support ticket? Possible labels: billing, bug report, feature request",
];

describe("countPieces / pieceScores", () => {
  it("counts whole words with ▁ and punctuation at word ends, and scores log(count / total) in float32", () => {
    const counts = countPieces(["Hi, the app. The app!", "(see) x-ray"]);
    expect(Object.fromEntries(counts)).toEqual({
      "▁Hi": 1,
      ",": 1,
      "▁the": 1,
      "▁app": 2,
      ".": 1,
      "▁The": 1,
      "!": 1,
      "▁": 1,
      "(": 1,
      ")": 1,
      "▁x-ray": 1,
    });
    const scores = pieceScores(counts);
    expect(scores.get("▁app")).toBe(Math.fround(Math.log(2 / 12)));
    expect(scores.get("(")).toBe(Math.fround(Math.log(1 / 12)));
    // letters are only ever spelled out, so they sit 10 below the rarest counted piece
    expect(scores.get("s")).toBe(Math.fround(Math.log(1 / 12) - 10));
    expect(scores.size).toBe(counts.size + 94 - 5); // + printable ASCII not already counted (, . ! ( ))
  });
});

describe("buildUnigramTokenizer on the demo corpus", () => {
  let json: UnigramTokenizerJson;
  let lib: Tokenizer;
  let tok: T5Tokenizer;
  beforeAll(async () => {
    json = buildUnigramTokenizer({ corpus: demoCorpus(demoTask()) });
    lib = new Tokenizer(json, {});
    const dir = mkdtempSync(join(tmpdir(), "tfew-demo-tok-"));
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(json));
    tok = await loadTokenizer(dir);
  });

  it("has T5's special ids, a small vocabulary sorted by score, and unique pieces", () => {
    const vocab = json.model.vocab;
    expect(vocab.slice(0, 3)).toEqual([
      ["<pad>", 0],
      ["</s>", 0],
      ["<unk>", 0],
    ]);
    expect(json.added_tokens.map((t) => [t.id, t.content, t.special])).toEqual([
      [0, "<pad>", true],
      [1, "</s>", true],
      [2, "<unk>", true],
    ]);
    expect(vocab.length).toBeGreaterThanOrEqual(300);
    expect(vocab.length).toBeLessThanOrEqual(1000);
    expect(new Set(vocab.map(([p]) => p)).size).toBe(vocab.length);
    for (let i = 4; i < vocab.length; i++) expect(vocab[i]?.[1] ?? 0).toBeLessThanOrEqual(vocab[i - 1]?.[1] ?? 0);
    expect(tok.vocabSize).toBe(vocab.length);
    expect([tok.padId, tok.eosId]).toEqual([0, 1]);
  });

  it.skipIf(!hasSharedTokenizer)(
    "has the structure of T5's tokenizer.json (all but the charsmap and the vocabulary)",
    () => {
      const t5 = JSON.parse(
        readFileSync(join(SHARED_TOKENIZER_DIR, "tokenizer.json"), "utf8"),
      ) as UnigramTokenizerJson & {
        normalizer: { normalizers: { precompiled_charsmap?: string }[] };
      };
      const strip = (j: UnigramTokenizerJson) => {
        const normalizers = (j.normalizer as { normalizers: Record<string, unknown>[] }).normalizers.map((n) => ({
          ...n,
          precompiled_charsmap: "-",
        }));
        return {
          ...j,
          added_tokens: j.added_tokens.slice(0, 3),
          normalizer: { ...(j.normalizer as object), normalizers },
          model: { ...j.model, vocab: [] },
        };
      };
      expect(Object.keys(json)).toEqual(Object.keys(t5));
      expect(strip(json)).toEqual(strip(t5));
    },
  );

  it("encodes every demo word as one piece and round-trips demo sentences (both loaders), ending in </s> = 1", () => {
    for (const text of SENTENCES) {
      const ids = tok.encode(text);
      expect(ids.at(-1)).toBe(1);
      expect(ids).not.toContain(2);
      expect(lib.encode(text).ids).toEqual(ids);
      expect(tok.decode(ids)).toBe(text);
      expect(lib.decode(ids, { skip_special_tokens: true })).toBe(text);
    }
    const piece = (p: string) => json.model.vocab.findIndex(([q]) => q === p);
    expect(tok.encode("bug report")).toEqual([piece("▁bug"), piece("▁report"), 1]);
    expect(tok.encode("charged, twice.")).toEqual([piece("▁charged"), piece(","), piece("▁twice"), piece("."), 1]);
  });

  it("spells unknown ASCII words from characters, never <unk>; non-ASCII letters are <unk>", () => {
    const printable = Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i)).join("");
    for (const text of ["Zyxwvut quokka 12345!", printable, 'a "quoted" {x: [1, 2]} ~/path\\to']) {
      const ids = tok.encode(text);
      expect(ids).not.toContain(2);
      expect(tok.decode(ids, { cleanUp: false })).toBe(text);
    }
    expect(tok.encode("zzz", { addEos: false })).toEqual(
      [META_SPACE, "z", "z", "z"].map((p) => json.model.vocab.findIndex(([q]) => q === p)),
    );
    expect(tok.encode("café", { addEos: false }).at(-1)).toBe(2);
  });

  it("treats newlines and tabs as word breaks (the multi-line tickets)", () => {
    expect(tok.encode("Thanks,\nDana")).toEqual(tok.encode("Thanks, Dana"));
    expect(tok.encode("a\tb  c\r\n")).toEqual(tok.encode("a b c"));
    expect(lib.encode("Thanks,\nDana").ids).toEqual(tok.encode("Thanks, Dana"));
  });
});
