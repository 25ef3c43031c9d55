// Per-token negative log-likelihood with a fused gradient: nll = logsumexp(z) − z[target];
// d nll / d z = softmax(z) − onehot(target). Saves only the logits (no log-softmax copy on the tape)
// and avoids gather's scatter gradient. Padding targets (id ≤ 0) give 0 and no gradient.
// (oneHot is built as int32 then cast: tfjs-backend-wasm 4.22 writes int bits when asked for float32 directly.)
import { tf } from "../backend/tf.js";
import { customOp } from "../model/custom-op.js";

/** logits [rows, vocab], targets (length rows, 0 = pad) → nll [rows]. */
export function tokenNll(logits: tf.Tensor2D, targets: Int32Array): tf.Tensor1D {
  const [rows, vocab] = logits.shape;
  if (targets.length !== rows) throw new Error(`tokenNll: ${targets.length} targets for ${rows} rows`);
  // built inside each closure: tensors made during the forward pass are disposed before the backward runs
  const idValues = Int32Array.from(targets, (t) => Math.max(t, 0));
  const realValues = Float32Array.from(targets, (t) => (t > 0 ? 1 : 0));
  const op = customOp(([z], save) => {
    if (z === undefined) throw new Error("tokenNll: missing logits");
    save([z]);
    const ids = tf.tensor1d(idValues, "int32");
    const real = tf.tensor1d(realValues); // [rows]
    const oneHot = tf.cast(tf.oneHot(ids, vocab), "float32"); // [rows, vocab]
    const picked = tf.sum(tf.mul(z, oneHot), -1); // [rows]
    const nll = tf.mul(tf.sub(tf.logSumExp(z, -1), picked), real); // [rows]
    return {
      value: nll,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const zs = saved[0] as tf.Tensor2D;
        const ids = tf.tensor1d(idValues, "int32");
        const real = tf.tensor1d(realValues); // [rows]
        const scale = tf.reshape(tf.mul(dy, real), [rows, 1]); // [rows, 1]
        return tf.mul(tf.sub(tf.softmax(zs, -1), tf.cast(tf.oneHot(ids, vocab), "float32")), scale); // [rows, vocab]
      },
    };
  });
  return op(logits) as tf.Tensor1D;
}
