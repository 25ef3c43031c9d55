// The two ways a step's micro-batches add up: read per micro-batch and summed in float64 on the host (wasm /
// cpu), or summed on the device and read once (GPU / native backends). Same losses, per-task losses and
// gradients up to float32 rounding; the device path makes exactly one read and leaks nothing.
import { beforeAll, describe, expect, it } from "vitest";
import { assignVectors, createVectorSet, type Ia3VectorSet } from "../adapters/ia3.js";
import { IA3_DEFAULTS } from "../adapters/ia3-config.js";
import { taskSets } from "../adapters/trainable.js";
import { deviceReads } from "../backend/reads.js";
import { tf } from "../backend/tf.js";
import type { T5Model } from "../model/t5.js";
import { loadGoldModel } from "../../tests/helpers/gold-model.js";
import { combineParts, deviceStep, microBatchParts } from "./accumulate.js";
import { batchNormalizers, splitMicroBatches, type TfewExample } from "./batch.js";

const settings = { lengthNorm: 1, ulWeight: 1, lnWeight: 1 };
const ids = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => 3 + ((i * 31 + seed * 17) % 400)).concat([1]);

function patterned(model: T5Model, name: string, phase: number): Ia3VectorSet {
  const set = createVectorSet(name, model.weights, IA3_DEFAULTS.t5);
  const values = set.specs.map(
    (s) =>
      [
        s.path,
        Float32Array.from({ length: s.shape[0] * s.shape[1] }, (_, i) => 1 + 0.2 * Math.sin(i * 0.7 + phase)),
      ] as const,
  );
  assignVectors(set, new Map(values));
  return set;
}

function relDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  a.forEach((x, i) => {
    diff = Math.max(diff, Math.abs(x - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  });
  return diff / Math.max(scale, 1e-30);
}

describe("device accumulation equals host accumulation", () => {
  let model: T5Model;
  beforeAll(async () => {
    await tf.setBackend("cpu");
    model = await loadGoldModel({ keepUntransposed: false });
  });

  const examples = (withTasks: boolean): TfewExample[] =>
    [0, 1, 2, 3, 4].map((s) => ({
      inputIds: ids(6 + 3 * s, s),
      choices: [ids(1 + (s % 2), s + 1), ids(2, s + 2), ids(3, s + 3)],
      label: s % 3,
      ...(withTasks ? { task: [0, 1, 1, 0, 1][s] as number } : {}),
    }));

  it.each([
    ["one set", false],
    ["two task sets (per-task losses)", true],
  ])(
    "%s: micro-batches of 2 summed on the device = read one by one (≤ 1e-6), one read, no leak",
    async (_name, withTasks) => {
      const batch = examples(withTasks);
      const vectors = withTasks
        ? taskSets([patterned(model, "a", 0), patterned(model, "b", 1)])
        : patterned(model, "one", 0);
      const micro = splitMicroBatches(batch, 2);
      const n = batchNormalizers(batch);
      const host = combineParts(await microBatchParts(model, vectors, micro, settings, n), n, settings, batch);
      await deviceStep(model, vectors, micro, settings, n); // warm-up: kernels and caches
      const tensors = tf.memory().numTensors;
      const reads = deviceReads();
      const device = combineParts([await deviceStep(model, vectors, micro, settings, n)], n, settings, batch);
      expect(deviceReads() - reads).toBe(1);
      expect(device.reads).toBe(1);
      expect(host.reads).toBe(micro.length);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(Math.abs(device.losses.total - host.losses.total) / Math.abs(host.losses.total)).toBeLessThanOrEqual(1e-6);
      expect([...device.grads.keys()]).toEqual([...host.grads.keys()]);
      for (const [key, g] of host.grads)
        expect(relDiff(device.grads.get(key) as Float32Array, g)).toBeLessThanOrEqual(1e-6);
      if (withTasks) {
        expect([...(device.tasks ?? new Map()).keys()]).toEqual([...(host.tasks ?? new Map()).keys()]);
        for (const [task, h] of host.tasks ?? []) {
          const d = device.tasks?.get(task);
          expect(d?.examples).toBe(h.examples);
          expect(Math.abs((d?.losses.total ?? NaN) - h.losses.total) / Math.abs(h.losses.total)).toBeLessThanOrEqual(
            1e-6,
          );
        }
      }
    },
  );
});
