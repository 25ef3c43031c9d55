// The optional native matMul (OpenBLAS on the wasm heap) equals the cpu backend for every layout the model
// uses (plain, transposed A/B, batched, broadcast batch), and with it the gold (IA)³ forward and gradients
// still match Hugging Face; the wasm heap may grow while the kernel gathers its operands (data moved in from
// another backend), and an empty inner dimension gives zeros. Skips, saying why, where the addon or OpenBLAS is missing.
import { describe, expect, it } from "vitest";
import "@tensorflow/tfjs-backend-wasm";
import { createVectorSet, toScales } from "../src/adapters/ia3.js";
import { IA3_DEFAULTS } from "../src/adapters/ia3-config.js";
import { peftTensorName } from "../src/adapters/peft-adapter.js";
import { installNativeMatMul } from "../src/backend/native-matmul.js";
import { tf } from "../src/backend/tf.js";
import { initTinyT5Weights } from "../src/demo/tiny-t5.js";
import type { TensorRecord } from "../src/io/tensor-record.js";
import { parseT5Config } from "../src/model/config.js";
import { crossKeyValues, decode, encode, lmLogits } from "../src/model/t5.js";
import { buildWeights } from "../src/model/weights.js";
import { caseTensor, loadGoldModel, maxAbsDiff, readCase } from "./helpers/gold-model.js";

await tf.setBackend("wasm");
const native = installNativeMatMul();
if (!native.ok) console.log(`skipped: native matMul unavailable (${native.reason})`);

/** Bytes of the wasm backend's heap now (it only grows). */
function heapBytes(): number {
  return (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
}

describe.skipIf(!native.ok)("native matMul on the wasm backend", () => {
  it("equals the cpu backend for plain, transposed, batched and broadcast layouts", async () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[5, 7], [7, 4], false, false],
      [[7, 5], [7, 4], true, false],
      [[5, 7], [4, 7], false, true],
      [[7, 5], [4, 7], true, true],
      [[3, 5, 7], [3, 7, 4], false, false],
      [[2, 3, 5, 7], [2, 3, 4, 7], false, true],
      [[3, 5, 7], [7, 4], false, false],
      [[5, 7], [3, 7, 4], false, false],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      const a = Array.from({ length: sa.reduce((x, y) => x * y, 1) }, (_, i) => Math.sin(i));
      const b = Array.from({ length: sb.reduce((x, y) => x * y, 1) }, (_, i) => Math.cos(i * 0.7));
      await tf.setBackend("cpu");
      const ref = tf.matMul(tf.tensor(a, sa), tf.tensor(b, sb), ta, tb);
      const refData = ref.dataSync();
      const refShape = ref.shape;
      await tf.setBackend("wasm");
      const got = tf.matMul(tf.tensor(a, sa), tf.tensor(b, sb), ta, tb);
      expect(got.shape).toEqual(refShape);
      expect(maxAbsDiff(got.dataSync(), refData)).toBeLessThan(1e-4);
    }
  });

  it("reads the wasm heap after its operands: one moved in from the cpu backend grows the heap in the kernel", async () => {
    await tf.setBackend("wasm");
    const rows = Math.ceil(heapBytes() / (4 * 64)) + 64; // this operand alone is larger than the whole heap
    const a = Array.from({ length: rows * 64 }, (_, i) => Math.sin(i * 0.37));
    const b = Array.from({ length: 64 * 5 }, (_, i) => Math.cos(i * 0.11));
    await tf.setBackend("cpu");
    const onCpu = tf.tensor2d(a, [rows, 64]);
    const want = tf.matMul(onCpu, tf.tensor2d(b, [64, 5])).dataSync();
    await tf.setBackend("wasm");
    const before = heapBytes();
    const got = tf.matMul(onCpu, tf.tensor2d(b, [64, 5])); // onCpu's data moves into the heap inside the kernel
    expect(heapBytes()).toBeGreaterThan(before);
    expect(maxAbsDiff(got.dataSync(), want)).toBeLessThan(1e-4);
    tf.dispose([onCpu, got]);
  });

  it("gives the cpu backend's encoder output when a model's weights grow the heap in the middle of its forward pass", async () => {
    await tf.setBackend("wasm"); // models without attention options take the reference path
    const dModel = 32;
    const dFf = 8 * Math.ceil(heapBytes() / (4 * dModel) / 8) + 8; // the first feed-forward weight outgrows the heap
    const config = parseT5Config(
      {
        model_type: "t5",
        vocab_size: 64,
        d_model: dModel,
        d_kv: 8,
        num_heads: 4,
        d_ff: dFf,
        num_layers: 1,
        num_decoder_layers: 1,
        feed_forward_proj: "relu",
        tie_word_embeddings: false,
      },
      "heap-growth test config",
    );
    const records = new Map<string, TensorRecord>(
      Object.entries(initTinyT5Weights(config, 11)).map(([name, t]) => [
        name,
        { dtype: "F32", shape: t.shape, data: t.data as Float32Array },
      ]),
    );
    const ids = Array.from({ length: 2 * 6 }, (_, i) => (i * 7) % 64);
    const mask = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0];
    await tf.setBackend("cpu"); // the weights live on the cpu backend: each moves to wasm when an op first reads it
    const model = {
      config,
      weights: buildWeights(config, records, { keepUntransposed: false, source: "heap-growth test" }),
    };
    const want = encode(model, tf.tensor2d(ids, [2, 6], "int32"), tf.tensor2d(mask, [2, 6])).dataSync();
    await tf.setBackend("wasm");
    const before = heapBytes();
    const got = encode(model, tf.tensor2d(ids, [2, 6], "int32"), tf.tensor2d(mask, [2, 6])).dataSync();
    expect(heapBytes()).toBeGreaterThan(before);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
  });

  it("gives zeros for an empty inner dimension (k = 0), whatever the output memory held before", async () => {
    await tf.setBackend("wasm");
    for (const [sa, sb, ta, tb] of [
      [[3, 0], [0, 4], false, false],
      [[0, 3], [4, 0], true, true],
      [[2, 3, 0], [2, 0, 4], false, false],
    ] as [number[], number[], boolean, boolean][]) {
      tf.dispose(tf.fill([64, 64], 7)); // leaves non-zero bytes in freed heap memory the output may reuse
      const got = tf.matMul(tf.zeros(sa), tf.zeros(sb), ta, tb);
      expect(got.shape).toEqual([...sa.slice(0, -2), 3, 4]);
      expect(Array.from(got.dataSync())).toEqual(new Array(got.size).fill(0));
    }
  });

  it("keeps the gold (IA)³ logits and loss gradients (fixture case 2)", async () => {
    await tf.setBackend("wasm");
    const model = await loadGoldModel({ keepUntransposed: false });
    const gold = await readCase("ia3");
    const initial = new Map<string, Float32Array>();
    for (const [name, t] of gold)
      if (name.endsWith(".ia3_l"))
        initial.set(name.slice("base_model.model.".length, -".ia3_l".length), t.data as Float32Array);
    const set = createVectorSet("native", model.weights, IA3_DEFAULTS.t5, initial);
    const ids = caseTensor(gold, "input_ids");
    const [batch, srcLen] = ids.shape as [number, number];
    const dec = caseTensor(gold, "decoder_input_ids");
    const tgtLen = dec.shape[1] as number;
    const labels = Array.from(caseTensor(gold, "labels").data);
    const keep: number[] = labels.map((l) => (l === -100 ? 0 : 1));
    const varList = set.specs.map((s) => set.variables.get(s.path) as tf.Variable);
    let logits: Float32Array = new Float32Array(0);
    const { grads } = tf.variableGrads(() => {
      const mask = tf.tensor2d(Float32Array.from(caseTensor(gold, "attention_mask").data), [batch, srcLen]);
      const ia3 = toScales(set);
      const h = encode(model, tf.tensor2d(ids.data, [batch, srcLen], "int32"), mask, ia3);
      const out = lmLogits(
        model,
        decode(
          model,
          {
            crossKv: crossKeyValues(model, h, ia3),
            encoderMask: mask,
            decoderInputIds: tf.tensor3d(dec.data, [batch, 1, tgtLen], "int32"),
          },
          ia3,
        ),
      );
      logits = out.dataSync() as Float32Array;
      const target = tf.oneHot(
        tf.tensor1d(
          labels.map((l) => Math.max(l, 0)),
          "int32",
        ),
        model.config.vocabSize,
      );
      const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(out), tf.cast(target, "float32")), -1));
      return tf.div(
        tf.sum(tf.mul(nll, tf.tensor1d(keep))),
        keep.reduce((a, b) => a + b, 0),
      ) as tf.Scalar;
    }, varList);
    expect(maxAbsDiff(logits, caseTensor(gold, "logits").data)).toBeLessThanOrEqual(1e-4);
    set.specs.forEach((spec, i) => {
      const g = (grads[(varList[i] as tf.Variable).name] as tf.Tensor).dataSync();
      const want = caseTensor(gold, `${peftTensorName(spec.path)}.grad`).data;
      const scale = Math.max(...Array.from(want, Math.abs));
      expect(maxAbsDiff(g, want) / scale).toBeLessThanOrEqual(1e-4);
    });
  });
});
