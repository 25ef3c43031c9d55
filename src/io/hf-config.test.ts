// config.json as tfew writes it: float fields keep their decimal point (transformers 5.x refuses `1` for a float
// field), everything else exactly as JSON.stringify(value, null, 2) writes it.
import { describe, expect, it } from "vitest";
import { hasIntegerFloatField, hfConfigJson } from "./hf-config.js";

describe("hfConfigJson", () => {
  it("writes integer values of float fields as floats: 1 → 1.0, 0 → 0.0; other floats and ints unchanged", () => {
    const text = hfConfigJson({ d_model: 64, initializer_factor: 1, dropout_rate: 0, layer_norm_epsilon: 1e-6 });
    expect(text).toContain('"initializer_factor": 1.0,');
    expect(text).toContain('"dropout_rate": 0.0,');
    expect(text).toContain('"layer_norm_epsilon": 0.000001\n');
    expect(text).toContain('"d_model": 64,');
    expect(JSON.parse(text)).toEqual({ d_model: 64, initializer_factor: 1, dropout_rate: 0, layer_norm_epsilon: 1e-6 });
  });

  it("is JSON.stringify(value, null, 2) plus a newline for everything else (lists, nesting, empties, null)", () => {
    const value = { architectures: ["T5ForConditionalGeneration"], a: [], b: {}, c: null, d: { e: [1, { f: "x" }] } };
    expect(hfConfigJson(value)).toBe(`${JSON.stringify(value, null, 2)}\n`);
  });

  it("tells a config with an integer in a float field", () => {
    expect(hasIntegerFloatField({ initializer_factor: 1 })).toBe(true);
    expect(hasIntegerFloatField({ initializer_factor: 1.5, dropout_rate: 0.1, d_model: 64 })).toBe(false);
  });
});
