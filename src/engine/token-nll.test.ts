// The token NLL equals −log_softmax(z)[target] (0 at padding, whatever id the padding holds) and its
// gradient equals autograd's, on cpu and wasm.
import { describe, expect, it } from "vitest";
import "@tensorflow/tfjs-backend-wasm";
import { tf } from "../backend/tf.js";
import { tokenNll } from "./token-nll.js";

describe.each(["cpu", "wasm"])("token NLL on %s", (backend) => {
  it("value and gradient match log-softmax + one-hot; padding gives 0", async () => {
    await tf.setBackend(backend);
    const z = tf.randomNormal([4, 9], 0, 3, "float32", 3) as tf.Tensor2D;
    const targets = Int32Array.from([3, 7, 8, 0]); // row 1 is padding (holding a pad id of 7), row 3 a real id 0
    const mask = Float32Array.from([1, 0, 1, 1]);
    const oneHot = tf.tensor2d(
      Array.from(targets, (t, r) => Array.from({ length: 9 }, (_, j) => (j === t && mask[r] === 1 ? 1 : 0))),
    );
    const plain = (a: tf.Tensor) => tf.neg(tf.sum(tf.mul(tf.logSoftmax(a), oneHot), -1));
    const fused = (a: tf.Tensor) => tokenNll(a as tf.Tensor2D, targets, mask);
    const v1 = plain(z).dataSync();
    const v2 = fused(z).dataSync();
    expect(v2[1]).toBe(0);
    expect(v2[3]).toBeGreaterThan(0); // id 0 is a real token when the mask says so
    for (let i = 0; i < 4; i++) expect(Math.abs((v1[i] as number) - (v2[i] as number))).toBeLessThan(1e-5);
    const w = tf.tensor1d([0.5, 2, -1, 3]);
    const g1 = tf
      .grad((a: tf.Tensor) => tf.sum(tf.mul(plain(a), w)))(z)
      .dataSync();
    const g2 = tf
      .grad((a: tf.Tensor) => tf.sum(tf.mul(fused(a), w)))(z)
      .dataSync();
    for (let i = 0; i < g1.length; i++) expect(Math.abs((g1[i] as number) - (g2[i] as number))).toBeLessThan(1e-5);
  });
});
