// Gold and gradient tests of the T-Few losses (fixture case 3) and of the fused token NLL (fixture case 1).
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { tf } from "../backend/tf.js";
import { GOLD_MODEL_DIR } from "../../tests/helpers/shared.js";
import { fixtureFloats, fixtureTensor, maxRelativeError, readSafetensors } from "../../tests/helpers/read-fixture.js";
import { tfewLosses, type TfewLossInput } from "./losses.js";
import { maskFromIds, tokenNll } from "./token-nll.js";

/** [rows, len, vocab] logits and [rows, len] targets (≤ 0 = padding) through the fused per-token NLL. */
function tokenNllFromLogits(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  const [rows, len, vocab] = logits.shape;
  const ids = Int32Array.from(targets.dataSync());
  return tf.reshape(tokenNll(tf.reshape(logits, [rows * len, vocab]) as tf.Tensor2D, ids, maskFromIds(ids)), [
    rows,
    len,
  ]) as tf.Tensor2D;
}

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const tfew = readSafetensors(join(GOLD_MODEL_DIR, "tfew.safetensors"));
const choiceIds = fixtureTensor(tfew, "choices_ids"); // [2, 3, 6]
const goldLabels = Array.from(fixtureTensor(tfew, "labels").data);
const shape3 = choiceIds.shape as [number, number, number];

function goldInput(overrides: Partial<TfewLossInput> = {}): TfewLossInput {
  return {
    tokenNll: tf.tensor3d(fixtureFloats(tfew, "token_nll"), shape3),
    targetMask: tf.tensor3d(
      Array.from(choiceIds.data, (id) => (id !== 0 ? 1 : 0)),
      shape3,
    ),
    labels: goldLabels,
    lengthNorm: 1,
    weights: { ul: 1, ln: 1 },
    ...overrides,
  };
}

/** Plain float64 reference of the three losses, written from the t-few formulas. */
function reference(nll: number[][][], mask: number[][][], labels: number[], lengthNorm: number) {
  const scores = nll.map((ex, b) =>
    ex.map((tokens, c) => {
      const len = Math.max(
        1,
        (mask[b]?.[c] ?? []).reduce((a, m) => a + m, 0),
      );
      return tokens.reduce((a, v) => a + v, 0) / len ** lengthNorm;
    }),
  );
  let lmSum = 0;
  let lmCount = 0;
  let lnSum = 0;
  let ulSum = 0;
  let ulCount = 0;
  nll.forEach((ex, b) => {
    const gold = labels[b] as number;
    const negScores = (scores[b] as number[]).map((s) => -s);
    const maxNeg = Math.max(...negScores);
    const logZ = maxNeg + Math.log(negScores.reduce((a, s) => a + Math.exp(s - maxNeg), 0));
    lnSum += logZ - (negScores[gold] as number);
    ex.forEach((tokens, c) =>
      tokens.forEach((v, l) => {
        const real = mask[b]?.[c]?.[l] === 1;
        if (real && c === gold) {
          lmSum += v;
          lmCount += 1;
        }
        const cl = real && c !== gold ? -v : -100;
        ulSum += -Math.log(1 - Math.exp(cl) + 1e-2);
        if (cl !== -100) ulCount += 1;
      }),
    );
  });
  return { lm: lmSum / lmCount, ln: lnSum / nll.length, ul: ulSum / ulCount, scores };
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe("tfewLosses", () => {
  it("matches t-few's lm, mc, unlikelihood and total losses and choice scores on the gold fixture", () => {
    const out = tfewLosses(goldInput());
    const errors = {
      lm: rel(out.lm.dataSync()[0] as number, fixtureFloats(tfew, "lm_loss")[0] as number),
      ln: rel(out.ln.dataSync()[0] as number, fixtureFloats(tfew, "mc_loss")[0] as number),
      ul: rel(out.ul.dataSync()[0] as number, fixtureFloats(tfew, "unlikely_loss")[0] as number),
      total: rel(out.total.dataSync()[0] as number, fixtureFloats(tfew, "total_loss")[0] as number),
      choiceScores: maxRelativeError(out.choiceScores.dataSync(), fixtureFloats(tfew, "choice_scores")),
    };
    console.log("tfew losses relative error", errors);
    for (const value of Object.values(errors)) expect(value).toBeLessThanOrEqual(1e-5);
    expect(out.choiceScores.argMin(1).arraySync()).toEqual(Array.from(fixtureTensor(tfew, "predictions").data));
  });

  it("matches a float64 reference for other weights and lengthNorm 0 (plain sums)", () => {
    const input = goldInput({ lengthNorm: 0, weights: { ul: 0.25, ln: 3 } });
    const nll = input.tokenNll.arraySync();
    const ref = reference(nll, input.targetMask.arraySync(), goldLabels, 0);
    const out = tfewLosses(input);
    const scores = out.choiceScores.arraySync();
    expect(maxRelativeError(scores.flat(), ref.scores.flat())).toBeLessThan(1e-6);
    // with lengthNorm 0 the score is the plain sum of the choice's NLL
    expect(scores[0]?.[1]).toBeCloseTo(nll[0]?.[1]?.reduce((a, v) => a + v, 0) ?? NaN, 4);
    expect(rel(out.lm.dataSync()[0] as number, ref.lm)).toBeLessThan(1e-6);
    expect(rel(out.ln.dataSync()[0] as number, ref.ln)).toBeLessThan(1e-5);
    expect(rel(out.ul.dataSync()[0] as number, ref.ul)).toBeLessThan(1e-5);
    const total = ref.lm + 0.25 * ref.ul + 3 * ref.ln;
    expect(rel(out.total.dataSync()[0] as number, total)).toBeLessThan(1e-5);
  });

  it("lengthNorm 0.5 divides by sqrt(length); zero weights leave only lm", () => {
    const input = goldInput({ lengthNorm: 0.5, weights: { ul: 0, ln: 0 } });
    const ref = reference(input.tokenNll.arraySync(), input.targetMask.arraySync(), goldLabels, 0.5);
    const out = tfewLosses(input);
    expect(maxRelativeError(out.choiceScores.dataSync(), ref.scores.flat())).toBeLessThan(1e-6);
    expect(out.total.dataSync()[0]).toBe(out.lm.dataSync()[0]);
  });

  it("d total / d tokenNll equals the hand-derived gradient", () => {
    const input = goldInput();
    const grad = tf.grad((x: tf.Tensor) => tfewLosses({ ...input, tokenNll: x as tf.Tensor3D }).total)(input.tokenNll);
    const got = grad.arraySync() as number[][][];
    const nll = input.tokenNll.arraySync();
    const mask = input.targetMask.arraySync();
    const ref = reference(nll, mask, goldLabels, 1);
    const goldTokens = goldLabels.reduce((a, g, b) => a + (mask[b]?.[g] ?? []).reduce((s, m) => s + m, 0), 0);
    const ulCount = mask.flat(2).reduce((a, m) => a + m, 0) - goldTokens;
    const batch = nll.length;
    const expected = nll.map((ex, b) => {
      const negScores = (ref.scores[b] as number[]).map((s) => -s);
      const z = negScores.reduce((a, s) => a + Math.exp(s), 0);
      return ex.map((tokens, c) => {
        const len = (mask[b]?.[c] ?? []).reduce((a, m) => a + m, 0);
        const isGold = c === goldLabels[b];
        // d mc / d score_c = (onehot_c - softmax(-scores)_c) / batch; d score_c / d nll = 1 / len
        const dScore = ((isGold ? 1 : 0) - Math.exp(negScores[c] as number) / z) / batch / len;
        return tokens.map((v, l) => {
          if (mask[b]?.[c]?.[l] !== 1) return 0;
          if (isGold) return 1 / goldTokens + dScore;
          // d/dv of -log(1.01 - exp(-v)) / count = -exp(-v) / (1.01 - exp(-v)) / count
          return -Math.exp(-v) / (1.01 - Math.exp(-v)) / ulCount + dScore;
        });
      });
    });
    const flatGot = got.flat(2);
    const flatExpected = expected.flat(2);
    let worst = 0;
    flatGot.forEach((g, i) => {
      worst = Math.max(
        worst,
        Math.abs(g - (flatExpected[i] as number)) / Math.max(Math.abs(flatExpected[i] as number), 1e-6),
      );
    });
    console.log("tfew loss gradient max relative error", worst);
    expect(worst).toBeLessThan(1e-4);
  });

  it("the gradient agrees with central finite differences on a small input", () => {
    const nll = tf.tensor3d([0.7, 1.3, 0, 2.1, 0.4, 0.9, 0.2, 0, 0, 1.6, 0.8, 0.3], [2, 2, 3]);
    const mask = tf.tensor3d([1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1], [2, 2, 3]);
    const base: TfewLossInput = {
      tokenNll: nll,
      targetMask: mask,
      labels: [1, 0],
      lengthNorm: 1,
      weights: { ul: 0.7, ln: 1.3 },
    };
    const f = (x: tf.Tensor3D) => tfewLosses({ ...base, tokenNll: x }).total.dataSync()[0] as number;
    const analytic = tf
      .grad((x: tf.Tensor) => tfewLosses({ ...base, tokenNll: x as tf.Tensor3D }).total)(nll)
      .dataSync();
    const values = nll.dataSync();
    const h = 1e-2;
    values.forEach((v, i) => {
      const plus = values.slice();
      const minus = values.slice();
      plus[i] = v + h;
      minus[i] = v - h;
      const numeric = (f(tf.tensor3d(plus, [2, 2, 3])) - f(tf.tensor3d(minus, [2, 2, 3]))) / (2 * h);
      const a = analytic[i] as number;
      if (mask.dataSync()[i] === 0) expect(Math.abs(a)).toBe(0);
      else expect(Math.abs(a - numeric)).toBeLessThanOrEqual(1e-2 * Math.abs(numeric) + 1e-4);
    });
  });

  it("does not leak tensors and rejects bad labels", () => {
    const input = goldInput();
    const before = tf.memory().numTensors;
    const out = tfewLosses(input);
    expect(tf.memory().numTensors - before).toBe(5); // exactly the five returned tensors
    tf.dispose(Object.values(out));
    expect(() => tfewLosses(goldInput({ labels: [0, 3] }))).toThrow(/label 3 of example 1/);
    expect(() => tfewLosses(goldInput({ labels: [0] }))).toThrow(/1 labels for a batch of 2/);
  });

  it("gives 0 instead of NaN when there is no wrong-choice token", () => {
    const out = tfewLosses({
      tokenNll: tf.tensor3d([1, 2], [1, 1, 2]),
      targetMask: tf.tensor3d([1, 1], [1, 1, 2]),
      labels: [0],
      lengthNorm: 1,
      weights: { ul: 1, ln: 1 },
    });
    expect(out.ul.dataSync()[0]).toBe(0);
    expect(out.ln.dataSync()[0]).toBeCloseTo(0, 6);
    expect(out.lm.dataSync()[0]).toBeCloseTo(1.5, 6);
  });
});

describe("token NLL (token-nll.ts)", () => {
  it("reproduces HF's T5 loss from the fixture logits (case 1)", () => {
    const forward = readSafetensors(join(GOLD_MODEL_DIR, "forward.safetensors"));
    const logits = fixtureTensor(forward, "logits"); // [3, 6, 32128]
    const labels = fixtureTensor(forward, "labels"); // [3, 6], -100 at padding
    const [rows, len, vocab] = logits.shape as [number, number, number];
    const nll = tokenNllFromLogits(
      tf.tensor3d(logits.data as Float32Array, [rows, len, vocab]),
      tf.tensor2d(labels.data as Int32Array, [rows, len], "int32"),
    ).dataSync();
    let sum = 0;
    let count = 0;
    labels.data.forEach((id, i) => {
      if (id < 0) expect(nll[i]).toBe(0);
      else {
        sum += nll[i] as number;
        count += 1;
      }
    });
    const expected = fixtureFloats(forward, "loss")[0] as number;
    console.log("token NLL mean vs HF loss relative error", rel(sum / count, expected));
    expect(rel(sum / count, expected)).toBeLessThan(1e-5);
  });

  it("has gradient softmax - onehot at real targets and 0 at padding", () => {
    const logits = tf.tensor3d([1, 2, 0.5, -1, 0.3, 0.3, 2, -2], [1, 2, 4]);
    const targets = tf.tensor2d([[2, 0]], [1, 2], "int32");
    const grad = tf
      .grad((x: tf.Tensor) => tokenNllFromLogits(x as tf.Tensor3D, targets).sum())(logits)
      .arraySync() as number[][][];
    const row = [1, 2, 0.5, -1];
    const z = row.reduce((a, v) => a + Math.exp(v), 0);
    const expected = row.map((v, k) => Math.exp(v) / z - (k === 2 ? 1 : 0));
    grad[0]?.[0]?.forEach((g, k) => expect(g).toBeCloseTo(expected[k] as number, 6));
    expect(grad[0]?.[1]?.map((g) => g + 0)).toEqual([0, 0, 0, 0]); // + 0 folds −0 (padding rows are scaled by 0)
  });
});
