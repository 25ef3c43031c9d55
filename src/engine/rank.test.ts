// Rank classification: chunked choices (any chunk size) give the
// same scores as one pass — the cross-attention K/V computed once per example serve every chunk.
import { describe, expect, it } from "vitest";
import { tf } from "../backend/tf.js";
import { loadGoldModel } from "../../tests/helpers/gold-model.js";
import { rankBatch } from "./rank.js";

describe("rank classification", () => {
  it("chunked choices give the same scores and predictions as one pass", async () => {
    await tf.setBackend("cpu");
    const model = await loadGoldModel({ keepUntransposed: false });
    const choices = [
      [150, 10394, 1],
      [7737, 1],
      [644, 4598, 229, 1],
      [3, 1],
      [19250, 5, 1],
    ];
    const inputs = [
      { inputIds: [13959, 1566, 12, 2968, 10, 37, 629, 1], choices },
      { inputIds: [8427, 5843, 29925, 1], choices },
    ];
    const whole = await rankBatch(model, null, inputs, { lengthNorm: 1, choiceChunk: 5 });
    for (const chunk of [1, 2, 3]) {
      const parts = await rankBatch(model, null, inputs, { lengthNorm: 1, choiceChunk: chunk });
      expect(parts.predictions).toEqual(whole.predictions);
      parts.scores.forEach((s, b) =>
        s.forEach((v, j) => expect(Math.abs(v - (whole.scores[b]![j] as number))).toBeLessThan(1e-4)),
      );
    }
    // length normalization: score = Σ NLL / length
    whole.scores.forEach((s, b) =>
      s.forEach((v, j) => expect(Math.abs(v - whole.nllSums[b]![j]! / choices[j]!.length)).toBeLessThan(1e-4)),
    );
  });
});
