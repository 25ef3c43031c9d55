// loadT5 keeps the backend's attention kernel on the model it returns: loading a second model with another
// kernel (per-head on wasm/cpu) leaves the first model's forward pass as it was (same kernels, same bytes).
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readFloats } from "../backend/reads.js";
import { tf } from "../backend/tf.js";
import { loadT5 } from "./load.js";
import { encode, type T5Model } from "./t5.js";

const DEMO = join(import.meta.dirname, "..", "..", "data", "demo-model");

/** Encoder states of one 130-token input (130² query×key pairs take the per-head path when the model asks for it) and the kernels run. */
async function encoded(model: T5Model): Promise<{ values: Float32Array; kernels: string[] }> {
  const ids = Array.from({ length: 130 }, (_, i) => 3 + ((i * 37) % 300));
  let values: Float32Array | undefined;
  const info = await tf.profile(async () => {
    const out = tf.tidy(() => encode(model, tf.tensor2d(ids, [1, ids.length], "int32"), tf.ones([1, ids.length])));
    values = await readFloats(out);
    out.dispose();
  });
  return {
    values: values as Float32Array,
    kernels: info.kernels.map((k) => `${k.name}(${k.inputShapes.map((s) => s?.join("x")).join(",")})`),
  };
}

describe("loadT5", () => {
  it("puts the attention kernel on the model, not on the process", async () => {
    await tf.setBackend("cpu");
    const reference = await loadT5(DEMO, { keepUntransposed: false });
    expect(reference.attention).toBeUndefined();
    const before = await encoded(reference);
    const perHead = await loadT5(DEMO, { keepUntransposed: true, attention: "per-head" });
    expect(perHead.attention).toEqual({ impl: "per-head" });
    const after = await encoded(reference);
    expect(after.kernels).toEqual(before.kernels);
    expect(Buffer.from(after.values.buffer).equals(Buffer.from(before.values.buffer))).toBe(true);
    const other = await encoded(perHead);
    expect(other.kernels).not.toEqual(before.kernels); // the per-head path really is another one
    let diff = 0;
    other.values.forEach((v, i) => (diff = Math.max(diff, Math.abs(v - (before.values[i] as number)))));
    expect(diff).toBeLessThan(1e-4); // the same function
  });
});
