// T5 relative position buckets and bias, as transformers' T5Attention._relative_position_bucket /
// compute_bias (modeling_t5.py): log-spaced buckets past max_exact, float32 arithmetic like torch.
import { tf } from "../backend/tf.js";

export interface BucketOptions {
  bidirectional: boolean; // encoder: true; decoder self-attention: false
  numBuckets: number; // relative_attention_num_buckets
  maxDistance: number; // relative_attention_max_distance
}

/** Bucket of one relative position (key position − query position). */
export function relativePositionBucket(relativePosition: number, options: BucketOptions): number {
  let numBuckets = options.numBuckets;
  let bucket = 0;
  let distance: number;
  if (options.bidirectional) {
    numBuckets = Math.floor(numBuckets / 2);
    if (relativePosition > 0) bucket += numBuckets;
    distance = Math.abs(relativePosition);
  } else {
    distance = -Math.min(relativePosition, 0);
  }
  const maxExact = Math.floor(numBuckets / 2);
  if (distance < maxExact) return bucket + distance;
  // torch evaluates this in float32: log(d / max_exact) / log(max_distance / max_exact) * (num_buckets - max_exact)
  const f = Math.fround;
  const ratio = f(distance / maxExact);
  const logRatio = f(Math.log(ratio));
  const scaled = f(f(logRatio / f(Math.log(options.maxDistance / maxExact))) * (numBuckets - maxExact));
  const large = Math.min(maxExact + Math.trunc(scaled), numBuckets - 1);
  return bucket + large;
}

/** Buckets for every (query, key) pair: Int32Array of length queryLength·keyLength, row-major [query, key]. */
export function relativePositionBuckets(queryLength: number, keyLength: number, options: BucketOptions): Int32Array {
  const out = new Int32Array(queryLength * keyLength);
  for (let q = 0; q < queryLength; q++) {
    for (let k = 0; k < keyLength; k++) out[q * keyLength + k] = relativePositionBucket(k - q, options);
  }
  return out;
}

/**
 * Additive attention bias [heads, query, key] from the frozen bias table [numBuckets, heads];
 * with `causal`, future keys get a large negative value (decoder self-attention).
 */
export function positionBias(
  table: tf.Tensor2D,
  queryLength: number,
  keyLength: number,
  options: BucketOptions & { causal: boolean },
): tf.Tensor3D {
  return tf.tidy(() => {
    const buckets = tf.tensor1d(relativePositionBuckets(queryLength, keyLength, options), "int32");
    const heads = table.shape[1];
    const values = tf.gather(table, buckets); // [query·key, heads]
    let bias = tf.transpose(tf.reshape(values, [queryLength, keyLength, heads]), [2, 0, 1]) as tf.Tensor3D; // [heads, query, key]
    if (options.causal) bias = tf.add(bias, causalMask(queryLength, keyLength)) as tf.Tensor3D;
    return bias;
  });
}

/** Large negative additive mask value (HF uses float32 min; any value that underflows exp() is equivalent). */
export const MASK_VALUE = -1e9;

/** [1, query, key]: 0 where key ≤ query, MASK_VALUE after. */
export function causalMask(queryLength: number, keyLength: number): tf.Tensor3D {
  const data = new Float32Array(queryLength * keyLength);
  for (let q = 0; q < queryLength; q++) for (let k = q + 1; k < keyLength; k++) data[q * keyLength + k] = MASK_VALUE;
  return tf.tensor3d(data, [1, queryLength, keyLength]);
}
