// Where per-example routers (SMEAR, Muqeeth et al. 2023) plug into the forward pass: before each transformer
// block, a router turns the masked mean of the block's input [batch, d] into that block's (IA)³ scales.
// Plain (IA)³ scales pass through untouched (the single-set and task-routing paths).
import { tf } from "../backend/tf.js";
import type { Ia3Scales } from "./layers.js";

export interface BlockRef {
  stack: "encoder" | "decoder";
  layer: number;
}

/** Per-example scales of one block from its router input [batch, d]. */
export interface Ia3Router {
  blockScales(block: BlockRef, input: tf.Tensor2D): Ia3Scales;
}

/** What the forward pass accepts: fixed scales for every block, or a router asked block by block. */
export type Ia3Input = Ia3Scales | Ia3Router;

export function isRouter(ia3: Ia3Input | undefined): ia3 is Ia3Router {
  return ia3 !== undefined && typeof (ia3 as Partial<Ia3Router>).blockScales === "function";
}

/** The scales a block runs with; `input` is computed only when a router needs it. */
export function blockScales(
  ia3: Ia3Input | undefined,
  block: BlockRef,
  input: () => tf.Tensor2D,
): Ia3Scales | undefined {
  return isRouter(ia3) ? ia3.blockScales(block, input()) : ia3;
}

/** Mean over each example's real positions: x [batch·len, d] (example-major), mask [batch, len] 0/1 → [batch, d]. */
export function maskedMean(x: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D {
  const [batch, len] = mask.shape;
  const d = x.shape[1];
  const perExample = tf.reshape(x, [batch, len, d]); // [batch, len, d]
  const sums = tf.sum(tf.mul(perExample, tf.expandDims(mask, 2)), 1); // [batch, d]
  return tf.div(sums, tf.maximum(tf.sum(mask, 1, true), 1)) as tf.Tensor2D; // [batch, d] / [batch, 1]
}
