// One T-Few forward/backward over a micro-batch: the shared pipeline (encoder once per example, cross-
// attention K/V once per example shared by its choices, decoder over every choice), the loss SUMS divided
// by the whole batch's counts, and the gradients of that share with respect to the (IA)³ vectors only.
// Shares of all micro-batches add up to the full batch's loss and gradient. The tensor stage runs inside
// tf.tidy and leaves ONE packed tensor; reading it (one device read) is the async stage.
import { tf } from "../backend/tf.js";
import { readPacked } from "../backend/reads.js";
import { forwardPlan, trainedParams, type TrainedVectors } from "../adapters/trainable.js";
import type { Ia3Input } from "../model/routing-hook.js";
import type { T5Model } from "../model/t5.js";
import type { TfewBatch } from "./batch.js";
import { lossShare, lossSums, type LossNormalizers } from "./losses.js";
import { choiceNll, encodeInputs } from "./pipeline.js";
import type { Sums } from "./task-losses.js";

export interface LossSettings {
  lengthNorm: number; // choice score = sum NLL / length^lengthNorm
  ulWeight: number; // weight of the unlikelihood loss
  lnWeight: number; // weight of the length-normalized (multiple-choice) loss
}

export interface MicroBatchResult {
  sums: Sums; // this micro-batch's loss sums (see losses.ts LossSums)
  grads: Map<string, Float32Array>; // d share / d vector by flat name ("<task>/<path>" for several sets)
  choiceScores: Float32Array; // [batch, choices] length-normalized NLL (lower is better)
  taskSums?: Map<number, Sums>; // examples with tasks: each task's loss sums (for per-task losses)
}

/**
 * What one micro-batch leaves on the device (the caller disposes `summable` and `scores`):
 * summable [3 + 3·taskCount + Σ param sizes] = loss sums (lm, ul, ln), per-task sums (task-major), then every
 * trained parameter's gradient in trainedParams order (zeros for sets the batch does not use). Summable
 * tensors of micro-batches add up to the step's; scores [batch, choices] belong to this micro-batch.
 */
export interface MicroBatchTensors {
  summable: tf.Tensor1D;
  scores: tf.Tensor2D;
}

/** Per-token NLL of every choice [batch, choices, tgtLen] (0 at padding), the target and choice masks. */
export function choiceTokenNll(
  model: T5Model,
  batch: TfewBatch,
  ia3: Ia3Input | undefined,
): { tokenNll: tf.Tensor3D; targetMask: tf.Tensor3D; choiceMask: tf.Tensor2D } {
  const encoded = encodeInputs(model, batch, ia3);
  const group = {
    count: batch.numChoices,
    tgtLen: batch.tgtLen,
    targets: batch.targets,
    targetMask: batch.targetMask,
    decoderInputIds: batch.decoderInputIds,
  };
  const tokenNll = choiceNll(model, encoded, group, ia3); // [batch, choices, tgt]
  return {
    tokenNll,
    targetMask: tf.tensor3d(batch.targetMask, [batch.size, batch.numChoices, batch.tgtLen]),
    choiceMask: tf.tensor2d(batch.choiceMask, [batch.size, batch.numChoices]),
  };
}

/** The number of per-task sum slots a batch of these examples packs (0 without tasks). */
export function taskSlots(batch: TfewBatch, taskCount?: number): number {
  if (batch.tasks === null) return 0;
  return taskCount ?? Math.max(...batch.tasks) + 1;
}

/**
 * The tensor stage: loss sums and (IA)³ gradients of one micro-batch, normalized by the whole batch's counts
 * `n`, packed (see MicroBatchTensors). With several sets, example b is routed to sets[batch.tasks[b]]; SMEAR
 * experts and routers all get theirs. `taskCount` fixes the per-task slots (default: the batch's largest task + 1).
 */
export function gradientTensors(
  model: T5Model,
  vectors: TrainedVectors,
  batch: TfewBatch,
  settings: LossSettings,
  n: LossNormalizers,
  taskCount?: number,
): MicroBatchTensors {
  const tasks = batch.tasks ?? batch.labels.map(() => 0); // the set of each example (task routing)
  const plan = forwardPlan(vectors, tasks);
  const varList = plan.used.map((p) => p.variable);
  const slots = taskSlots(batch, taskCount);
  return tf.tidy(() => {
    let kept: { sums: tf.Tensor1D; scores: tf.Tensor2D; perTask: tf.Tensor1D | null } | undefined;
    const { grads } = tf.variableGrads(() => {
      const { tokenNll, targetMask, choiceMask } = choiceTokenNll(model, batch, plan.scales());
      const sums = lossSums({
        tokenNll,
        targetMask,
        choiceMask,
        labels: batch.labels,
        lengthNorm: settings.lengthNorm,
      });
      const perTask = slots === 0 ? null : tasksByExample(sums.perExample, batch.tasks as number[], slots);
      kept = {
        sums: tf.keep(tf.stack([sums.lm, sums.ul, sums.ln]) as tf.Tensor1D),
        scores: tf.keep(sums.choiceScores),
        perTask: perTask === null ? null : tf.keep(perTask),
      }; // past variableGrads' own tidy
      return lossShare(sums, n, { ul: settings.ulWeight, ln: settings.lnWeight });
    }, varList);
    const k = kept as NonNullable<typeof kept>;
    const parts: tf.Tensor[] = [k.sums, ...(k.perTask === null ? [] : [k.perTask])];
    for (const p of trainedParams(vectors)) parts.push(tf.reshape(grads[p.variable.name] ?? tf.zeros(p.shape), [-1])); // [size]
    const summable = tf.concat(parts) as tf.Tensor1D;
    tf.dispose([k.sums, ...(k.perTask === null ? [] : [k.perTask])]); // kept above, so the tidy would not
    return { summable, scores: k.scores };
  });
}

/** Per-task sums [slots·3] (task-major: lm, ul, ln) from per-example sums [batch, 3] and each example's task. */
function tasksByExample(perExample: tf.Tensor2D, tasks: readonly number[], slots: number): tf.Tensor1D {
  const onehot = tf.tensor2d(oneHotRows(tasks, slots), [tasks.length, slots]); // [batch, slots]
  return tf.reshape(tf.matMul(onehot, perExample, true, false), [-1]) as tf.Tensor1D; // [slots, 3] → [slots·3]
}

function oneHotRows(indices: readonly number[], depth: number): Float32Array {
  const out = new Float32Array(indices.length * depth);
  indices.forEach((t, b) => (out[b * depth + t] = 1));
  return out;
}

/** Host values of a (summed) packed tensor: loss sums, per-task sums of the tasks present, gradients by name. */
export function unpackSummable(
  data: Float32Array,
  vectors: TrainedVectors,
  slots: number,
  present?: ReadonlySet<number>,
): { sums: Sums; taskSums?: Map<number, Sums>; grads: Map<string, Float32Array> } {
  const sums = { lm: data[0] as number, ul: data[1] as number, ln: data[2] as number };
  let offset = 3;
  let taskSums: Map<number, Sums> | undefined;
  if (slots > 0) {
    taskSums = new Map();
    for (let t = 0; t < slots; t++, offset += 3) {
      if (present !== undefined && !present.has(t)) continue;
      taskSums.set(t, { lm: data[offset] as number, ul: data[offset + 1] as number, ln: data[offset + 2] as number });
    }
  }
  const grads = new Map<string, Float32Array>();
  for (const p of trainedParams(vectors)) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    grads.set(p.key, data.slice(offset, offset + size));
    offset += size;
  }
  if (offset !== data.length) throw new Error(`unpackSummable: ${data.length} values but the layout needs ${offset}`);
  return { sums, grads, ...(taskSums ? { taskSums } : {}) };
}

/** Both stages: the micro-batch's sums, gradients and scores, in one device read. */
export async function computeGradients(
  model: T5Model,
  vectors: TrainedVectors,
  batch: TfewBatch,
  settings: LossSettings,
  n: LossNormalizers,
): Promise<MicroBatchResult> {
  const t = gradientTensors(model, vectors, batch, settings, n);
  try {
    const [summable, scores] = (await readPacked([t.summable, t.scores])) as [Float32Array, Float32Array];
    const present = batch.tasks === null ? undefined : new Set(batch.tasks);
    return { ...unpackSummable(summable, vectors, taskSlots(batch), present), choiceScores: scores };
  } finally {
    tf.dispose([t.summable, t.scores]);
  }
}
