import { describe, expect, it } from "vitest";
import { TfewError } from "../errors.js";
import { choiceTokenIds } from "./choices.js";

// one token per word, </s> = 1; words map to fixed ids so the truncation is easy to follow
const vocab: Record<string, number> = { bug: 10, fix: 11, report: 12, feature: 13, Bug: 10 };
const tokenizer = { eosId: 1, encode: (t: string) => [...t.split(" ").map((w) => vocab[w] ?? 99), 1] };

describe("choiceTokenIds", () => {
  it("keeps choices that fit and cuts longer ones to max_choice_len ending in </s>", () => {
    expect(choiceTokenIds(["bug", "bug fix report"], tokenizer, 3)).toEqual([
      [10, 1],
      [10, 11, 1],
    ]);
  });

  it("refuses labels made identical by truncation, naming both, the key and the length that works", () => {
    const call = () => choiceTokenIds(["bug fix", "bug report", "feature"], tokenizer, 2);
    expect(call).toThrow(TfewError);
    expect(call).toThrow(/"bug fix" and "bug report" are the same 2 token\(s\) after data.max_choice_len/);
    expect(call).toThrow(/set data.max_choice_len to at least 3/);
    expect(choiceTokenIds(["bug fix", "bug report", "feature"], tokenizer, 3)).toHaveLength(3);
  });

  it("refuses labels that tokenize identically whatever the length, naming data.labels", () => {
    expect(() => choiceTokenIds(["bug", "Bug"], tokenizer, 8)).toThrow(
      /"bug" and "Bug" tokenize to the same tokens.*data.labels/,
    );
  });
});
