// Device reads: packed reads split back exactly, each call counts once, and forbidSyncReads makes every
// synchronous read throw (what the backend suites turn on with TFEW_STRICT_READS=1).
import { afterEach, describe, expect, it } from "vitest";
import { deviceReads, forbidSyncReads, readFloats, readPacked } from "./reads.js";
import { tf } from "./tf.js";

describe("device reads", () => {
  let restore: (() => void) | null = null;
  afterEach(() => {
    restore?.();
    restore = null;
  });

  it("reads several tensors of any shape and dtype in one counted read, leaving them alive", async () => {
    await tf.setBackend("cpu");
    const a = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const b = tf.tensor1d([7, 8, 9], "int32");
    const c = tf.scalar(-0.5);
    const tensors = tf.memory().numTensors;
    const before = deviceReads();
    const [ra, rb, rc] = await readPacked([a, b, c]);
    expect(deviceReads() - before).toBe(1);
    expect(Array.from(ra as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(Array.from(rb as Float32Array)).toEqual([7, 8, 9]);
    expect(Array.from(rc as Float32Array)).toEqual([-0.5]);
    expect(tf.memory().numTensors).toBe(tensors); // the packed copy is gone, the inputs stay
    expect(Array.from(await readFloats(b))).toEqual([7, 8, 9]);
    expect(await readPacked([])).toEqual([]);
    tf.dispose([a, b, c]);
  });

  it("forbidSyncReads: dataSync, arraySync and bufferSync throw naming the backend; async reads still work", async () => {
    await tf.setBackend("cpu");
    const t = tf.tensor1d([1, 2, 3]);
    restore = forbidSyncReads();
    expect(() => t.dataSync()).toThrow(/synchronous read \(dataSync\) of a 3 tensor on cpu/);
    expect(() => t.arraySync()).toThrow(/arraySync/);
    expect(() => t.bufferSync()).toThrow(/bufferSync/);
    expect(Array.from(await readFloats(t))).toEqual([1, 2, 3]);
    restore();
    restore = null;
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3]);
    t.dispose();
  });
});
