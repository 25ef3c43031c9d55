// The tied-embedding and ReLU paths, checked by equivalences on the gold weights (no second gold model here):
// - tied: logits of a tied model equal those of an untied model whose lm_head is shared·d_model^-0.5;
// - relu: a non-gated ReLU FFN equals the gated-gelu block with wi_0's activation replaced, computed by hand.
import { describe, expect, it } from "vitest";
import { tf } from "../src/backend/tf.js";
import { readSafetensors } from "../src/io/safetensors.js";
import type { TensorRecord } from "../src/io/tensor-record.js";
import { readT5Config } from "../src/model/config.js";
import { feedForward } from "../src/model/layers.js";
import { crossKeyValues, decode, encode, lmLogits, type T5Model } from "../src/model/t5.js";
import { buildWeights } from "../src/model/weights.js";
import { GOLD_MODEL_DIR } from "./helpers/shared.js";
import { join } from "node:path";

function logitsOf(model: T5Model): Float32Array {
  return tf.tidy(() => {
    const ids = tf.tensor2d(
      [
        [37, 629, 19, 1627, 5, 1],
        [8427, 5843, 1, 0, 0, 0],
      ],
      [2, 6],
      "int32",
    );
    const mask = tf.tensor2d(
      [
        [1, 1, 1, 1, 1, 1],
        [1, 1, 1, 0, 0, 0],
      ],
      [2, 6],
    );
    const h = encode(model, ids, mask);
    const hidden = decode(model, {
      crossKv: crossKeyValues(model, h),
      encoderMask: mask,
      decoderInputIds: tf.tensor3d([[[0, 644, 4598]], [[0, 7737, 1]]], [2, 1, 3], "int32"),
    });
    return lmLogits(model, hidden).dataSync() as Float32Array;
  });
}

describe("tied embeddings and ReLU feed-forward", () => {
  it("tied head = untied head with lm_head = shared · d_model^-0.5", async () => {
    await tf.setBackend("cpu");
    const config = await readT5Config(GOLD_MODEL_DIR);
    const { tensors } = await readSafetensors(join(GOLD_MODEL_DIR, "model.safetensors"));
    const shared = tensors.get("shared.weight") as TensorRecord;
    const tiedTensors = new Map(tensors);
    tiedTensors.delete("lm_head.weight");
    const tied: T5Model = {
      config: { ...config, tieWordEmbeddings: true },
      weights: buildWeights({ ...config, tieWordEmbeddings: true }, tiedTensors, {
        keepUntransposed: false,
        source: "tied",
      }),
    };
    const scaled = (shared.data as Float32Array).map((v) => v * config.dModel ** -0.5);
    const untiedTensors = new Map(tensors);
    untiedTensors.set("lm_head.weight", { ...shared, data: scaled });
    const untied: T5Model = {
      config,
      weights: buildWeights(config, untiedTensors, { keepUntransposed: false, source: "untied" }),
    };
    const a = logitsOf(tied);
    const b = logitsOf(untied);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
    expect(worst).toBeLessThan(1e-4);
  });

  it("relu FFN = wo(relu(wi x))", async () => {
    await tf.setBackend("cpu");
    const base = await readT5Config(GOLD_MODEL_DIR);
    const config = { ...base, gatedFfn: false, activation: "relu" as const };
    const { tensors } = await readSafetensors(join(GOLD_MODEL_DIR, "model.safetensors"));
    const relu = new Map<string, TensorRecord>();
    for (const [name, t] of tensors) {
      if (name.includes("wi_1")) continue;
      relu.set(name.replace("wi_0", "wi"), t);
    }
    const weights = buildWeights(config, relu, { keepUntransposed: true, source: "relu" });
    const block = weights.encoder.blocks[0]!;
    const x = tf.randomNormal([3, config.dModel], 0, 1, "float32", 5) as tf.Tensor2D;
    const wi = tf.tensor2d(tensors.get("encoder.block.0.layer.1.DenseReluDense.wi_0.weight")!.data as Float32Array, [
      config.dFf,
      config.dModel,
    ]);
    const wo = tf.tensor2d(tensors.get("encoder.block.0.layer.1.DenseReluDense.wo.weight")!.data as Float32Array, [
      config.dModel,
      config.dFf,
    ]);
    const expected = tf.matMul(tf.relu(tf.matMul(x, wi, false, true)), wo, false, true).dataSync();
    const got = feedForward(x, block.ffn, config, undefined).dataSync();
    for (let i = 0; i < got.length; i++)
      expect(Math.abs((got[i] as number) - (expected[i] as number))).toBeLessThan(1e-5);
  });
});
