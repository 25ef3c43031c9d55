// The tiny T5: config.json through the project's parser, every HF parameter present with its shape, and the
// _init_weights standard deviations (sample std within 5% for tensors of ≥ 4096 values).
import { describe, expect, it } from "vitest";
import { innerDim } from "../model/config.js";
import { expectedParameters } from "../model/weights.js";
import { gaussian, initStd, initTinyT5Weights, tinyT5Config, tinyT5ConfigJson } from "./tiny-t5.js";

function stats(data: Float32Array): { mean: number; std: number } {
  let sum = 0;
  for (const x of data) sum += x;
  const mean = sum / data.length;
  let sq = 0;
  for (const x of data) sq += (x - mean) ** 2;
  return { mean, std: Math.sqrt(sq / data.length) };
}

describe("tiny T5 config", () => {
  it("rounds vocab_size up to a multiple of 8 and parses as the brief's T5", () => {
    expect(tinyT5ConfigJson({ tokenizerVocabSize: 313 }).vocab_size).toBe(320);
    expect(tinyT5ConfigJson({ tokenizerVocabSize: 320 }).vocab_size).toBe(320);
    const config = tinyT5Config({ tokenizerVocabSize: 313 });
    expect(config).toMatchObject({
      modelType: "t5",
      vocabSize: 320,
      dModel: 64,
      dKv: 16,
      dFf: 128,
      numHeads: 4,
      numLayers: 2,
      numDecoderLayers: 2,
      relativeAttentionNumBuckets: 32,
      relativeAttentionMaxDistance: 128,
      layerNormEpsilon: 1e-6,
      activation: "gelu_new",
      gatedFfn: true,
      tieWordEmbeddings: false,
      decoderStartTokenId: 0,
      padTokenId: 0,
      eosTokenId: 1,
    });
  });

  it("writes the keys transformers writes, sorted", () => {
    expect(Object.keys(tinyT5ConfigJson({ tokenizerVocabSize: 313 }))).toEqual([
      "architectures",
      "d_ff",
      "d_kv",
      "d_model",
      "decoder_start_token_id",
      "dense_act_fn",
      "dropout_rate",
      "eos_token_id",
      "feed_forward_proj",
      "initializer_factor",
      "is_encoder_decoder",
      "is_gated_act",
      "layer_norm_epsilon",
      "model_type",
      "num_decoder_layers",
      "num_heads",
      "num_layers",
      "pad_token_id",
      "relative_attention_max_distance",
      "relative_attention_num_buckets",
      "tie_word_embeddings",
      "vocab_size",
    ]);
  });
});

describe("tiny T5 weights", () => {
  const config = tinyT5Config({ tokenizerVocabSize: 313 });

  it("draws N(0, std²) by Box-Muller: mean 0 ± 0.01, std within 1%", () => {
    const { mean, std } = stats(gaussian(200_000, 2, 1));
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(std / 2 - 1)).toBeLessThan(0.01);
    expect(gaussian(5, 1, 3)).toEqual(gaussian(5, 1, 3));
  });

  it("has exactly the expected HF parameters, F32, with _init_weights' standard deviations", () => {
    const tensors = initTinyT5Weights(config, 42);
    const expected = expectedParameters(config);
    expect(Object.keys(tensors).sort()).toEqual([...expected.keys()].sort());
    const d = config.dModel;
    const wanted: Record<string, number> = {
      "shared.weight": 1,
      "lm_head.weight": 1,
      "encoder.block.0.layer.0.SelfAttention.q.weight": (d * config.dKv) ** -0.5,
      "decoder.block.1.layer.1.EncDecAttention.k.weight": d ** -0.5,
      "decoder.block.0.layer.0.SelfAttention.v.weight": d ** -0.5,
      "encoder.block.1.layer.0.SelfAttention.o.weight": innerDim(config) ** -0.5,
      "encoder.block.0.layer.1.DenseReluDense.wi_0.weight": d ** -0.5,
      "decoder.block.1.layer.2.DenseReluDense.wi_1.weight": d ** -0.5,
      "decoder.block.0.layer.2.DenseReluDense.wo.weight": config.dFf ** -0.5,
    };
    for (const [name, std] of Object.entries(wanted)) {
      expect(initStd(name, config)).toBeCloseTo(std, 12);
      const t = tensors[name];
      expect(t?.shape).toEqual(expected.get(name));
      expect(Math.abs(stats(t?.data as Float32Array).std / std - 1), name).toBeLessThan(0.05);
    }
    expect(initStd("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", config)).toBe(d ** -0.5);
    for (const [name, t] of Object.entries(tensors)) {
      expect(t.dtype).toBe("F32");
      if (name.includes("layer_norm"))
        expect(
          [...t.data].every((x) => x === 1),
          name,
        ).toBe(true);
    }
  });

  it("is the same for the same seed, and differs between tensors and seeds", () => {
    const a = initTinyT5Weights(config, 42);
    const b = initTinyT5Weights(config, 42);
    const c = initTinyT5Weights(config, 43);
    const q = "encoder.block.0.layer.0.SelfAttention.q.weight";
    expect(a[q]?.data).toEqual(b[q]?.data);
    expect(a[q]?.data).not.toEqual(c[q]?.data);
    expect(a[q]?.data.slice(0, 8)).not.toEqual(a["encoder.block.1.layer.0.SelfAttention.q.weight"]?.data.slice(0, 8));
  });
});
