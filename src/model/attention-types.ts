// The inputs of one multi-head attention call (T5Attention's core), shared by attention.ts (reference path and
// dispatch) and fast-attention.ts (per-head path), and the kernel choice a model carries. A leaf: types only.
import type { tf } from "../backend/tf.js";

/** "reference": batched matMuls (native/GPU backends); "per-head": 2-D matMuls per head (wasm/cpu). */
export type AttentionImpl = "reference" | "per-head";

/** A model's attention kernel (T5Model.attention; absent: the reference path). */
export interface AttentionOptions {
  impl: AttentionImpl;
  /** smallest queries×keys that takes the per-head path (default 16384; decoder and cross-attention stay batched); tests use 0 */
  minPairs?: number;
}

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
