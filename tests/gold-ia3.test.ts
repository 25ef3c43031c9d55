// Gold tests for (IA)³ (fixture case 2: PEFT-injected vectors, logits, loss gradients) and the T-Few
// training step (case 3: three losses and the gradient of their sum w.r.t. every vector).
// Pass: logits max-abs ≤ 1e-4; losses and gradients relative error ≤ 1e-4 (max |Δ| / max |gold|).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "@tensorflow/tfjs-backend-wasm";
import { createVectorSet, disposeVectorSet, toScales, type Ia3VectorSet } from "../src/adapters/ia3.js";
import { IA3_DEFAULTS } from "../src/adapters/ia3-config.js";
import { checkAdapterFits, peftTensorName, readAdapter, saveAdapter } from "../src/adapters/peft-adapter.js";
import { tf } from "../src/backend/tf.js";
import { crossKeyValues, decode, encode, lmLogits, type T5Model } from "../src/model/t5.js";
import { batchNormalizers, makeBatch, splitMicroBatches, type TfewExample } from "../src/engine/batch.js";
import { combineParts, microBatchParts } from "../src/engine/accumulate.js";
import { computeGradients } from "../src/engine/gradients.js";
import { lossValues } from "../src/engine/losses.js";
import { rankBatch } from "../src/engine/rank.js";
import { caseTensor, loadGoldModel, maxAbsDiff, readCase } from "./helpers/gold-model.js";
import { GOLD_MODEL_DIR } from "./helpers/shared.js";

function relErr(a: ArrayLike<number>, gold: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < gold.length; i++) scale = Math.max(scale, Math.abs(gold[i] as number));
  return maxAbsDiff(a, gold) / scale;
}

/** Case-2 forward: logits [3·6, vocab] and the HF loss (mean CE over labels ≠ −100). */
function case2Forward(
  model: T5Model,
  set: Ia3VectorSet,
  gold: Map<string, { data: Float32Array | Int32Array; shape: number[] }>,
) {
  const ids = caseTensor(gold as never, "input_ids");
  const [batch, srcLen] = ids.shape as [number, number];
  const dec = caseTensor(gold as never, "decoder_input_ids");
  const tgtLen = dec.shape[1] as number;
  const labels = Array.from(caseTensor(gold as never, "labels").data);
  const inputIds = tf.tensor2d(ids.data, [batch, srcLen], "int32");
  const mask = tf.tensor2d(Float32Array.from(caseTensor(gold as never, "attention_mask").data), [batch, srcLen]);
  const ia3 = toScales(set);
  const h = encode(model, inputIds, mask, ia3);
  const hidden = decode(
    model,
    {
      crossKv: crossKeyValues(model, h, ia3),
      encoderMask: mask,
      decoderInputIds: tf.tensor3d(dec.data, [batch, 1, tgtLen], "int32"),
    },
    ia3,
  );
  const logits = lmLogits(model, hidden); // [rows, vocab]
  const keep: number[] = labels.map((l) => (l === -100 ? 0 : 1));
  const target = tf.oneHot(
    tf.tensor1d(
      labels.map((l) => Math.max(l, 0)),
      "int32",
    ),
    model.config.vocabSize,
  );
  const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), target), -1)); // [rows]
  const loss = tf.div(
    tf.sum(tf.mul(nll, tf.tensor1d(keep))),
    keep.reduce((a, b) => a + b, 0),
  ) as tf.Scalar;
  return { logits, loss };
}

describe.each(["cpu", "wasm"])("(IA)³ gold on %s", (backend) => {
  let model: T5Model;
  let initial: Map<string, Float32Array>;
  let ia3Gold: Map<string, { data: Float32Array | Int32Array; shape: number[] }>;
  beforeAll(async () => {
    await tf.setBackend(backend);
    model = {
      ...(await loadGoldModel({ keepUntransposed: backend === "wasm" })),
      attention: { impl: backend === "wasm" ? "per-head" : "reference", minPairs: 0 },
    };
    ia3Gold = await readCase("ia3");
    initial = new Map();
    for (const [name, t] of ia3Gold) {
      if (name.endsWith(".ia3_l"))
        initial.set(name.slice("base_model.model.".length, -".ia3_l".length), t.data as Float32Array);
    }
  });

  it("injects PEFT's 16 vectors with PEFT's shapes", () => {
    const set = createVectorSet("t", model.weights, IA3_DEFAULTS.t5);
    expect(set.specs.length).toBe(16);
    for (const spec of set.specs)
      expect(caseTensor(ia3Gold as never, peftTensorName(spec.path)).shape).toEqual(spec.shape);
    expect(tf.memory().numTensors).toBeGreaterThan(0);
    disposeVectorSet(set);
  });

  it("reproduces case-2 logits, loss and gradients", () => {
    const set = createVectorSet("t", model.weights, IA3_DEFAULTS.t5, initial);
    const varList = set.specs.map((s) => set.variables.get(s.path) as tf.Variable);
    const result = tf.tidy(() => {
      let logits: tf.Tensor | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const out = case2Forward(model, set, ia3Gold);
        logits = tf.keep(out.logits);
        return out.loss;
      }, varList);
      const g = set.specs.map((s, i) => ({
        path: s.path,
        data: (grads[(varList[i] as tf.Variable).name] as tf.Tensor).dataSync() as Float32Array,
      }));
      const l = logits as tf.Tensor;
      const r = { loss: value.dataSync()[0] as number, logits: l.dataSync() as Float32Array, grads: g };
      l.dispose();
      return r;
    });
    const logitErr = maxAbsDiff(result.logits, caseTensor(ia3Gold as never, "logits").data);
    const goldLoss = caseTensor(ia3Gold as never, "loss").data[0] as number;
    let gradErr = 0;
    for (const g of result.grads)
      gradErr = Math.max(gradErr, relErr(g.data, caseTensor(ia3Gold as never, `${peftTensorName(g.path)}.grad`).data));
    console.log(
      `[${backend}] ia3 logits max-abs ${logitErr.toExponential(2)}, loss ${result.loss} vs ${goldLoss}, grad rel ${gradErr.toExponential(2)}`,
    );
    expect(logitErr).toBeLessThanOrEqual(1e-4);
    expect(Math.abs(result.loss - goldLoss) / goldLoss).toBeLessThanOrEqual(1e-5);
    expect(gradErr).toBeLessThanOrEqual(1e-4);
    disposeVectorSet(set);
  });

  /** Case 3's examples: prompts and choices without their padding. */
  function case3Examples(gold: Awaited<ReturnType<typeof readCase>>): TfewExample[] {
    const ids = caseTensor(gold, "input_ids");
    const [, srcLen] = ids.shape as [number, number];
    const choices = caseTensor(gold, "choices_ids");
    const [, nc, lc] = choices.shape as [number, number, number];
    const labels = Array.from(caseTensor(gold, "labels").data);
    return labels.map((label, b) => {
      const row = Array.from(ids.data.subarray(b * srcLen, (b + 1) * srcLen));
      const len = row.findLastIndex((t) => t !== 0) + 1;
      const ch = Array.from({ length: nc }, (_, j) => {
        const c = Array.from(choices.data.subarray((b * nc + j) * lc, (b * nc + j + 1) * lc));
        return c.slice(0, c.findLastIndex((t) => t !== 0) + 1);
      });
      return { inputIds: row.slice(0, len), choices: ch, label };
    });
  }

  it("reproduces the T-Few losses and gradients of case 3", async () => {
    const gold = await readCase("tfew");
    const set = createVectorSet("t", model.weights, IA3_DEFAULTS.t5, initial);
    const examples = case3Examples(gold);
    const srcLen = caseTensor(gold, "input_ids").shape[1] as number;
    const batch = makeBatch(examples, { padId: 0, decoderStartId: 0 });
    expect(batch.srcLen).toBe(srcLen);
    expect(Array.from(batch.decoderInputIds)).toEqual(Array.from(caseTensor(gold, "decoder_input_ids").data));
    const before = tf.memory().numTensors;
    const settings = { lengthNorm: 1, ulWeight: 1, lnWeight: 1 };
    const n = batchNormalizers(examples);
    const micro = await computeGradients(model, set, batch, settings, n);
    const r = { ...micro, losses: lossValues(micro.sums, n, { ul: 1, ln: 1 }) };
    expect(tf.memory().numTensors).toBe(before);
    const val = (n: string) => caseTensor(gold, n).data[0] as number;
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
    console.log(`[${backend}] tfew lm ${r.losses.lm} ul ${r.losses.ul} ln ${r.losses.ln} total ${r.losses.total}`);
    expect(rel(r.losses.lm, val("lm_loss"))).toBeLessThanOrEqual(1e-4);
    expect(rel(r.losses.ul, val("unlikely_loss"))).toBeLessThanOrEqual(1e-4);
    expect(rel(r.losses.ln, val("mc_loss"))).toBeLessThanOrEqual(1e-4);
    expect(rel(r.losses.total, val("total_loss"))).toBeLessThanOrEqual(1e-4);
    expect(relErr(r.choiceScores, caseTensor(gold, "choice_scores").data)).toBeLessThanOrEqual(1e-4);
    let gradErr = 0;
    for (const [path, g] of r.grads)
      gradErr = Math.max(gradErr, relErr(g, caseTensor(gold, `${peftTensorName(path)}.grad`).data));
    console.log(`[${backend}] tfew grad rel ${gradErr.toExponential(2)}`);
    expect(gradErr).toBeLessThanOrEqual(1e-4);
    // one example per micro-batch: the same losses and gradient (the whole batch's normalizers)
    const split = combineParts(
      await microBatchParts(model, set, splitMicroBatches(examples, 1), settings, n),
      n,
      settings,
    );
    expect(rel(split.losses.total, r.losses.total)).toBeLessThanOrEqual(1e-6);
    for (const [path, g] of r.grads) expect(relErr(split.grads.get(path) as Float32Array, g)).toBeLessThanOrEqual(1e-5);
    disposeVectorSet(set);
  });

  it("rank classification reproduces case 3's choice scores and predictions (any choice chunk)", async () => {
    const gold = await readCase("tfew");
    const set = createVectorSet("t", model.weights, IA3_DEFAULTS.t5, initial);
    const examples = case3Examples(gold);
    for (const choiceChunk of [1, 2, 32]) {
      const r = await rankBatch(model, set, examples, { lengthNorm: 1, choiceChunk });
      const scores = Float32Array.from(r.scores.flatMap((s) => Array.from(s)));
      const err = relErr(scores, caseTensor(gold, "choice_scores").data);
      console.log(`[${backend}] rank choice_scores rel ${err.toExponential(2)} (chunk ${choiceChunk})`);
      expect(err).toBeLessThanOrEqual(1e-4);
      expect(r.predictions).toEqual(Array.from(caseTensor(gold, "predictions").data));
    }
    disposeVectorSet(set);
  });

  describe("adapters on disk", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "tfew-adapter-"));
    });
    afterAll(async () => rm(dir, { recursive: true, force: true }));

    it("loads the PEFT-written adapter and reproduces case-2 logits; a saved adapter reloads to identical logits", async () => {
      const peft = await readAdapter(join(GOLD_MODEL_DIR, "adapter"));
      const set = createVectorSet("peft", model.weights, peft.config, peft.values);
      checkAdapterFits(peft, set.specs, "fixture");
      const logits1 = tf.tidy(() => case2Forward(model, set, ia3Gold).logits.dataSync() as Float32Array);
      expect(maxAbsDiff(logits1, caseTensor(ia3Gold as never, "logits").data)).toBeLessThanOrEqual(1e-4);
      await saveAdapter(dir, set, { baseModel: "" });
      const again = await readAdapter(dir);
      const set2 = createVectorSet("again", model.weights, again.config, again.values);
      const logits2 = tf.tidy(() => case2Forward(model, set2, ia3Gold).logits.dataSync() as Float32Array);
      expect(maxAbsDiff(logits1, logits2)).toBe(0);
      disposeVectorSet(set);
      disposeVectorSet(set2);
    });
  });
});
