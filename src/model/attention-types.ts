// The inputs of one multi-head attention call (T5Attention's core), shared by attention.ts (reference path and
// dispatch) and fast-attention.ts (per-head path). A leaf: types only.
import type { tf } from "../backend/tf.js";

export interface AttentionInputs {
  q: tf.Tensor3D; // [batch, queries, heads·dKv]
  k: tf.Tensor3D; // [batch, keys, heads·dKv]
  v: tf.Tensor3D; // [batch, keys, heads·dKv]
  bias: tf.Tensor3D | null; // [heads, queries, keys] position bias (+ causal mask); frozen, no gradient
  keyMask: tf.Tensor2D | null; // [batch, keys] additive (0 or MASK_VALUE); no gradient
  numHeads: number;
  /** bias + mask per (example, head), [queries, keys] each, from headBiases(): shared by every layer */
  perHeadBias?: tf.Tensor2D[] | null;
}
