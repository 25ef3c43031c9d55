// Item 4 of issue 11: every TF.js kernel that training (forward + the gradient of the T-Few loss) and evaluation
// (rank classification) run, with the ops the webgpu backend gets (reference attention, no cached W), has a
// kernel registered by @tensorflow/tfjs-backend-webgpu. Profiled on the cpu backend; webgpu itself needs a GPU.
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createVectorSet, disposeVectorSet } from "../src/adapters/ia3.js";
import { IA3_DEFAULTS } from "../src/adapters/ia3-config.js";
import { fastPaths } from "../src/backend/select.js";
import { tf } from "../src/backend/tf.js";
import { rankBatch } from "../src/engine/rank.js";
import { loadT5, type LoadedModel } from "../src/model/load.js";
import { batchNormalizers, makeBatch } from "../src/engine/batch.js";
import { computeGradients } from "../src/engine/gradients.js";
import { isInstalled, REPO_ROOT } from "./helpers/shared.js";

const hasWebgpuPackage = isInstalled("@tensorflow/tfjs-backend-webgpu");

/** Kernel names one call runs (forward and, through variableGrads, backward). */
async function kernelsOf(f: () => unknown): Promise<Set<string>> {
  const info = await tf.profile(async () => {
    await f();
    return tf.scalar(0);
  });
  // kernelNames also holds customGrad / composite-op scopes ("forward", "logSoftmax__op"): keep real kernels
  return new Set(info.kernelNames.filter((name) => tf.getKernel(name, "cpu") !== undefined));
}

describe.skipIf(!hasWebgpuPackage)("webgpu kernel coverage", () => {
  let webgpu: Set<string>;
  let model: LoadedModel;
  beforeAll(async () => {
    await import("@tensorflow/tfjs-backend-webgpu"); // registers its kernels; the backend itself needs navigator.gpu
    webgpu = new Set(tf.getKernelsForBackend("webgpu").map((k) => k.kernelName));
    await tf.setBackend("cpu");
    const paths = fastPaths("webgpu", { nativeMatMul: false });
    model = {
      ...(await loadT5(join(REPO_ROOT, "data", "demo-model"), { keepUntransposed: paths.keepUntransposed })),
      attention: { impl: paths.attention, minPairs: 0 },
    };
  });

  const ids = (n: number, seed: number) =>
    Array.from({ length: n }, (_, i) => 3 + ((i * 37 + seed * 11) % 300)).concat([1]);

  it("covers a T-Few training step (losses and (IA)³ gradients)", async () => {
    const set = createVectorSet("k", model.weights, IA3_DEFAULTS.t5);
    const examples = [0, 1, 2].map((s) => ({
      inputIds: ids(20 + s, s),
      choices: [ids(2, s), ids(3, s + 1), ids(1, s + 2)],
      label: s % 3,
    }));
    const used = await kernelsOf(() =>
      computeGradients(
        model,
        set,
        makeBatch(examples, { padId: 0, decoderStartId: 0 }),
        { lengthNorm: 1, ulWeight: 1, lnWeight: 1 },
        batchNormalizers(examples),
      ),
    );
    disposeVectorSet(set);
    console.log(`training step kernels: ${[...used].sort().join(" ")}`);
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((k) => !webgpu.has(k))).toEqual([]);
  });

  it("covers rank classification with an adapter, and relu feed-forward layers (T5 v1.0, the bench model)", async () => {
    const set = createVectorSet("k", model.weights, IA3_DEFAULTS.t5);
    const used = await kernelsOf(() =>
      rankBatch(
        model,
        set,
        [
          { inputIds: ids(30, 1), choices: [ids(2, 1), ids(4, 2)] },
          { inputIds: ids(12, 2), choices: [ids(1, 3), ids(2, 4)] },
        ],
        { lengthNorm: 1, choiceChunk: 1 },
      ),
    );
    disposeVectorSet(set);
    const relu = await kernelsOf(() => tf.grad((x: tf.Tensor) => tf.sum(tf.relu(x)))(tf.tensor1d([-1, 2])));
    expect([...used, ...relu].filter((k) => !webgpu.has(k))).toEqual([]);
  });
});
