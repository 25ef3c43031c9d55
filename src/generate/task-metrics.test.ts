// The scores of a generative task's eval: exact match after whitespace folding, and the means of the sentence
// metrics over examples (worked by hand on a two-example table).
import { describe, expect, it } from "vitest";
import { sentenceBleu } from "./bleu.js";
import { chrf } from "./chrf.js";
import { rougeL } from "./rouge.js";
import { exactMatchForm, generationMetrics } from "./task-metrics.js";

describe("generationMetrics", () => {
  it("exact match folds whitespace but keeps case; the others are per-example means", () => {
    expect(exactMatchForm("  the  cat\nsat ")).toBe("the cat sat");
    const targets = ["the cat sat", "a dog"];
    const generations = [" the cat  sat", "A dog barked"];
    const m = generationMetrics(targets, generations);
    expect(m.n).toBe(2);
    expect(m.exact_match).toBe(0.5); // the second differs in case and length
    // ROUGE-L: 1 for the first; the second: LCS "a dog" = 2 of 3 and 2 of 2 tokens, F = 2·(2/3)·1 / (2/3 + 1) = 0.8
    expect(m.rouge_l).toBeCloseTo((1 + 0.8) / 2, 12);
    expect(m.chrf).toBeCloseTo((100 + chrf("A dog barked", "a dog")) / 2, 12);
    expect(m.bleu).toBeCloseTo((100 + sentenceBleu("A dog barked", "a dog")) / 2, 12);
    expect(rougeL(generations[0]!, targets[0]!)).toBe(1);
  });

  it("no examples: n 0 and zero scores; mismatched lengths are a bug", () => {
    expect(generationMetrics([], [])).toEqual({ n: 0, exact_match: 0, chrf: 0, bleu: 0, rouge_l: 0 });
    expect(() => generationMetrics(["a"], [])).toThrow(/1 targets/);
  });
});
