// T5 tokenizer: the Unigram model of <dir>/tokenizer.json run by @huggingface/tokenizers, with SentencePiece's exact
// normalizer (spm-normalizer.ts) and the decoding of transformers 4.30 `T5Tokenizer` (slow, legacy=True).
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { TfewError } from "../errors.js";
import type { SpmNormalizer } from "./spm-normalizer.js";
import { buildLibTokenizer, type LibTokenizer, type TokenizerJson } from "./tokenizer-lib.js";

export interface T5Tokenizer {
  /** Token ids of `text`; `addEos` (default true) appends `</s>` (= eosId, 1 for T5). */
  encode(text: string, options?: { addEos?: boolean }): number[];
  /**
   * Text of `ids` as `T5Tokenizer.decode` gives it. Defaults `skipSpecialTokens: true` (drops `<pad>`, `</s>`,
   * `<unk>` and `<extra_id_*>`) and `cleanUp: true` (clean_up_tokenization_spaces: " ." → "." etc.).
   */
  decode(ids: number[], options?: { skipSpecialTokens?: boolean; cleanUp?: boolean }): string;
  /**
   * Longest prefix of `text` whose encoding without `</s>` has at most `maxTokens` tokens. The cut falls after a
   * whole word, or inside the first word only when that word alone is longer than `maxTokens`.
   */
  truncate(text: string, maxTokens: number): string;
  /** `<pad>` id (0 for T5). */
  readonly padId: number;
  /** `</s>` id (1 for T5). */
  readonly eosId: number;
  /** Tokenizer vocabulary incl. added tokens (32100 for T5; the model's embedding may be padded to 32128). */
  readonly vocabSize: number;
}

const META_SPACE = "\u2581"; // "▁"

/** Python's str.isspace() for one UTF-16 unit (T5Tokenizer.convert_tokens_to_string ends with .strip()). */
function isPythonSpace(c: number): boolean {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c === 0x85 || c === 0xa0 || c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

function pythonStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isPythonSpace(text.charCodeAt(start))) start++;
  while (end > start && isPythonSpace(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

/** transformers `clean_up_tokenization` (4.30), same replacements in the same order. */
function cleanUpTokenization(text: string): string {
  const rules: [string, string][] = [
    [" .", "."], [" ?", "?"], [" !", "!"], [" ,", ","], [" ' ", "'"],
    [" n't", "n't"], [" 'm", "'m"], [" 's", "'s"], [" 've", "'ve"], [" 're", "'re"],
  ];
  return rules.reduce((s, [from, to]) => s.replaceAll(from, to), text);
}

class T5TokenizerImpl implements T5Tokenizer {
  readonly padId: number;
  readonly eosId: number;
  readonly vocabSize: number;
  private readonly pieces: string[];
  private readonly specialIds: Set<number>;

  constructor(
    private readonly lib: LibTokenizer,
    private readonly spm: SpmNormalizer | null,
    json: TokenizerJson,
    file: string,
  ) {
    const vocab = lib.get_vocab(true);
    this.vocabSize = vocab.size;
    this.pieces = new Array<string>(vocab.size);
    for (const [piece, id] of vocab) this.pieces[id] = piece;
    const idOf = (token: string): number => {
      const id = lib.token_to_id(token);
      if (id === undefined) throw new TfewError(`tokenizer ${file} has no "${token}" token; use a T5 tokenizer.json`);
      return id;
    };
    this.padId = idOf("<pad>");
    this.eosId = idOf("</s>");
    this.specialIds = new Set((json.added_tokens ?? []).filter((t) => t.special).map((t) => t.id));
  }

  encode(text: string, options: { addEos?: boolean } = {}): number[] {
    return this.lib.encode(text, { add_special_tokens: options.addEos ?? true }).ids;
  }

  decode(ids: number[], options: { skipSpecialTokens?: boolean; cleanUp?: boolean } = {}): string {
    const skip = options.skipSpecialTokens ?? true;
    // T5Tokenizer.convert_tokens_to_string: special tokens verbatim (a space before a run of them), the other pieces
    // decoded by SentencePiece (▁ → space, the first leading ▁ dropped), then str.strip().
    let out = "";
    let run: string[] = [];
    let prevSpecial = false;
    const flush = (): string => {
      let text = "";
      for (const piece of run) text += text === "" ? piece.replace(/^▁/, "").replaceAll(META_SPACE, " ") : piece.replaceAll(META_SPACE, " ");
      run = [];
      return text;
    };
    for (const id of ids) {
      const piece = Number.isInteger(id) ? this.pieces[id] : undefined;
      if (piece === undefined) {
        throw new TfewError(`token id ${id} is outside the tokenizer vocabulary [0, ${this.vocabSize}); decode only ids the tokenizer produced`);
      }
      if (this.specialIds.has(id)) {
        if (skip) continue;
        out += (prevSpecial ? "" : " ") + flush() + piece;
        prevSpecial = true;
      } else {
        run.push(piece);
        prevSpecial = false;
      }
    }
    out = pythonStrip(out + flush());
    return (options.cleanUp ?? true) ? cleanUpTokenization(out) : out;
  }

  truncate(text: string, maxTokens: number): string {
    const limit = Math.max(0, Math.floor(maxTokens));
    const count = (s: string): number => this.encode(s, { addEos: false }).length;
    const tokens = this.lib.encode(text, { add_special_tokens: false }).tokens;
    if (tokens.length <= limit) return text;
    if (limit === 0) return "";
    // Every word of the normalized text starts exactly one "▁"-token, so token counts per word follow from the
    // token stream; the normalizer tells where each word lies in `text`.
    const words = this.spm?.normalize(text).words;
    const starts = tokens.flatMap((t, i) => (t.startsWith(META_SPACE) ? [i] : []));
    if (words !== undefined && words.length === starts.length && starts[0] === 0) {
      // Keep the first m words: they hold starts[m] tokens; take the largest m with starts[m] <= limit.
      const m = starts.filter((i) => i <= limit).length - 1;
      const cut = m > 0 ? (words[m - 1]?.end ?? 0) : 0;
      if (cut > 0 && count(text.slice(0, cut)) <= limit) return text.slice(0, cut);
    }
    // Fallback (first word too long, or text the word map cannot follow): binary search on the character cut.
    let lo = 0;
    let hi = text.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (count(text.slice(0, mid)) <= limit) lo = mid;
      else hi = mid - 1;
    }
    // Do not split a surrogate pair.
    if (lo > 0 && /[\uD800-\uDBFF]/.test(text[lo - 1] ?? "")) lo -= 1;
    return text.slice(0, lo);
  }
}

/** Loads `<dir>/tokenizer.json` (the tokenizers-library format) as a T5 tokenizer. */
export async function loadTokenizer(dir: string): Promise<T5Tokenizer> {
  const file = join(dir, "tokenizer.json");
  if (!existsSync(file)) {
    throw new TfewError(
      `no tokenizer.json in ${dir}; set tokenizer: <folder with tokenizer.json> in the config, or give a model folder ` +
        `with only spiece.model a tokenizer.json (convert it once with transformers: ` +
        `T5TokenizerFast.from_pretrained(dir).save_pretrained(dir))`,
    );
  }
  let json: TokenizerJson;
  try {
    json = JSON.parse(await readFile(file, "utf8")) as TokenizerJson;
  } catch (error) {
    throw new TfewError(`cannot read ${file} as JSON (${String(error).split("\n")[0]}); replace it with a valid tokenizer.json`, { cause: error });
  }
  if (json.model?.type !== "Unigram") {
    throw new TfewError(`${file} has a ${json.model?.type ?? "missing"} model, not Unigram; use a T5 (SentencePiece) tokenizer.json`);
  }
  let built: ReturnType<typeof buildLibTokenizer>;
  try {
    built = buildLibTokenizer(json);
  } catch (error) {
    throw new TfewError(`cannot build a tokenizer from ${file} (${String(error).split("\n")[0]}); replace it with a T5 tokenizer.json`, { cause: error });
  }
  return new T5TokenizerImpl(built.tokenizer, built.spm, json, file);
}
