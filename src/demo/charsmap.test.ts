// The demo charsmap: SentencePiece normalization through the project's SpmNormalizer, and the double array walked
// the way spm_precompiled (Rust tokenizers) walks it, which indexes the array without bounds checks.
import { describe, expect, it } from "vitest";
import { SpmNormalizer } from "../data/spm-normalizer.js";
import { applyControlCharsmap, charsmapUnits, controlCharsmapBase64 } from "./charsmap.js";

/** spm_precompiled DoubleArray::common_prefix_search, but throwing where Rust would panic out of bounds. */
function commonPrefixSearch(units: Uint32Array, key: number[]): number[] {
  const at = (i: number): number => {
    if (i >= units.length) throw new Error(`index ${i} out of bounds`);
    return units[i] as number;
  };
  const offset = (u: number) => (u >>> 10) << ((u & (1 << 9)) >>> 6);
  const results: number[] = [];
  let node = offset(at(0));
  for (const c of key) {
    if (c === 0) break;
    node ^= c;
    const unit = at(node);
    if ((unit & 0x800000ff) >>> 0 !== c) return results;
    node ^= offset(unit);
    if ((unit >>> 8) & 1) results.push(at(node) & 0x7fffffff);
  }
  return results;
}

describe("demo precompiled charsmap", () => {
  const spm = new SpmNormalizer(controlCharsmapBase64());

  it("maps tab, newline, form feed and carriage return to a space, like nmt_nfkc", () => {
    expect(spm.normalize("a\tb\nc\rd\fe").text).toBe("a b c d e");
    expect(spm.normalize("Thanks,\nDana").text).toBe("Thanks, Dana");
    expect(spm.normalize("  two \n\n lines \t").text).toBe("two lines");
  });

  it("removes the other control characters and DEL, and leaves printable ASCII alone", () => {
    expect(spm.normalize("a\x01b\x1bc\x7fd").text).toBe("abcd");
    expect(applyControlCharsmap("a\x01b\x1bc\x7fd\te\nf")).toBe("abcd e f");
    const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)).join("");
    expect(spm.normalize(printable).text).toBe(printable.slice(1)); // the leading space is dropped
  });

  it("stays inside the array for every two-byte key and matches only the mapped bytes", () => {
    const { units, replacements } = charsmapUnits();
    const mapped: number[] = [];
    for (let a = 1; a < 256; a++) {
      const hit = commonPrefixSearch(units, [a]);
      if (hit.length > 0) mapped.push(a);
      for (let b = 1; b < 256; b++) expect(commonPrefixSearch(units, [a, b])).toEqual(hit); // single-byte keys only
    }
    expect(mapped).toEqual([...Array.from({ length: 31 }, (_, i) => i + 1), 0x7f]);
    const text = (start: number) =>
      Buffer.from(replacements.subarray(start, replacements.indexOf(0, start))).toString();
    expect(text(commonPrefixSearch(units, [0x0a])[0] ?? -1)).toBe(" ");
    expect(text(commonPrefixSearch(units, [0x01])[0] ?? -1)).toBe("");
  });

  it("serializes as u32-LE trie size, the units, then the strings", () => {
    const blob = Buffer.from(controlCharsmapBase64(), "base64");
    expect(blob.readUInt32LE(0)).toBe(1024);
    expect(blob.length).toBe(4 + 1024 + 3);
    expect(blob.readUInt32LE(4 + 4 * 0x0a)).toBe(charsmapUnits().units[0x0a]);
  });
});
