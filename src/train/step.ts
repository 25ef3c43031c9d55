// One T-Few forward/backward over a (micro-)batch: encoder once per example, cross-attention K/V once per
// example shared by its choices, decoder over every choice, the three T-Few losses, gradients of the total
// with respect to the (IA)³ vectors only. Everything inside tf.tidy; nothing leaks per call.
import { tf } from "../backend/tf.js";
import { toScales, type Ia3VectorSet } from "../adapters/ia3.js";
import type { Ia3Scales } from "../model/layers.js";
import { crossKeyValues, decode, encode, lmLogits, type T5Model } from "../model/t5.js";
import type { TfewBatch } from "./batch.js";
import { tfewLosses } from "./losses.js";
import { tokenNll as fusedTokenNll } from "./token-nll.js";

export interface LossSettings {
  lengthNorm: number; // choice score = sum NLL / length^lengthNorm
  ulWeight: number; // weight of the unlikelihood loss
  lnWeight: number; // weight of the length-normalized (multiple-choice) loss
}

export interface LossValues {
  total: number;
  lm: number;
  ul: number;
  ln: number;
}

/** Per-token NLL of every choice [batch, choices, tgtLen] (0 at padding) and the target mask. */
export function choiceTokenNll(model: T5Model, batch: TfewBatch, ia3: Ia3Scales | undefined): { tokenNll: tf.Tensor3D; targetMask: tf.Tensor3D } {
  const { size, numChoices, srcLen, tgtLen } = batch;
  const inputIds = tf.tensor2d(batch.inputIds, [size, srcLen], "int32");
  const mask = tf.tensor2d(batch.attentionMask, [size, srcLen]);
  const encoded = encode(model, inputIds, mask, ia3); // [batch, src, d]
  const hidden = decode(
    model,
    {
      crossKv: crossKeyValues(model, encoded, ia3),
      encoderMask: mask,
      decoderInputIds: tf.tensor3d(batch.decoderInputIds, [size, numChoices, tgtLen], "int32"),
    },
    ia3,
  ); // [batch·choices·tgt, d]
  const logits = lmLogits(model, hidden); // [batch·choices·tgt, vocab]
  const tokenNll = tf.reshape(fusedTokenNll(logits, batch.targets), [size, numChoices, tgtLen]) as tf.Tensor3D; // [batch, choices, tgt]
  const present = Float32Array.from(batch.targets, (t) => (t > 0 ? 1 : 0));
  const targetMask = tf.tensor3d(present, [size, numChoices, tgtLen]); // [batch, choices, tgt]
  return { tokenNll, targetMask };
}

export interface GradientResult {
  losses: LossValues;
  grads: Map<string, Float32Array>; // d total / d vector, by module path
  choiceScores: Float32Array; // [batch, choices] length-normalized NLL (lower is better)
}

/** Loss and (IA)³ gradients of one micro-batch. */
export function computeGradients(model: T5Model, set: Ia3VectorSet, batch: TfewBatch, settings: LossSettings): GradientResult {
  const varList = set.specs.map((s) => set.variables.get(s.path) as tf.Variable);
  let result: GradientResult | undefined;
  tf.tidy(() => {
    let parts: { lm: tf.Scalar; ul: tf.Scalar; ln: tf.Scalar; scores: tf.Tensor2D } | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const { tokenNll, targetMask } = choiceTokenNll(model, batch, toScales(set));
      const losses = tfewLosses({
        tokenNll,
        targetMask,
        labels: batch.labels,
        lengthNorm: settings.lengthNorm,
        weights: { ul: settings.ulWeight, ln: settings.lnWeight },
      });
      parts = { lm: tf.keep(losses.lm), ul: tf.keep(losses.ul), ln: tf.keep(losses.ln), scores: tf.keep(losses.choiceScores) };
      return losses.total;
    }, varList);
    const p = parts as NonNullable<typeof parts>;
    const out = new Map<string, Float32Array>();
    set.specs.forEach((spec, i) => {
      const g = grads[(varList[i] as tf.Variable).name] as tf.Tensor;
      out.set(spec.path, g.dataSync() as Float32Array);
    });
    result = {
      losses: { total: value.dataSync()[0] as number, lm: p.lm.dataSync()[0] as number, ul: p.ul.dataSync()[0] as number, ln: p.ln.dataSync()[0] as number },
      grads: out,
      choiceScores: p.scores.dataSync() as Float32Array,
    };
    tf.dispose([p.lm, p.ul, p.ln, p.scores]);
  });
  return result as GradientResult;
}
