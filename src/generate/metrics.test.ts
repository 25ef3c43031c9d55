// The MBR utilities against values worked by hand and published examples, and MBR selection on hand-made tables.
import { describe, expect, it } from "vitest";
import { ngramStats, sentenceBleu, tokenize13a } from "./bleu.js";
import { chrf } from "./chrf.js";
import { expectedUtilities, mbrSelect, rankByExpected } from "./mbr.js";
import { lcsLength, rougeL, rougeTokens } from "./rouge.js";

describe("chrF (char order 6, word order 0, beta 2; sacrebleu's default)", () => {
  it("matches sacrebleu on the example of the HF chrf metric card", () => {
    const hyp = "The relationship between Obama and Netanyahu is not exactly friendly.";
    const ref = "The ties between Obama and Netanyahu are not particularly friendly.";
    expect(chrf(hyp, ref)).toBeCloseTo(61.576379378113785, 9);
  });
  it("hand-worked: 'ab' vs 'abc' → P = 1, R = (2/3 + 1/2)/2 = 7/12, F2 = 5PR/(4P + R) = 7/11", () => {
    expect(chrf("ab", "abc")).toBeCloseTo((100 * 7) / 11, 12);
    expect(chrf("a b", "abc")).toBeCloseTo((100 * 7) / 11, 12); // whitespace is removed first
  });
  it("identical = 100, disjoint or empty = 0", () => {
    expect(chrf("same text", "same text")).toBeCloseTo(100, 12);
    expect(chrf("xyz", "abc")).toBe(0);
    expect(chrf("", "abc")).toBe(0);
  });
});

describe("sentence BLEU (13a, 4-grams, exp smoothing, effective order)", () => {
  it("13a tokenization splits punctuation but not decimals", () => {
    expect(tokenize13a("Hello, world. It costs 3.14 (1-800)!")).toEqual([
      "Hello",
      ",",
      "world",
      ".",
      "It",
      "costs",
      "3.14",
      "(",
      "1",
      "-",
      "800",
      ")",
      "!",
    ]);
  });
  it("Papineni et al.'s modified unigram precision: 'the' ×7 against 'the cat is on the mat' is 2/7", () => {
    const { correct, total } = ngramStats(
      tokenize13a("the the the the the the the"),
      tokenize13a("the cat is on the mat"),
    );
    expect([correct[0], total[0]]).toEqual([2, 7]);
  });
  it("hand-worked: brevity penalty e^(1 − 3/2) with effective order 2", () => {
    expect(sentenceBleu("the cat", "the cat sat")).toBeCloseTo(100 * Math.exp(-0.5), 10);
  });
  it("hand-worked exp smoothing: 'a b c d' vs 'a b d c' = (1 · 1/3 · 1/4 · 1/4)^(1/4)", () => {
    expect(sentenceBleu("a b c d", "a b d c")).toBeCloseTo(100 * (1 / 48) ** 0.25, 10);
  });
  it("identical = 100; no unigram match = 0", () => {
    expect(sentenceBleu("the cat sat on the mat", "the cat sat on the mat")).toBeCloseTo(100, 10);
    expect(sentenceBleu("dog", "the cat")).toBe(0);
  });
});

describe("ROUGE-L F", () => {
  it("Lin (2004)'s example: 'police killed the gunman' against two candidates", () => {
    expect(rougeL("police kill the gunman", "police killed the gunman")).toBeCloseTo(0.75, 12);
    expect(rougeL("the gunman kill police", "police killed the gunman")).toBeCloseTo(0.5, 12);
  });
  it("hand-worked: LCS('a b c d e', 'a c e f') = 3 → P = 3/5, R = 3/4, F = 2/3", () => {
    expect(lcsLength(["a", "b", "c", "d", "e"], ["a", "c", "e", "f"])).toBe(3);
    expect(rougeL("A b, c d e", "a c e f")).toBeCloseTo(2 / 3, 12);
    expect(rougeTokens("Zürich, 東京!")).toEqual(["zürich", "東京"]);
  });
});

describe("MBR selection", () => {
  it("expected utility Σ_j u(i, j) / N; the highest wins, ties by the lowest index", () => {
    const table = [
      [1, 0.2, 0.3],
      [0.5, 1, 0.4],
      [0.4, 0.5, 1],
    ];
    const expected = expectedUtilities(table);
    expect(expected.map((e) => e * 3)).toEqual([1.5, 1.9, 1.9].map((v) => expect.closeTo(v, 12)));
    expect(rankByExpected(expected)).toEqual([1, 2, 0]);
  });
  it("selects the consensus candidate of a hand-made candidate list", () => {
    const exact = (h: string, r: string) => (h === r ? 1 : 0);
    const { order, expected } = mbrSelect(["b", "a", "c", "a"], exact);
    expect(expected).toEqual([0.25, 0.5, 0.25, 0.5]);
    expect(order).toEqual([1, 3, 0, 2]);
  });
});
