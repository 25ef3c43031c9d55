// SentencePiece text normalization, exactly as T5's slow tokenizer does it: the precompiled charsmap (nmt_nfkc)
// applied by longest byte-prefix match, then remove_extra_whitespaces. Mirrors sentencepiece normalizer.cc
// (Normalizer::Normalize / NormalizePrefix) and darts-clone's DoubleArray::commonPrefixSearch.

/** A normalized string plus, for each whitespace-separated word of it, the UTF-16 range it came from in the input. */
export interface NormalizedText {
  /** Normalized text: no leading/trailing spaces, runs of whitespace collapsed to one " " (not yet "▁"). */
  text: string;
  /** Source ranges [start, end) in the original string, one per word of `text`, in order. */
  words: { start: number; end: number }[];
}

const SPACE = 0x20;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8");

/** Bytes of a UTF-8 sequence given its lead byte (input comes from TextEncoder, so it is always valid). */
function utf8Length(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead < 0xe0) return 2;
  if (lead < 0xf0) return 3;
  return 4;
}

/** True when bytes[i..i+3) is U+2581 "▁", which SentencePiece treats as a space once escaped. */
function isMetaSpace(bytes: Uint8Array, i: number): boolean {
  return bytes[i] === 0xe2 && bytes[i + 1] === 0x96 && bytes[i + 2] === 0x81;
}

export class SpmNormalizer {
  /** darts-clone double array (uint32 units), or null for an empty charsmap (identity mapping). */
  private readonly trie: Uint32Array | null;
  /** NUL-separated replacement strings the trie values point into. */
  private readonly replacements: Uint8Array;

  /** @param precompiledCharsmap base64 blob from tokenizer.json (`normalizer.precompiled_charsmap`). */
  constructor(precompiledCharsmap: string | null | undefined) {
    const blob = precompiledCharsmap ? Buffer.from(precompiledCharsmap, "base64") : Buffer.alloc(0);
    if (blob.length === 0) {
      this.trie = null;
      this.replacements = new Uint8Array(0);
      return;
    }
    // Layout (sentencepiece DecodePrecompiledCharsMap): u32-LE trie size, trie units, replacement strings.
    const trieBytes = blob.readUInt32LE(0);
    if (trieBytes % 4 !== 0 || 4 + trieBytes > blob.length) {
      throw new Error(`precompiled_charsmap is corrupt: trie size ${trieBytes} in a blob of ${blob.length} bytes`);
    }
    const trie = new Uint32Array(trieBytes / 4);
    for (let i = 0; i < trie.length; i++) trie[i] = blob.readUInt32LE(4 + 4 * i);
    this.trie = trie;
    this.replacements = new Uint8Array(blob.subarray(4 + trieBytes));
  }

  /** Longest charsmap rule matching src at pos: [replacement start in `replacements`, bytes consumed], or null. */
  private longestRule(src: Uint8Array, pos: number): [number, number] | null {
    const units = this.trie;
    if (units === null) return null;
    let best: [number, number] | null = null;
    let node = offsetOf(units[0] ?? 0);
    for (let i = pos; i < src.length; i++) {
      const c = src[i] ?? 0;
      node ^= c;
      const unit = units[node];
      if (unit === undefined || (unit & 0x800000ff) >>> 0 !== c) break; // label mismatch: no longer prefix
      node ^= offsetOf(unit);
      if ((unit >>> 8) & 1) best = [(units[node] ?? 0) & 0x7fffffff, i - pos + 1]; // has_leaf: value() of the leaf
    }
    return best;
  }

  /** Normalizes like SentencePiece (without the dummy "▁" prefix and without escaping spaces). */
  normalize(input: string): NormalizedText {
    const src = utf8.encode(input);
    // UTF-16 index of each byte's character, so word ranges can be reported in the caller's string.
    const u16At = new Int32Array(src.length + 1);
    for (let i = 0, b = 0; i < input.length; ) {
      const cp = input.codePointAt(i) ?? 0;
      const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      u16At.fill(i, b, b + n);
      b += n;
      i += cp > 0xffff ? 2 : 1;
    }
    u16At[src.length] = input.length;

    let out = new Uint8Array(src.length * 2 + 16);
    let outLen = 0;
    const words: { start: number; end: number }[] = [];
    let open: { start: number; end: number } | null = null;
    let prevSpace = true; // remove_extra_whitespaces: drop leading spaces and spaces after a space
    let pos = 0;
    while (pos < src.length) {
      const rule = this.longestRule(src, pos);
      let buf: Uint8Array, start: number, end: number, consumed: number;
      if (rule !== null) {
        buf = this.replacements;
        start = rule[0];
        end = buf.indexOf(0, start);
        if (end < 0) end = buf.length;
        consumed = rule[1];
      } else {
        buf = src;
        start = pos;
        consumed = utf8Length(src[pos] ?? 0);
        end = pos + consumed;
      }
      if (prevSpace) while (start < end && buf[start] === SPACE) start++;
      if (start < end) {
        for (let k = start; k < end; k++) {
          const byte = buf[k] ?? 0;
          if (byte === SPACE || isMetaSpace(buf, k)) {
            open = null;
          } else if (open === null) {
            open = { start: u16At[pos] ?? 0, end: u16At[pos + consumed] ?? 0 };
            words.push(open);
          } else {
            open.end = u16At[pos + consumed] ?? 0;
          }
          if (outLen === out.length) {
            const grown = new Uint8Array(out.length * 2); // NFKC can expand one character to many bytes
            grown.set(out);
            out = grown;
          }
          out[outLen++] = byte;
        }
        prevSpace = buf[end - 1] === SPACE;
      }
      pos += consumed;
    }
    // Trailing spaces (and "▁", which SentencePiece cannot tell from an escaped space) are removed.
    for (;;) {
      if (outLen > 0 && out[outLen - 1] === SPACE) outLen -= 1;
      else if (outLen >= 3 && isMetaSpace(out, outLen - 3)) outLen -= 3;
      else break;
    }
    return { text: utf8Decoder.decode(out.subarray(0, outLen)), words };
  }
}

/** darts-clone DoubleArrayUnit::offset(). */
function offsetOf(unit: number): number {
  return (unit >>> 10) * ((unit & (1 << 9)) !== 0 ? 256 : 1);
}
