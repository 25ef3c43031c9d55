// T5 building blocks as pure tensor functions (transformers modeling_t5.py): RMS layer norm, activations,
// linear layers with optional (IA)³ scaling (PEFT tuners/ia3 semantics), the feed-forward block.
import { tf } from "../backend/tf.js";
import type { ActivationName, T5Config } from "./config.js";
import { frozenMatMul, scaleExamples, scaleFeatures } from "./fast-linear.js";
import type { FfnWeights, Linear } from "./weights.js";

/**
 * One (IA)³ vector attached to a linear module: scales its input (feed-forward modules) or its output.
 * A [n] vector scales every row (one vector set); a [batch, n] table gives each example its own scales
 * (per-example routing: task vectors or a SMEAR mixture), rows being example-major.
 */
export interface Ia3Scale {
  vector: tf.Tensor1D | tf.Tensor2D; // [n] or [batch, n]; n = in when scaleInput, else out
  scaleInput: boolean;
}

/** (IA)³ vectors by HF module path ("decoder.block.1.layer.2.DenseReluDense.wo"). */
export type Ia3Scales = ReadonlyMap<string, Ia3Scale>;

/** T5LayerNorm: w · x / sqrt(mean(x²) + eps), no mean subtraction, no bias. x [..., d]. */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor1D, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const variance = tf.mean(tf.square(x), -1, true); // [..., 1]
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(variance, eps))), weight);
  });
}

/** gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluNew(x: tf.Tensor): tf.Tensor {
  const c = Math.sqrt(2 / Math.PI);
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), c))));
}

export function activate(x: tf.Tensor, activation: ActivationName): tf.Tensor {
  switch (activation) {
    case "relu":
      return tf.relu(x);
    case "gelu_new":
      return geluNew(x);
    case "gelu":
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));
    case "silu":
      return tf.mul(x, tf.sigmoid(x));
  }
}

/** x [rows, in] → [rows, out] through a frozen linear layer, applying its (IA)³ vector if it has one. */
export function linear(x: tf.Tensor2D, lin: Linear, ia3: Ia3Scales | undefined): tf.Tensor2D {
  const scale = ia3?.get(lin.path);
  if (scale === undefined) return frozenMatMul(x, lin);
  if (scale.scaleInput) return frozenMatMul(applyScale(x, scale.vector), lin);
  return applyScale(frozenMatMul(x, lin), scale.vector);
}

/** y [rows, n] times one vector [n] (the single-set path, unchanged) or per-example scales [batch, n]. */
function applyScale(y: tf.Tensor2D, vector: tf.Tensor1D | tf.Tensor2D): tf.Tensor2D {
  return vector.rank === 1 ? scaleFeatures(y, vector as tf.Tensor1D) : scaleExamples(y, vector as tf.Tensor2D);
}

/** T5DenseActDense / T5DenseGatedActDense on x [rows, dModel]. */
export function feedForward(
  x: tf.Tensor2D,
  ffn: FfnWeights,
  config: T5Config,
  ia3: Ia3Scales | undefined,
): tf.Tensor2D {
  let hidden: tf.Tensor2D;
  if (ffn.wi0 !== null && ffn.wi1 !== null) {
    hidden = tf.mul(activate(linear(x, ffn.wi0, ia3), config.activation), linear(x, ffn.wi1, ia3)) as tf.Tensor2D; // [rows, dFf]
  } else if (ffn.wi !== null) {
    hidden = activate(linear(x, ffn.wi, ia3), config.activation) as tf.Tensor2D; // [rows, dFf]
  } else {
    throw new Error("feedForward: weights hold neither wi nor wi_0/wi_1");
  }
  return linear(hidden, ffn.wo, ia3);
}
