// Frozen linear layers whose forward AND backward are plain 2-D matMuls — the only fast matMul layout on
// the wasm backend (transposed/batched matMul there is 10-30× slower; see PERF-NOTES). Weight gradients
// are never computed: base weights are frozen.
import { tf } from "../backend/tf.js";
import { customOp } from "./custom-op.js";
import type { Linear } from "./weights.js";

/** x [rows, in] → [rows, out]. With `lin.w` cached, dx = dy·W (plain); else autograd's dy·(Wᵀ)ᵀ. */
export function frozenMatMul(x: tf.Tensor2D, lin: Linear): tf.Tensor2D {
  const w = lin.w;
  if (w === null) return tf.matMul(x, lin.wt);
  const op = customOp(([input]) => ({
    value: tf.matMul(input as tf.Tensor2D, lin.wt), // [rows, out]
    gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, w), // [rows, in]
  }));
  return op(x) as tf.Tensor2D;
}

/**
 * y [rows, n] · vector [n] (an (IA)³ scale). Its gradient is ones[1, rows]·(dy ⊙ y): a plain matMul
 * instead of a column reduction (measured faster on wasm), and dy ⊙ vector for y.
 */
export function scaleFeatures(y: tf.Tensor2D, vector: tf.Tensor1D): tf.Tensor2D {
  const op = customOp(([input, scale], save) => {
    save([input as tf.Tensor, scale as tf.Tensor]);
    return {
      value: tf.mul(input as tf.Tensor, scale as tf.Tensor),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedInput, savedScale] = saved as [tf.Tensor2D, tf.Tensor1D];
        const rows = savedInput.shape[0];
        const ones = tf.ones([1, rows]); // [1, rows]
        const dScale = tf.reshape(tf.matMul(ones, tf.mul(dy, savedInput) as tf.Tensor2D), [savedScale.shape[0]]); // [n]
        return [tf.mul(dy, savedScale), dScale];
      },
    };
  });
  return op(y, vector) as tf.Tensor2D;
}

/**
 * Per-example (IA)³ scales: y [rows, n] with rows example-major (encoder [batch·src], decoder
 * [batch·choices·tgt], cross-attention K/V [batch·src]) times table [batch, n], one row of scales per example.
 * Gradients by autograd (a broadcast multiply): dy ⊙ scale for y, Σ over each example's rows of dy ⊙ y for table.
 */
export function scaleExamples(y: tf.Tensor2D, table: tf.Tensor2D): tf.Tensor2D {
  const [rows, n] = y.shape;
  const batch = table.shape[0];
  if (rows % batch !== 0) throw new Error(`scaleExamples: ${rows} rows are not a multiple of ${batch} examples`);
  const perExample = tf.reshape(y, [batch, rows / batch, n]); // [batch, rows/batch, n]
  const scaled = tf.mul(perExample, tf.expandDims(table, 1)); // [batch, rows/batch, n] · [batch, 1, n]
  return tf.reshape(scaled, [rows, n]) as tf.Tensor2D; // [rows, n]
}
