// Gold test: tfew's T5 forward pass vs Hugging Face transformers 4.30.2 on the tiny gated-gelu T5
// (fixture case 1). Pass: logits max-abs ≤ 1e-4, loss within 1e-5 relative, encoder states ≤ 1e-4.
import { describe, expect, it } from "vitest";
import { tf } from "../src/backend/tf.js";
import "@tensorflow/tfjs-backend-wasm";
import type { AttentionImpl } from "../src/model/attention.js";
import { crossKeyValues, decode, encode, lmLogits } from "../src/model/t5.js";
import { caseTensor, loadGoldModel, maxAbsDiff, readCase } from "./helpers/gold-model.js";

const combos: [string, AttentionImpl, boolean][] = [
  ["cpu", "reference", false],
  ["wasm", "reference", false],
  ["wasm", "per-head", true],
  ["cpu", "per-head", true],
];

describe.each(combos)("gold forward on %s (attention %s, cached W %s)", (backend, impl, keepUntransposed) => {
  it("matches HF logits, encoder states and loss", async () => {
    await tf.setBackend(backend);
    const model = { ...(await loadGoldModel({ keepUntransposed })), attention: { impl, minPairs: 0 } };
    const gold = await readCase("forward");
    const ids = caseTensor(gold, "input_ids");
    const mask = caseTensor(gold, "attention_mask");
    const dec = caseTensor(gold, "decoder_input_ids");
    const labels = caseTensor(gold, "labels").data;
    const [batch, srcLen] = ids.shape as [number, number];
    const tgtLen = dec.shape[1] as number;
    const before = tf.memory().numTensors;
    const { logits, encoded } = tf.tidy(() => {
      const inputIds = tf.tensor2d(ids.data, [batch, srcLen], "int32");
      const attentionMask = tf.tensor2d(Float32Array.from(mask.data), [batch, srcLen]);
      const h = encode(model, inputIds, attentionMask);
      const hidden = decode(model, {
        crossKv: crossKeyValues(model, h),
        encoderMask: attentionMask,
        decoderInputIds: tf.tensor3d(dec.data, [batch, 1, tgtLen], "int32"),
      });
      return { logits: lmLogits(model, hidden), encoded: h };
    });
    expect(tf.memory().numTensors).toBe(before + 2); // only the two returned tensors survive the tidy
    const logitData = logits.dataSync();
    const logitErr = maxAbsDiff(logitData, caseTensor(gold, "logits").data);
    const encErr = maxAbsDiff(encoded.dataSync(), caseTensor(gold, "encoder_last_hidden_state").data);
    // HF loss: mean cross-entropy over labels != -100
    const vocab = model.config.vocabSize;
    let sum = 0;
    let count = 0;
    for (let row = 0; row < batch * tgtLen; row++) {
      const label = labels[row] as number;
      if (label === -100) continue;
      let max = -Infinity;
      for (let j = 0; j < vocab; j++) max = Math.max(max, logitData[row * vocab + j] as number);
      let z = 0;
      for (let j = 0; j < vocab; j++) z += Math.exp((logitData[row * vocab + j] as number) - max);
      sum += -((logitData[row * vocab + label] as number) - max - Math.log(z));
      count++;
    }
    const loss = sum / count;
    const goldLoss = caseTensor(gold, "loss").data[0] as number;
    console.log(
      `[${backend}/${impl}] logits max-abs ${logitErr.toExponential(2)}, encoder max-abs ${encErr.toExponential(2)}, loss ${loss} vs ${goldLoss}`,
    );
    expect(logitErr).toBeLessThanOrEqual(1e-4);
    expect(encErr).toBeLessThanOrEqual(1e-4);
    expect(Math.abs(loss - goldLoss) / goldLoss).toBeLessThanOrEqual(1e-5);
    logits.dispose();
    encoded.dispose();
  });
});
