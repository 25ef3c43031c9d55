// The one forward pipeline of training and scoring: encode the prompts once, compute every decoder layer's
// cross-attention K/V once per example, then decode any group of answer choices against them and take the
// per-token NLL. Training decodes all choices in one pass; rank classification decodes them in chunks.
import { tf } from "../backend/tf.js";
import type { Ia3Input } from "../model/routing-hook.js";
import { crossKeyValues, decode, encode, lmLogits, type CrossKv, type T5Model } from "../model/t5.js";
import { tokenNll } from "./token-nll.js";

/** Encoder side of a batch: what every choice group of its examples attends to. */
export interface Encoded {
  size: number; // examples
  mask: tf.Tensor2D; // [size, srcLen] 0/1
  crossKv: CrossKv[]; // per decoder layer, [size, srcLen, heads·dKv]
}

/** Choices of every example, padded: count choices of tgtLen tokens per example. */
export interface ChoiceGroup {
  count: number;
  tgtLen: number;
  targets: Int32Array; // [size, count, tgtLen]
  targetMask: Float32Array; // [size, count, tgtLen] 1 = real token
  decoderInputIds: Int32Array; // [size, count, tgtLen] targets shifted right
}

export function encodeInputs(
  model: T5Model,
  inputs: { inputIds: Int32Array; attentionMask: Float32Array; size: number; srcLen: number },
  ia3: Ia3Input | undefined,
): Encoded {
  const { size, srcLen } = inputs;
  const mask = tf.tensor2d(inputs.attentionMask, [size, srcLen]);
  const encoded = encode(model, tf.tensor2d(inputs.inputIds, [size, srcLen], "int32"), mask, ia3); // [size, src, d]
  return { size, mask, crossKv: crossKeyValues(model, encoded, ia3, mask) };
}

/** Per-token NLL [size, count, tgtLen] of a choice group (0 at padding). */
export function choiceNll(
  model: T5Model,
  encoded: Encoded,
  group: ChoiceGroup,
  ia3: Ia3Input | undefined,
): tf.Tensor3D {
  const { size } = encoded;
  const { count, tgtLen } = group;
  const decoderInputIds = tf.tensor3d(group.decoderInputIds, [size, count, tgtLen], "int32");
  const hidden = decode(model, { crossKv: encoded.crossKv, encoderMask: encoded.mask, decoderInputIds }, ia3); // [size·count·tgt, d]
  const nll = tokenNll(lmLogits(model, hidden), group.targets, group.targetMask); // [size·count·tgt]
  return tf.reshape(nll, [size, count, tgtLen]) as tf.Tensor3D; // [size, count, tgt]
}
