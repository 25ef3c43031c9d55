// A tiny SentencePiece `precompiled_charsmap`: nmt_nfkc's control characters (whitespace → " ", others removed) as a
// darts-clone double array in the blob layout of sentencepiece normalizer.cc (u32-LE trie size, units, strings).

/** Bytes mapped to " " (SentencePiece nmt_nfkc maps these whitespace controls to a space). */
const TO_SPACE = [0x09, 0x0a, 0x0c, 0x0d];
/** Bytes removed (the other C0 controls and DEL, as nmt_nfkc and tokenizers.js' Precompiled drop them). */
const REMOVED = [...Array.from({ length: 0x20 }, (_, b) => b).filter((b) => b > 0 && !TO_SPACE.includes(b)), 0x7f];

// darts-clone unit bits: label in bits 0-7 (bit 31 set marks a leaf, whose bits 0-30 are the value), has_leaf is
// bit 8, offset is bits 10-31 (bit 9 = offset scaled by 256, unused here).
const HAS_LEAF = 1 << 8;
const LEAF = 0x80000000;
/** Children of the root sit at index = byte (root offset 0); each child's leaf sits at index byte ^ LEAF_OFFSET. */
const LEAF_OFFSET = 0x80;
/** 256 units: any index reached by XOR-ing a byte into an index below 256 stays inside (spm_precompiled indexes unchecked). */
const UNITS = 256;

/** The double array and replacement strings of a single-byte charsmap (each key one ASCII byte < 0x80). */
export function charsmapUnits(): { units: Uint32Array; replacements: Uint8Array } {
  const units = new Uint32Array(UNITS); // units[0] = 0: the root, offset 0, no leaf
  const replacements = Uint8Array.from([0x20, 0x00, 0x00]); // " \0" at 0, "" at 2
  const add = (byte: number, value: number): void => {
    units[byte] = ((LEAF_OFFSET << 10) | HAS_LEAF | byte) >>> 0; // child of the root, labelled `byte`
    units[byte ^ LEAF_OFFSET] = (LEAF | value) >>> 0; // its leaf: the replacement's start in `replacements`
  };
  for (const byte of TO_SPACE) add(byte, 0);
  for (const byte of REMOVED) add(byte, 2);
  return { units, replacements };
}

/** The charsmap's mapping applied to a string (whitespace controls → " ", other controls removed). */
export function applyControlCharsmap(text: string): string {
  let out = "";
  for (const c of text) {
    const code = c.charCodeAt(0);
    out += TO_SPACE.includes(code) ? " " : REMOVED.includes(code) ? "" : c;
  }
  return out;
}

/** The charsmap as tokenizer.json's `normalizer.precompiled_charsmap` (base64). */
export function controlCharsmapBase64(): string {
  const { units, replacements } = charsmapUnits();
  const blob = Buffer.alloc(4 + 4 * units.length + replacements.length);
  blob.writeUInt32LE(4 * units.length, 0);
  units.forEach((unit, i) => blob.writeUInt32LE(unit, 4 + 4 * i));
  Buffer.from(replacements).copy(blob, 4 + 4 * units.length);
  return blob.toString("base64");
}
