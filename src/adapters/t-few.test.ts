// t-few tensors → PEFT vectors on a two-module toy model: what is converted, skipped and refused (one line each).
import { describe, expect, it } from "vitest";
import type { TensorRecord } from "../io/tensor-record.js";
import { convertTfewTensors } from "./t-few.js";
import { tfewMessageOfSync } from "../../tests/helpers/errors.js";

const MODULES = [
  { path: "encoder.block.0.layer.0.SelfAttention.k", inFeatures: 4, outFeatures: 2 },
  { path: "encoder.block.0.layer.1.DenseReluDense.wi_0", inFeatures: 4, outFeatures: 3 },
  { path: "encoder.block.0.layer.1.DenseReluDense.wi_1", inFeatures: 4, outFeatures: 3 },
  { path: "encoder.block.0.layer.1.DenseReluDense.wo", inFeatures: 3, outFeatures: 4 },
];
const K = "encoder.block.0.layer.0.SelfAttention.k";
const FFN = "encoder.block.0.layer.1.DenseReluDense";
const SOURCE = { file: "finish.pt", model: "toy" };
const t = (values: number[], shape: number[]): TensorRecord => ({
  dtype: "F32",
  shape,
  data: Float32Array.from(values),
});
const base = (): Map<string, TensorRecord> =>
  new Map([
    [`${K}.multi_lora_b`, t([1.5, 0.5], [2, 1])],
    [`${FFN}.wi_1.multi_lora_b`, t([2, 3, 4], [3, 1])],
  ]);

const oneLine = tfewMessageOfSync;

describe("convertTfewTensors", () => {
  it("k stays output scaling; wi_1 [3, 1] becomes wo [1, 3]; untrained multi_lora_a (ones) is skipped", () => {
    const tensors = base();
    tensors.set(`${K}.multi_lora_a`, t([1, 1, 1, 1], [1, 4]));
    const a = convertTfewTensors(tensors, MODULES, SOURCE);
    expect(a.config).toEqual({ targetModules: ["k", "wo"], feedforwardModules: ["wo"] });
    expect(Array.from(a.values.get(`${FFN}.wo`) ?? [])).toEqual([2, 3, 4]);
    expect(a.shapes.get(`${FFN}.wo`)).toEqual([1, 3]);
    expect(a.shapes.get(K)).toEqual([2, 1]);
    const kept = convertTfewTensors(base(), MODULES, SOURCE, "wi_1");
    expect(kept.config).toEqual({ targetModules: ["k", "wi_1"], feedforwardModules: [] });
    expect(kept.shapes.get(`${FFN}.wi_1`)).toEqual([3, 1]);
  });

  it("refused, one line each", () => {
    const other = "finish.pt was made for another model than toy";
    const withExtra = (name: string, r: TensorRecord) => () =>
      convertTfewTensors(new Map([...base(), [name, r]]), MODULES, SOURCE);
    expect(oneLine(withExtra(`${K}.lora_a`, t([0, 0, 0, 0], [1, 4])))).toContain("LoRA weights cannot be converted");
    expect(oneLine(withExtra(`${K}.multi_lora_a`, t([1, 2, 1, 1], [1, 4])))).toBe(
      `t-few: finish.pt holds a trained ${K}.multi_lora_a (input scaling); tfew converts t-few's (IA)³ vectors, multi_lora_b only`,
    );
    expect(oneLine(withExtra("encoder.final_layer_norm.weight", t([1], [1])))).toContain("is not an (IA)³ vector");
    expect(oneLine(withExtra("decoder.block.3.layer.0.SelfAttention.k.multi_lora_b", t([1, 1], [2, 1])))).toBe(
      `t-few: ${other}: it has decoder.block.3.layer.0.SelfAttention.k.multi_lora_b, but the model has no module decoder.block.3.layer.0.SelfAttention.k`,
    );
    expect(
      oneLine(() => convertTfewTensors(new Map([[`${K}.multi_lora_b`, t([1, 1, 1], [3, 1])]]), MODULES, SOURCE)),
    ).toBe(`t-few: ${other}: ${K}.multi_lora_b is [3, 1] but the model's ${K} needs [2, 1]`);
    expect(oneLine(() => convertTfewTensors(new Map(), MODULES, SOURCE))).toBe(
      "t-few: finish.pt holds no (IA)³ vectors (<module>.multi_lora_b)",
    );
  });
});
