// One T-Few forward/backward over a micro-batch: the shared pipeline (encoder once per example, cross-
// attention K/V once per example shared by its choices, decoder over every choice), the loss SUMS divided
// by the whole batch's counts, and the gradients of that share with respect to the (IA)³ vectors only.
// Shares of all micro-batches add up to the full batch's loss and gradient. Everything inside tf.tidy.
import { tf } from "../backend/tf.js";
import { forwardPlan, trainedParams, type TrainedVectors } from "../adapters/trainable.js";
import type { Ia3Input } from "../model/routing-hook.js";
import type { T5Model } from "../model/t5.js";
import type { TfewBatch } from "./batch.js";
import { lossShare, lossSums, type LossNormalizers } from "./losses.js";
import { choiceNll, encodeInputs } from "./pipeline.js";
import { addByTask, exampleSums, type Sums } from "./task-losses.js";

export interface LossSettings {
  lengthNorm: number; // choice score = sum NLL / length^lengthNorm
  ulWeight: number; // weight of the unlikelihood loss
  lnWeight: number; // weight of the length-normalized (multiple-choice) loss
}

export interface MicroBatchResult {
  sums: { lm: number; ul: number; ln: number }; // this micro-batch's loss sums (see losses.ts LossSums)
  grads: Map<string, Float32Array>; // d share / d vector, by module path ("<task>/<path>" for several sets); shares add up to the batch gradient
  choiceScores: Float32Array; // [batch, choices] length-normalized NLL (lower is better)
  taskSums?: Map<number, Sums>; // examples with tasks: each task's loss sums (for per-task losses)
}

/** Per-token NLL of every choice [batch, choices, tgtLen] (0 at padding) and the target mask. */
export function choiceTokenNll(model: T5Model, batch: TfewBatch, ia3: Ia3Input | undefined): { tokenNll: tf.Tensor3D; targetMask: tf.Tensor3D } {
  const encoded = encodeInputs(model, batch, ia3);
  const group = { count: batch.numChoices, tgtLen: batch.tgtLen, targets: batch.targets, targetMask: batch.targetMask, decoderInputIds: batch.decoderInputIds };
  const tokenNll = choiceNll(model, encoded, group, ia3); // [batch, choices, tgt]
  return { tokenNll, targetMask: tf.tensor3d(batch.targetMask, [batch.size, batch.numChoices, batch.tgtLen]) };
}

/**
 * Loss sums and (IA)³ gradients of one micro-batch, normalized by the whole batch's counts `n`. With several
 * sets, example b is routed to sets[batch.tasks[b]] and sets no example uses get zero gradients; SMEAR
 * experts and routers all get theirs.
 */
export function computeGradients(model: T5Model, vectors: TrainedVectors, batch: TfewBatch, settings: LossSettings, n: LossNormalizers): MicroBatchResult {
  const tasks = batch.tasks ?? batch.labels.map(() => 0); // the set of each example (task routing)
  const plan = forwardPlan(vectors, tasks);
  const varList = plan.used.map((p) => p.variable);
  let result: MicroBatchResult | undefined;
  tf.tidy(() => {
    let parts: { lm: tf.Scalar; ul: tf.Scalar; ln: tf.Scalar; scores: tf.Tensor2D; tokenNll: tf.Tensor3D; targetMask: tf.Tensor3D } | undefined;
    const { grads } = tf.variableGrads(() => {
      const { tokenNll, targetMask } = choiceTokenNll(model, batch, plan.scales());
      const sums = lossSums({ tokenNll, targetMask, labels: batch.labels, lengthNorm: settings.lengthNorm });
      parts = { lm: tf.keep(sums.lm), ul: tf.keep(sums.ul), ln: tf.keep(sums.ln), scores: tf.keep(sums.choiceScores), tokenNll: tf.keep(tokenNll), targetMask: tf.keep(targetMask) }; // kept past variableGrads' own tidy
      return lossShare(sums, n, { ul: settings.ulWeight, ln: settings.lnWeight });
    }, varList);
    const p = parts as NonNullable<typeof parts>;
    const out = new Map<string, Float32Array>();
    for (const p of trainedParams(vectors)) {
      const g = grads[p.variable.name];
      out.set(p.key, g ? (g.dataSync() as Float32Array) : new Float32Array(p.shape.reduce((a, b) => a * b, 1)));
    }
    const scalar = (t: tf.Scalar) => t.dataSync()[0] as number;
    result = { sums: { lm: scalar(p.lm), ul: scalar(p.ul), ln: scalar(p.ln) }, grads: out, choiceScores: p.scores.dataSync() as Float32Array };
    if (batch.tasks !== null) {
      result.taskSums = new Map(); // per-task losses (also when every task shares one set)
      addByTask(result.taskSums, exampleSums(p.tokenNll, p.targetMask, batch.labels, settings.lengthNorm), batch.tasks);
    }
    tf.dispose([p.lm, p.ul, p.ln, p.scores, p.tokenNll, p.targetMask]);
  });
  return result as MicroBatchResult;
}
