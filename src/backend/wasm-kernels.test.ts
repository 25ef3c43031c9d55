// tfew's own wasm kernels: the native row-wise log-sum-exp (when the addon and OpenBLAS are present) against
// tf.logSumExp, and the zero-copy Identity (saved tensors share data, and outlive the tensor they came from).
import { describe, expect, it } from "vitest";
import "@tensorflow/tfjs-backend-wasm";
import { selectBackend } from "./select.js";
import { tf } from "./tf.js";
import { LOG_SUM_EXP_ROWS, logSumExpRows } from "./native-matmul.js";

await selectBackend("wasm");
const native = tf.getKernel(LOG_SUM_EXP_ROWS, "wasm") !== undefined;

describe("logSumExpRows on wasm", () => {
  it.skipIf(!native)("equals float64 within 2e-7 relative (tf.logSumExp: 1e-5), over a 32128-wide vocabulary", () => {
    const z = tf.tidy(() => tf.add(tf.mul(tf.randomNormal([37, 32128], 0, 1, "float32", 7), 8), 3)) as tf.Tensor2D;
    const mine = logSumExpRows(z).dataSync();
    const ref = tf.logSumExp(z, -1).dataSync();
    for (let r = 0; r < 37; r++)
      expect(Math.abs((mine[r] as number) - (ref[r] as number))).toBeLessThanOrEqual(1e-5 * Math.abs(ref[r] as number));
    // against float64: the native sum (SIMD float lanes per block, blocks in double) is within 2e-7 relative
    const zs = z.dataSync();
    for (let r = 0; r < 37; r++) {
      const row = Array.from((zs as Float32Array).subarray(r * 32128, (r + 1) * 32128));
      const max = row.reduce((m: number, v: number) => Math.max(m, v), -Infinity);
      const exact = max + Math.log(row.reduce((a: number, v: number) => a + Math.exp(v - max), 0));
      expect(Math.abs((mine[r] as number) - exact)).toBeLessThanOrEqual(2e-7 * Math.abs(exact));
    }
    z.dispose();
  });

  it.skipIf(!native)("huge logits do not overflow; -Inf entries count 0; NaN propagates", () => {
    const z = tf.tensor2d([1e30, 1e30, -Infinity, 0, -Infinity, 0, Number.NaN, 1, 2], [3, 3]);
    const out = logSumExpRows(z).dataSync();
    expect(out[0]).toBe(Math.fround(1e30)); // + log 2 is far below float32's resolution there
    expect(out[1]).toBeCloseTo(Math.log(2), 6);
    expect(out[2]).toBeNaN();
    z.dispose();
  });
});

describe("Identity on wasm", () => {
  it("a clone shares the data (no new bytes) and keeps its values after the original is disposed", () => {
    const x = tf.tensor1d([1, 2, 3]);
    const buffers = tf.backend().numDataIds();
    const y = x.clone();
    expect(tf.backend().numDataIds()).toBe(buffers); // the same buffer, one more reference
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    y.dispose();
  });
});
