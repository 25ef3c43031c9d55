// Attention as per-(example, head) plain 2-D matMuls with a hand-written backward: the layout the wasm
// backend runs fast (its batched/transposed matMul is 10-30× slower). Same math as attentionReference.
import { tf } from "../backend/tf.js";
import type { AttentionInputs } from "./attention-types.js";
import { customOp } from "./custom-op.js";

/** Splits x [batch, length, heads·dKv] into per-(batch, head) tensors, [length, dKv] or transposed [dKv, length]. */
function splitHeads(x: tf.Tensor, numHeads: number, options: { transposed: boolean }): tf.Tensor2D[] {
  const [batch, length, inner] = x.shape as [number, number, number];
  const dKv = inner / numHeads;
  const perm = options.transposed ? [0, 2, 3, 1] : [0, 2, 1, 3];
  const moved = tf.transpose(tf.reshape(x, [batch, length, numHeads, dKv]), perm); // [batch, heads, length, dKv] or [batch, heads, dKv, length]
  const data = moved.dataSync() as Float32Array; // one read; a tensor per head is cheaper than slice/split on wasm
  moved.dispose();
  const size = length * dKv;
  const shape: [number, number] = options.transposed ? [dKv, length] : [length, dKv];
  const out: tf.Tensor2D[] = [];
  for (let i = 0; i < batch * numHeads; i++) out.push(tf.tensor2d(data.subarray(i * size, (i + 1) * size), shape));
  return out;
}

/** Inverse of splitHeads for [length, dKv] pieces → [batch, length, heads·dKv]. */
function mergeHeads(pieces: tf.Tensor2D[], batch: number, numHeads: number): tf.Tensor3D {
  const [length, dKv] = (pieces[0] as tf.Tensor2D).shape;
  const stacked = tf.reshape(tf.concat(pieces, 0), [batch, numHeads, length, dKv]); // [batch, heads, length, dKv]
  return tf.reshape(tf.transpose(stacked, [0, 2, 1, 3]), [batch, length, numHeads * dKv]) as tf.Tensor3D; // [batch, length, heads·dKv]
}

function splitRows(x: tf.Tensor, count: number): tf.Tensor2D[] {
  const [, rows, cols] = x.shape.length === 3 ? (x.shape as [number, number, number]) : [1, 1, x.shape[1] as number];
  const data = x.dataSync() as Float32Array;
  const size = rows * cols;
  const out: tf.Tensor2D[] = [];
  for (let i = 0; i < count; i++) out.push(tf.tensor2d(data.subarray(i * size, (i + 1) * size), [rows, cols]));
  return out;
}

/**
 * bias [heads, queries, keys] + keyMask [batch, keys] as one [queries, keys] tensor per (example, head), in
 * example-major order. Position bias and mask are the same in every layer: build once per stack.
 */
export function headBiases(
  bias: tf.Tensor3D | null,
  keyMask: tf.Tensor2D | null,
  batch: number,
  numHeads: number,
): tf.Tensor2D[] | null {
  if (bias === null && keyMask === null) return null;
  const [queries, keys] = bias ? [bias.shape[1], bias.shape[2]] : [1, (keyMask as tf.Tensor2D).shape[1]];
  const combined = tf.tidy(() => {
    let c: tf.Tensor = bias ? tf.expandDims(bias, 0) : tf.zeros([1, numHeads, queries, keys]); // [1, heads, queries, keys]
    if (keyMask) c = tf.add(c, tf.reshape(keyMask, [batch, 1, 1, keys])); // [batch, heads, queries, keys]
    return tf.broadcastTo(c, [batch, numHeads, queries, keys]);
  });
  const pieces = splitRows(tf.reshape(combined, [batch * numHeads, queries, keys]), batch * numHeads);
  combined.dispose();
  return pieces;
}

export function attentionPerHead({ q, k, v, bias, keyMask, numHeads, perHeadBias }: AttentionInputs): tf.Tensor3D {
  const batch = q.shape[0];
  const combined = perHeadBias ?? null;
  const op = customOp(([qIn, kIn, vIn], save) => {
    if (qIn === undefined || kIn === undefined || vIn === undefined) throw new Error("attentionPerHead: missing input");
    const qs = splitHeads(qIn, numHeads, { transposed: false }); // [queries, dKv] each
    const ks = splitHeads(kIn, numHeads, { transposed: false }); // [keys, dKv]
    const kts = splitHeads(kIn, numHeads, { transposed: true }); // [dKv, keys]
    const vs = splitHeads(vIn, numHeads, { transposed: false }); // [keys, dKv]
    const vts = splitHeads(vIn, numHeads, { transposed: true }); // [dKv, keys]
    const biases = combined !== null || bias === null ? null : splitRows(bias, numHeads); // [queries, keys] per head
    const masks =
      combined !== null || keyMask === null
        ? null
        : splitRows(tf.reshape(keyMask, [batch, 1, keyMask.shape[1]]), batch); // [1, keys] per example
    const probs: tf.Tensor2D[] = [];
    const contexts: tf.Tensor2D[] = [];
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < numHeads; h++) {
        const i = b * numHeads + h;
        let scores: tf.Tensor2D = tf.matMul(qs[i] as tf.Tensor2D, kts[i] as tf.Tensor2D); // [queries, keys]
        if (combined !== null) scores = tf.add(scores, combined[i] as tf.Tensor2D);
        if (biases !== null) scores = tf.add(scores, biases[h] as tf.Tensor2D);
        if (masks !== null) scores = tf.add(scores, masks[b] as tf.Tensor2D);
        const p = tf.softmax(scores, -1);
        probs.push(p);
        contexts.push(tf.matMul(p, vs[i] as tf.Tensor2D)); // [queries, dKv]
      }
    }
    save([...probs, ...qs, ...ks, ...vts]);
    return {
      value: mergeHeads(contexts, batch, numHeads),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const n = batch * numHeads;
        const sp = saved.slice(0, n) as tf.Tensor2D[];
        const sq = saved.slice(n, 2 * n) as tf.Tensor2D[];
        const sk = saved.slice(2 * n, 3 * n) as tf.Tensor2D[];
        const svt = saved.slice(3 * n, 4 * n) as tf.Tensor2D[];
        const dOut = splitHeads(dy, numHeads, { transposed: false }); // [queries, dKv]
        const dq: tf.Tensor2D[] = [];
        const dk: tf.Tensor2D[] = [];
        const dv: tf.Tensor2D[] = [];
        for (let i = 0; i < n; i++) {
          const p = sp[i] as tf.Tensor2D;
          const dO = dOut[i] as tf.Tensor2D;
          const dP = tf.matMul(dO, svt[i] as tf.Tensor2D); // [queries, keys]
          dv.push(tf.matMul(tf.transpose(p), dO)); // [keys, dKv]
          const dS = tf.mul(p, tf.sub(dP, tf.sum(tf.mul(dP, p), -1, true))) as tf.Tensor2D; // softmax backward, [queries, keys]
          dq.push(tf.matMul(dS, sk[i] as tf.Tensor2D)); // [queries, dKv]
          dk.push(tf.matMul(tf.transpose(dS), sq[i] as tf.Tensor2D)); // [keys, dKv]
        }
        return [mergeHeads(dq, batch, numHeads), mergeHeads(dk, batch, numHeads), mergeHeads(dv, batch, numHeads)];
      },
    };
  });
  return op(q, k, v) as tf.Tensor3D;
}
