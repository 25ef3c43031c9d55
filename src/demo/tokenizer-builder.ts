// Builds a small T5-style Unigram tokenizer.json from a corpus ("▁"-words, ASCII characters, log-probability scores),
// in the JSON structure transformers' convert_slow_tokenizer (SpmConverter / T5Converter) gives T5.
import { applyControlCharsmap, controlCharsmapBase64 } from "./charsmap.js";

export const META_SPACE = "\u2581"; // "▁", SentencePiece's word-boundary marker
export const SPECIAL_TOKENS = ["<pad>", "</s>", "<unk>"] as const; // ids 0, 1, 2 as in T5

/** Printable ASCII (0x21-0x7e): with "▁" these spell any ASCII text, so it never needs <unk>. */
const ASCII_CHARS = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i));
/** How far below the rarest corpus piece the unused pieces score (characters used only to spell unknown words). */
const FLOOR_MARGIN = 10;

export interface UnigramTokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: {
    id: number;
    content: string;
    single_word: boolean;
    lstrip: boolean;
    rstrip: boolean;
    normalized: boolean;
    special: boolean;
  }[];
  normalizer: unknown;
  pre_tokenizer: unknown;
  post_processor: unknown;
  decoder: unknown;
  model: { type: "Unigram"; unk_id: number; vocab: [string, number][]; byte_fallback: boolean };
}

export interface BuildTokenizerOptions {
  /** Texts whose words become pieces (each whitespace-separated word, punctuation at its ends split off). */
  corpus: readonly string[];
}

/**
 * Piece counts of the corpus as this vocabulary segments it: "▁"+word for the core (first to last letter or digit)
 * of each whitespace-separated token, one count per punctuation character at its ends. A token that starts with
 * punctuation counts "▁" instead; its core is then spelled from characters (at their floor score).
 */
export function countPieces(corpus: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (piece: string): void => void counts.set(piece, (counts.get(piece) ?? 0) + 1);
  for (const text of corpus) {
    for (const token of applyControlCharsmap(text).split(/\s+/)) {
      const match = /^([^A-Za-z0-9]*)(.*?)([^A-Za-z0-9]*)$/s.exec(token);
      const [, lead = "", core = "", trail = ""] = match ?? [];
      if (lead === "" && core !== "") add(META_SPACE + core);
      if (lead !== "") add(META_SPACE);
      for (const ch of lead + trail) add(ch);
    }
  }
  return counts;
}

/**
 * Scores: log(count / total) for pieces of the corpus segmentation, and log(1 / total) − FLOOR_MARGIN for the
 * remaining characters. Every corpus word is then one piece: any other spelling of "▁word" ends in a floor-scored
 * character (letters and digits are never counted on their own after "▁"), so it scores below the word itself.
 * Scores are rounded to float32, as SentencePiece stores them.
 */
export function pieceScores(counts: ReadonlyMap<string, number>): Map<string, number> {
  let total = 0;
  for (const c of counts.values()) total += c;
  const floor = Math.log(1 / Math.max(total, 1)) - FLOOR_MARGIN;
  const scores = new Map<string, number>();
  for (const [piece, c] of counts) scores.set(piece, Math.fround(Math.log(c / total)));
  for (const piece of [META_SPACE, ...ASCII_CHARS]) if (!scores.has(piece)) scores.set(piece, Math.fround(floor));
  return scores;
}

/** tokenizer.json's Metaspace pre-tokenizer and decoder (T5: replacement "▁", prepend always, split). */
const METASPACE = { type: "Metaspace", replacement: META_SPACE, prepend_scheme: "always", split: true };

/** Builds a T5-style tokenizer.json; the vocabulary is the specials, then pieces by score (ties by code point). */
export function buildUnigramTokenizer(options: BuildTokenizerOptions): UnigramTokenizerJson {
  const scores = pieceScores(countPieces(options.corpus));
  const pieces = [...scores.entries()].sort(([a, sa], [b, sb]) => sb - sa || (a < b ? -1 : a > b ? 1 : 0));
  const vocab: [string, number][] = [...SPECIAL_TOKENS.map((t): [string, number] => [t, 0]), ...pieces];
  const eos = { Sequence: { id: "A", type_id: 0 } };
  const eosToken = { SpecialToken: { id: "</s>", type_id: 0 } };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Precompiled", precompiled_charsmap: controlCharsmapBase64() },
        { type: "Strip", strip_left: false, strip_right: true },
        { type: "Replace", pattern: { Regex: " {2,}" }, content: META_SPACE },
      ],
    },
    pre_tokenizer: METASPACE,
    post_processor: {
      type: "TemplateProcessing",
      single: [eos, eosToken],
      pair: [eos, eosToken, { Sequence: { id: "B", type_id: 0 } }, eosToken],
      special_tokens: { "</s>": { id: "</s>", ids: [1], tokens: ["</s>"] } },
    },
    decoder: METASPACE,
    model: { type: "Unigram", unk_id: 2, vocab, byte_fallback: false },
  };
}
