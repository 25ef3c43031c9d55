// PEFT's (IA)³ defaults: targets and feed-forward modules from the model-type table, and when only
// target_modules is given, feed-forward = the table's feed-forward modules among the targets.
import { describe, expect, it } from "vitest";
import { parseT5Config } from "../model/config.js";
import { linearShapes } from "../model/weights.js";
import { ia3Specs } from "./ia3.js";
import { IA3_DEFAULTS, resolveIa3Config } from "./ia3-config.js";

const config = parseT5Config(
  {
    model_type: "t5",
    vocab_size: 104,
    d_model: 64,
    d_kv: 16,
    num_heads: 4,
    d_ff: 128,
    num_layers: 2,
    feed_forward_proj: "gated-gelu",
  },
  "test config",
);
const only = (targetModules: string[] | string) => ({ targetModules, feedforwardModules: null });

describe("resolveIa3Config", () => {
  it("uses the model type's table when neither list is given", () => {
    expect(resolveIa3Config("t5", { targetModules: null, feedforwardModules: null })).toEqual(IA3_DEFAULTS.t5);
    expect(resolveIa3Config("mt5", { targetModules: null, feedforwardModules: null })).toEqual(IA3_DEFAULTS.mt5);
  });

  it("fills feedforward_modules from the table, kept to the targets, when only target_modules is given", () => {
    expect(resolveIa3Config("t5", only(["k", "v", "wo"])).feedforwardModules).toEqual(["wo"]);
    expect(resolveIa3Config("t5", only(["q", "wo", "k"])).feedforwardModules).toEqual(["wo"]);
    expect(resolveIa3Config("t5", only(["k", "v"])).feedforwardModules).toEqual([]); // wo is not a target
    expect(resolveIa3Config("t5", only(["k", "layer.1.DenseReluDense.wo"])).feedforwardModules).toEqual([
      "layer.1.DenseReluDense.wo",
    ]);
    expect(resolveIa3Config("mt5", only(["k", "v", "wi_1", "wo"])).feedforwardModules).toEqual([]); // mT5's table has none
  });

  it("keeps the table's list for a target regex (only matched targets can be feed-forward)", () => {
    expect(resolveIa3Config("t5", only(".*(k|v|wo)")).feedforwardModules).toEqual(["wo"]);
  });

  it("keeps an explicit feedforward_modules, and rejects one outside the targets", () => {
    expect(
      resolveIa3Config("t5", { targetModules: ["k", "v", "wo"], feedforwardModules: [] }).feedforwardModules,
    ).toEqual([]);
    expect(() => resolveIa3Config("t5", { targetModules: ["k", "v"], feedforwardModules: ["wo"] })).toThrow(
      /feedforward_modules \[wo\] are not in target_modules/,
    );
  });

  it("makes wo an input scale [1, d_ff] when target_modules [k, v, wo] is given alone", () => {
    const specs = ia3Specs(linearShapes(config), resolveIa3Config("t5", only(["k", "v", "wo"])));
    const wo = specs.filter((s) => s.path.endsWith(".wo"));
    expect(wo.length).toBe(config.numLayers + config.numDecoderLayers);
    for (const s of wo) expect(s).toMatchObject({ scaleInput: true, shape: [1, config.dFf] });
    for (const s of specs.filter((x) => !x.path.endsWith(".wo"))) expect(s.scaleInput).toBe(false);
  });
});
