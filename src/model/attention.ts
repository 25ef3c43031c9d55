// Multi-head attention core of T5Attention (no 1/√d scaling; additive position bias and mask).
// `attentionReference` is plain autograd (batched matMuls: fine on native/GPU backends, slow on wasm);
// `attention` dispatches to the per-head 2-D version in fast-attention.ts when the model's options ask for it
// (per model, never per process: two models in one process keep their own kernels).
import { tf } from "../backend/tf.js";
import type { AttentionInputs, AttentionOptions } from "./attention-types.js";
import { attentionPerHead } from "./fast-attention.js";

export type { AttentionImpl, AttentionOptions } from "./attention-types.js";

const MIN_PAIRS = 16384; // below this many query×key pairs the per-head split costs more than it saves

/** Whether attention over these lengths takes the per-head path (`options` absent: the reference path). */
export function usesPerHead(queries: number, keys: number, options?: AttentionOptions): boolean {
  return options?.impl === "per-head" && queries * keys >= (options.minPairs ?? MIN_PAIRS);
}

/** softmax(q·kᵀ + bias + mask)·v per head → [batch, queries, heads·dKv]. */
export function attention(inputs: AttentionInputs, options?: AttentionOptions): tf.Tensor3D {
  return usesPerHead(inputs.q.shape[1], inputs.k.shape[1], options)
    ? attentionPerHead(inputs)
    : attentionReference(inputs);
}

export function attentionReference({ q, k, v, bias, keyMask, numHeads }: AttentionInputs): tf.Tensor3D {
  const [batch, queries, inner] = q.shape;
  const keys = k.shape[1];
  const dKv = inner / numHeads;
  const heads = (x: tf.Tensor3D, length: number) =>
    tf.transpose(tf.reshape(x, [batch, length, numHeads, dKv]), [0, 2, 1, 3]) as tf.Tensor4D; // [batch, heads, length, dKv]
  let scores = tf.matMul(heads(q, queries), heads(k, keys), false, true) as tf.Tensor4D; // [batch, heads, queries, keys]
  if (bias !== null) scores = tf.add(scores, tf.expandDims(bias, 0)); // + [1, heads, queries, keys]
  if (keyMask !== null) scores = tf.add(scores, tf.reshape(keyMask, [batch, 1, 1, keys])); // + [batch, 1, 1, keys]
  const probs = tf.softmax(scores, -1);
  const context = tf.matMul(probs, heads(v, keys)); // [batch, heads, queries, dKv]
  return tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [batch, queries, inner]) as tf.Tensor3D; // [batch, queries, heads·dKv]
}
