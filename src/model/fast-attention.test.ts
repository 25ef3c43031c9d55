// The per-head attention (hand-written backward) equals plain autograd attention on small shapes:
// outputs and gradients w.r.t. q, k, v, with position bias and padding mask, on cpu and wasm.
import { describe, expect, it } from "vitest";
import "@tensorflow/tfjs-backend-wasm";
import { tf } from "../backend/tf.js";
import type { AttentionInputs } from "./attention-types.js";
import { attentionReference } from "./attention.js";
import { attentionPerHead, headBiases } from "./fast-attention.js";
import { MASK_VALUE } from "./position-bias.js";

function maxAbs(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

describe.each(["cpu", "wasm"])("per-head attention on %s", (backend) => {
  it.each([
    { batch: 2, queries: 5, keys: 7, heads: 3, dKv: 4, shared: false },
    { batch: 3, queries: 6, keys: 6, heads: 2, dKv: 8, shared: true },
  ])("matches autograd: %o", async ({ batch, queries, keys, heads, dKv, shared }) => {
    await tf.setBackend(backend);
    const inner = heads * dKv;
    const q = tf.randomNormal([batch, queries, inner], 0, 1, "float32", 1) as tf.Tensor3D;
    const k = tf.randomNormal([batch, keys, inner], 0, 1, "float32", 2) as tf.Tensor3D;
    const v = tf.randomNormal([batch, keys, inner], 0, 1, "float32", 3) as tf.Tensor3D;
    const bias = tf.randomNormal([heads, queries, keys], 0, 1, "float32", 4) as tf.Tensor3D;
    const maskData = new Float32Array(batch * keys);
    maskData[keys - 1] = MASK_VALUE; // last key of example 0 is padding
    const keyMask = tf.tensor2d(maskData, [batch, keys]);
    const weights = tf.randomNormal([batch, queries, inner], 0, 1, "float32", 5); // random upstream gradient
    const make = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor): AttentionInputs => ({
      q: qq as tf.Tensor3D,
      k: kk as tf.Tensor3D,
      v: vv as tf.Tensor3D,
      bias,
      keyMask,
      numHeads: heads,
      perHeadBias: shared ? headBiases(bias, keyMask, batch, heads) : null,
    });
    const loss = (fn: (i: AttentionInputs) => tf.Tensor3D) => (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) =>
      tf.sum(tf.mul(fn(make(qq, kk, vv)), weights));
    const before = tf.memory().numTensors;
    const ref = tf.grads(loss(attentionReference))([q, k, v]);
    const fast = tf.grads(loss(attentionPerHead))([q, k, v]);
    const out = tf.tidy(() => maxAbs(attentionReference(make(q, k, v)), attentionPerHead(make(q, k, v))));
    expect(out).toBeLessThan(1e-5);
    ref.forEach((g, i) => expect(maxAbs(g, fast[i] as tf.Tensor)).toBeLessThan(1e-4));
    tf.dispose([...ref, ...fast]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
