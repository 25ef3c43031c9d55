// Sampling filters on hand-made distributions (transformers' TopK / TopP / Temperature warpers), the seeded draw,
// and the n-gram ban of NoRepeatNGramLogitsProcessor.
import { describe, expect, it } from "vitest";
import { bannedNgramTokens } from "./processors.js";
import { drawIndex, nucleusProbabilities, warpedProbabilities } from "./sampling.js";

const logs = (ps: number[]) => ps.map(Math.log);

describe("top-p (nucleus)", () => {
  it("keeps the smallest top set whose mass exceeds top_p, renormalized", () => {
    expect(Array.from(nucleusProbabilities(logs([0.5, 0.3, 0.2]), 0.6))).toEqual(
      [0.625, 0.375, 0].map((v) => expect.closeTo(v, 12)),
    );
    expect(Array.from(nucleusProbabilities(logs([0.5, 0.3, 0.2]), 0.45))).toEqual([1, 0, 0]);
    expect(Array.from(nucleusProbabilities(logs([0.5, 0.3, 0.2]), 1))).toEqual(
      [0.5, 0.3, 0.2].map((v) => expect.closeTo(v, 12)),
    );
  });
  it("always keeps the most likely token", () => {
    expect(Array.from(nucleusProbabilities(logs([0.4, 0.35, 0.25]), 0.01))).toEqual([1, 0, 0]);
  });
});

describe("temperature and top-k over a whole row", () => {
  it("top_k 2 keeps the two largest (in any position), then renormalizes", () => {
    const p = warpedProbabilities(logs([0.1, 0.4, 0.2, 0.3]), { temperature: 1, topK: 2, topP: 1 });
    expect(Array.from(p)).toEqual([0, 4 / 7, 0, 3 / 7].map((v) => expect.closeTo(v, 12)));
  });
  it("temperature 2 takes square roots of the probabilities before normalizing", () => {
    const p = warpedProbabilities(logs([0.64, 0.36]), { temperature: 2, topK: 0, topP: 1 });
    expect(Array.from(p)).toEqual([0.8 / 1.4, 0.6 / 1.4].map((v) => expect.closeTo(v, 12)));
  });
  it("top-k then top-p: [.1 .4 .2 .3], k = 3 → [.4 .2 .3]/.9, p = 0.5 keeps .4 and .3", () => {
    const p = warpedProbabilities(logs([0.1, 0.4, 0.2, 0.3]), { temperature: 1, topK: 3, topP: 0.5 });
    expect(Array.from(p)).toEqual([0, 4 / 7, 0, 3 / 7].map((v) => expect.closeTo(v, 12)));
  });
});

describe("drawIndex", () => {
  it("inverts the cumulative distribution and skips removed tokens", () => {
    const probs = [0.5, 0, 0.25, 0.25];
    expect([0, 0.49, 0.5, 0.74, 0.75, 0.999].map((u) => drawIndex(probs, u))).toEqual([0, 0, 2, 2, 3, 3]);
  });
});

describe("no_repeat_ngram_size", () => {
  it("bans the tokens that followed earlier occurrences of the last n−1 tokens (start token counts)", () => {
    expect(bannedNgramTokens([0, 5, 7, 5], 2).sort()).toEqual([7]);
    expect(bannedNgramTokens([0, 5, 7, 5, 9, 5], 2).sort()).toEqual([7, 9]);
    expect(bannedNgramTokens([0, 5, 7, 0, 5], 3)).toEqual([7]);
    expect(bannedNgramTokens([0], 3)).toEqual([]);
  });
});
