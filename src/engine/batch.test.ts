// Batches: explicit masks (any pad id), the whole batch's loss counts from token counts alone, and each
// forward pass's padded positions for FLOP counts.
import { describe, expect, it } from "vitest";
import { batchNormalizers, makeBatch, passTokens } from "./batch.js";

const examples = [
  {
    inputIds: [5, 6, 1],
    choices: [
      [7, 1],
      [8, 9, 1],
    ],
    label: 1,
  },
  { inputIds: [5, 1], choices: [[7, 1], [1]], label: 0 },
];

describe("batches", () => {
  it("pads with the config's pad id and marks real tokens by position, not by id", () => {
    const b = makeBatch(examples, { padId: 3, decoderStartId: 0 });
    expect(Array.from(b.inputIds)).toEqual([5, 6, 1, 5, 1, 3]);
    expect(Array.from(b.attentionMask)).toEqual([1, 1, 1, 1, 1, 0]);
    expect(Array.from(b.targets)).toEqual([7, 1, 3, 8, 9, 1, 7, 1, 3, 1, 3, 3]);
    expect(Array.from(b.targetMask)).toEqual([1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0, 0]);
    expect(Array.from(b.decoderInputIds.slice(0, 3))).toEqual([0, 7, 1]);
  });

  it("counts the whole batch's gold, wrong and masked unlikelihood positions", () => {
    // gold: 3 + 2 tokens; wrong: 2 + 1; padded [2 examples, 2 choices, 3] = 12 positions, 12 − 3 outside ul
    expect(batchNormalizers(examples)).toEqual({ lmTokens: 5, ulTokens: 3, ulMasked: 9, examples: 2 });
  });

  it("gives each micro-batch's padded positions", () => {
    expect(passTokens(examples, 1)).toEqual([
      { encoderTokens: 3, decoderTokens: 6, encoderLength: 3, decoderLength: 3 },
      { encoderTokens: 2, decoderTokens: 4, encoderLength: 2, decoderLength: 2 },
    ]);
    expect(passTokens(examples, 2)).toEqual([
      { encoderTokens: 6, decoderTokens: 12, encoderLength: 3, decoderLength: 3 },
    ]);
  });
});
