// @huggingface/tokenizers 0.2 set up for T5: its Unigram model and added-token handling, with SentencePiece's exact
// normalizer in place of its NFKC approximation, per-word model calls (as HF's Metaspace split=true) and a word cache.
import * as tokenizers from "@huggingface/tokenizers";
import { SpmNormalizer } from "./spm-normalizer.js";

// The package's .d.ts re-exports do not resolve under NodeNext (its classes type as any), so the parts used are typed here.
export interface LibTokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[]; tokens: string[] };
  get_vocab(withAddedTokens: boolean): Map<string, number>;
  token_to_id(token: string): number | undefined;
  normalizer: object | null;
  pre_tokenizer: LibPreTokenizer | null;
  model: { encode(words: string[]): string[] } | null;
}
/** Library pre-tokenizers are callable objects. */
type LibPreTokenizer = (text: string, options?: unknown) => string[];

const lib = tokenizers as unknown as {
  Tokenizer: new (json: object, config: object) => LibTokenizer;
  Normalizer: new (config: object) => object;
  PreTokenizer: new () => object;
};

/** The subset of tokenizer.json read here. */
export interface TokenizerJson {
  model?: { type?: string };
  normalizer?: NormalizerJson | null;
  added_tokens?: { id: number; content: string; special?: boolean }[];
}
interface NormalizerJson {
  type?: string;
  precompiled_charsmap?: string | null;
  normalizers?: NormalizerJson[];
}

/** Runs SpmNormalizer where the library would run its NFKC approximation of the Precompiled charsmap. */
class SpmNormalizerHook extends lib.Normalizer {
  private readonly spm: SpmNormalizer;
  constructor(spm: SpmNormalizer) {
    super({ type: "Precompiled", precompiled_charsmap: "" });
    this.spm = spm;
  }
  normalize(text: string): string {
    return this.spm.normalize(text).text;
  }
}

/**
 * Splits the pre-tokenized text before every "▁" (HF's Metaspace with split=true; this library keeps one string).
 * No T5 piece has "▁" inside, so the Unigram lattice of the whole text is the concatenation of the per-word lattices
 * and the ids do not change; per-word calls let cacheWords reuse words.
 */
class SplitWordsHook extends lib.PreTokenizer {
  private readonly inner: LibPreTokenizer;
  constructor(inner: LibPreTokenizer) {
    super();
    this.inner = inner;
  }
  pre_tokenize_text(text: string, options?: unknown): string[] {
    return this.inner(text, options).flatMap((part) => part.split(/(?=\u2581)/u).filter((w) => w !== ""));
  }
}

/** Memoizes the model's per-word tokenization (the Viterbi search is most of the encoding time). */
function cacheWords(tokenizer: LibTokenizer): void {
  const model = tokenizer.model;
  if (model === null) return;
  const encodeWords = model.encode.bind(model);
  const cache = new Map<string, string[]>();
  model.encode = (words: string[]): string[] =>
    words.flatMap((word) => {
      let pieces = cache.get(word);
      if (pieces === undefined) {
        pieces = encodeWords([word]);
        if (cache.size >= 500_000) cache.clear(); // bounds memory on huge corpora
        cache.set(word, pieces);
      }
      return pieces;
    });
}

/** The Precompiled step of a tokenizer.json normalizer (alone or inside a Sequence), if any. */
function findPrecompiled(n: NormalizerJson | null | undefined): NormalizerJson | null {
  if (!n) return null;
  if (n.type === "Precompiled") return n;
  for (const inner of n.normalizers ?? []) {
    const found = findPrecompiled(inner);
    if (found) return found;
  }
  return null;
}

/**
 * Builds the library tokenizer for a T5 tokenizer.json. When its normalizer has a Precompiled charsmap, the whole
 * normalizer (charsmap, Strip, Replace " {2,}") is replaced by SpmNormalizer, which is returned for word mapping.
 * tokenizer_config.json is not read: encoding depends on tokenizer.json alone.
 */
export function buildLibTokenizer(json: TokenizerJson): { tokenizer: LibTokenizer; spm: SpmNormalizer | null } {
  const tokenizer = new lib.Tokenizer(json, {});
  let spm: SpmNormalizer | null = null;
  const precompiled = findPrecompiled(json.normalizer);
  if (precompiled !== null) {
    spm = new SpmNormalizer(precompiled.precompiled_charsmap);
    tokenizer.normalizer = new SpmNormalizerHook(spm);
  }
  if (tokenizer.pre_tokenizer !== null) {
    tokenizer.pre_tokenizer = new SplitWordsHook(tokenizer.pre_tokenizer) as unknown as LibPreTokenizer;
  }
  cacheWords(tokenizer);
  return { tokenizer, spm };
}
