// The one per-token negative log-likelihood of tfew, for training and for scoring: nll = logsumexp(z) −
// z[target] at real positions, 0 at padding (given by an explicit mask, never by a pad id). The forward
// gathers the target logit (no one-hot copy); the fused gradient is (softmax(z) − onehot(target)) · dy.
// (oneHot is built as int32 then cast: tfjs-backend-wasm 4.22 writes int bits when asked for float32 directly.)
import { tf } from "../backend/tf.js";
import { logSumExpRows } from "../backend/native-matmul.js";
import { customOp } from "../model/custom-op.js";

/** logits [rows, vocab], targets [rows] (any id at padding), mask [rows] (1 = real, 0 = pad) → nll [rows]. */
export function tokenNll(logits: tf.Tensor2D, targets: Int32Array, mask: Float32Array): tf.Tensor1D {
  const [rows, vocab] = logits.shape;
  if (targets.length !== rows || mask.length !== rows)
    throw new Error(`tokenNll: ${targets.length} targets and ${mask.length} mask values for ${rows} rows`);
  const ids = Int32Array.from(targets, (t, row) => (mask[row] === 0 ? 0 : t)); // padding may hold any id
  const flatIndex = Int32Array.from(ids, (t, row) => row * vocab + t);
  const op = customOp(([z], save) => {
    if (z === undefined) throw new Error("tokenNll: missing logits");
    save([z]);
    const picked = tf.gather(tf.reshape(z, [rows * vocab]), tf.tensor1d(flatIndex, "int32")); // [rows]
    const nll = tf.mul(tf.sub(logSumExpRows(z as tf.Tensor2D), picked), tf.tensor1d(mask)); // [rows]
    return {
      value: nll,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const zs = saved[0] as tf.Tensor2D;
        const oneHot = tf.cast(tf.oneHot(tf.tensor1d(ids, "int32"), vocab), "float32"); // [rows, vocab]
        const scale = tf.reshape(tf.mul(dy, tf.tensor1d(mask)), [rows, 1]); // [rows, 1]
        return tf.mul(tf.sub(tf.softmax(zs, -1), oneHot), scale); // [rows, vocab]
      },
    };
  });
  return op(logits) as tf.Tensor1D;
}

/** The 0/1 mask of real target ids when padding is marked by ids ≤ 0 (fixtures: −100, or 0 for T5). */
export function maskFromIds(targets: ArrayLike<number>, padId = 0): Float32Array {
  return Float32Array.from(targets, (t) => (t < 0 || t === padId ? 0 : 1));
}
