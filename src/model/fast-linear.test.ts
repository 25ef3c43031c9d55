// Fast frozen linear (cached W for a plain-matMul backward) and the (IA)³ scale with its ones·(dy⊙y)
// gradient equal plain autograd.
import { describe, expect, it } from "vitest";
import "@tensorflow/tfjs-backend-wasm";
import { tf } from "../backend/tf.js";
import { frozenMatMul, scaleExamples, scaleFeatures } from "./fast-linear.js";
import type { Linear } from "./weights.js";

describe.each(["cpu", "wasm"])("fast linear on %s", (backend) => {
  it("forward and input gradient match x·Wᵀ, with and without the cached W", async () => {
    await tf.setBackend(backend);
    const w = tf.randomNormal([6, 4], 0, 1, "float32", 7) as tf.Tensor2D; // [out, in]
    const x = tf.randomNormal([5, 4], 0, 1, "float32", 8) as tf.Tensor2D;
    const dy = tf.randomNormal([5, 6], 0, 1, "float32", 9);
    const plain = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a as tf.Tensor2D, w, false, true), dy)))(x);
    for (const keep of [true, false]) {
      const lin: Linear = {
        path: "p",
        inFeatures: 4,
        outFeatures: 6,
        wt: tf.transpose(w) as tf.Tensor2D,
        w: keep ? w : null,
      };
      const y = frozenMatMul(x, lin);
      expect(Math.max(...tf.abs(tf.sub(y, tf.matMul(x, w, false, true))).dataSync())).toBeLessThan(1e-5);
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(frozenMatMul(a as tf.Tensor2D, lin), dy)))(x);
      expect(Math.max(...tf.abs(tf.sub(g, plain)).dataSync())).toBeLessThan(1e-5);
    }
  });

  it("scaleFeatures gradients equal autograd of y·l", async () => {
    await tf.setBackend(backend);
    const y = tf.randomNormal([7, 3], 0, 1, "float32", 10) as tf.Tensor2D;
    const l = tf.randomNormal([3], 1, 0.2, "float32", 11) as tf.Tensor1D;
    const dy = tf.randomNormal([7, 3], 0, 1, "float32", 12);
    const f = (fn: (a: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor) => (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(fn(a as tf.Tensor2D, b as tf.Tensor1D), dy));
    const [gy1, gl1] = tf.grads(f((a, b) => tf.mul(a, b)))([y, l]);
    const [gy2, gl2] = tf.grads(f(scaleFeatures))([y, l]);
    expect(Math.max(...tf.abs(tf.sub(gy1 as tf.Tensor, gy2 as tf.Tensor)).dataSync())).toBeLessThan(1e-5);
    expect(Math.max(...tf.abs(tf.sub(gl1 as tf.Tensor, gl2 as tf.Tensor)).dataSync())).toBeLessThan(1e-5);
  });

  it("scaleExamples scales each example's rows by its own row of the table, gradients as autograd of an explicit per-row table", async () => {
    await tf.setBackend(backend);
    const y = tf.randomNormal([6, 3], 0, 1, "float32", 13) as tf.Tensor2D; // 2 examples × 3 rows each
    const table = tf.randomNormal([2, 3], 1, 0.2, "float32", 14) as tf.Tensor2D;
    const dy = tf.randomNormal([6, 3], 0, 1, "float32", 15);
    const rowsOf = tf.tensor2d([1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1], [6, 2]); // one-hot example of each row
    const f = (fn: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor) => (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(fn(a as tf.Tensor2D, b as tf.Tensor2D), dy));
    const [gy1, gt1] = tf.grads(f((a, b) => tf.mul(a, tf.matMul(rowsOf, b))))([y, table]);
    const [gy2, gt2] = tf.grads(f(scaleExamples))([y, table]);
    expect(
      tf
        .sub(
          scaleExamples(y, table).slice([3, 0], [1, 3]),
          tf.mul(y.slice([3, 0], [1, 3]), table.slice([1, 0], [1, 3])),
        )
        .abs()
        .max()
        .dataSync()[0],
    ).toBeLessThan(1e-6);
    expect(Math.max(...tf.abs(tf.sub(gy1 as tf.Tensor, gy2 as tf.Tensor)).dataSync())).toBeLessThan(1e-5);
    expect(Math.max(...tf.abs(tf.sub(gt1 as tf.Tensor, gt2 as tf.Tensor)).dataSync())).toBeLessThan(1e-5);
  });
});
