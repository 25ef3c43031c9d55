import { describe, expect, it } from "vitest";
import { mfu, peakFlopsForGpu, resolvePeakFlops, t5ForwardFlops, t5StepFlops } from "./mfu.js";
import type { T5FlopDims } from "./mfu.js";

const TINY: T5FlopDims = {
  dModel: 2,
  dKv: 1,
  numHeads: 2,
  dFf: 3,
  numLayers: 1,
  numDecoderLayers: 1,
  vocabSize: 5,
  gatedFfn: false,
};
// HF t5-small config.json.
const T5_SMALL: T5FlopDims = {
  dModel: 512,
  dKv: 64,
  numHeads: 8,
  dFf: 2048,
  numLayers: 6,
  numDecoderLayers: 6,
  vocabSize: 32128,
  gatedFfn: false,
};

/** Independent count: Σ m·k·n over every matmul of a T5 step, written shape by shape (batch B, C choices). */
function bruteForceMacs(d: T5FlopDims, s: { batch: number; choices: number; le: number; ld: number }): number {
  const inner = d.numHeads * d.dKv;
  const ffn = d.gatedFfn ? 3 : 2;
  const mm: [number, number, number][] = []; // [m, k, n]
  for (let b = 0; b < s.batch; b++) {
    for (let l = 0; l < d.numLayers; l++) {
      for (let p = 0; p < 3; p++) mm.push([s.le, d.dModel, inner]); // q, k, v        [le, inner]
      for (let h = 0; h < d.numHeads; h++) {
        mm.push([s.le, d.dKv, s.le]); //                                    scores    [le, le]
        mm.push([s.le, s.le, d.dKv]); //                                    weighted  [le, dKv]
      }
      mm.push([s.le, inner, d.dModel]); //                                  o         [le, dModel]
      for (let f = 0; f < ffn - 1; f++) mm.push([s.le, d.dModel, d.dFf]); // wi (wi_0, wi_1)
      mm.push([s.le, d.dFf, d.dModel]); //                                  wo
    }
    for (let l = 0; l < d.numDecoderLayers; l++) {
      mm.push([s.le, d.dModel, inner], [s.le, d.dModel, inner]); //   cross k, v once per example (shared by choices)
      for (let c = 0; c < s.choices; c++) {
        for (let p = 0; p < 3; p++) mm.push([s.ld, d.dModel, inner]); // self q, k, v
        for (let h = 0; h < d.numHeads; h++) mm.push([s.ld, d.dKv, s.ld], [s.ld, s.ld, d.dKv]);
        mm.push([s.ld, inner, d.dModel]); //                            self o
        mm.push([s.ld, d.dModel, inner]); //                            cross q
        for (let h = 0; h < d.numHeads; h++) mm.push([s.ld, d.dKv, s.le], [s.ld, s.le, d.dKv]);
        mm.push([s.ld, inner, d.dModel]); //                            cross o
        for (let f = 0; f < ffn - 1; f++) mm.push([s.ld, d.dModel, d.dFf]);
        mm.push([s.ld, d.dFf, d.dModel]);
      }
    }
    for (let c = 0; c < s.choices; c++) mm.push([s.ld, d.dModel, d.vocabSize]); // LM head
  }
  return mm.reduce((sum, [m, k, n]) => sum + m * k * n, 0);
}

describe("t5StepFlops", () => {
  it("matches a hand count on tiny dims", () => {
    // inner = 2. Encoder layer: 4·4·2·2 + 4·2·4·2 + 4·2·2·3 = 64 + 64 + 48 = 176 MACs.
    // Decoder layer: 3·4·2·2 + 3·2·3·2 + 3·2·2·2 + 4·2·2·2 + 3·2·4·2 + 3·2·2·3 = 48+36+24+32+48+36 = 224.
    // LM head: 3·2·5 = 30. Forward = 2 · (176 + 224 + 30) = 860.
    const tokens = { encoderTokens: 4, decoderTokens: 3, encoderLength: 4, decoderLength: 3 };
    expect(t5ForwardFlops(TINY, tokens)).toBe(860);
    expect(t5StepFlops(TINY, tokens, { training: false })).toBe(860);
    expect(t5StepFlops(TINY, tokens, { training: true })).toBe(1720); // forward + activation gradients (frozen weights)
  });

  it("matches a matmul-by-matmul count for t5-small and flan-t5 gated FFN (exact)", () => {
    for (const dims of [T5_SMALL, { ...T5_SMALL, gatedFfn: true, dFf: 1024 }]) {
      const shape = { batch: 4, choices: 3, le: 128, ld: 8 };
      const tokens = {
        encoderTokens: shape.batch * shape.le,
        decoderTokens: shape.batch * shape.choices * shape.ld,
        encoderLength: shape.le,
        decoderLength: shape.ld,
      };
      expect(t5ForwardFlops(dims, tokens)).toBe(2 * bruteForceMacs(dims, shape));
    }
  });

  it("counts cross K/V over crossKvTokens when the encoder output is tiled per choice", () => {
    const base = { encoderTokens: 4, decoderTokens: 6, encoderLength: 4, decoderLength: 3 };
    const tiled = t5ForwardFlops(TINY, { ...base, crossKvTokens: 8 });
    // 4 more encoder positions × 2 (K, V) × dModel·inner = 4·2·2·2 = 32 MACs per decoder layer → 64 FLOPs.
    expect(tiled - t5ForwardFlops(TINY, base)).toBe(64);
  });

  it("is ≈ 2 · params · tokens for the projections when sequences are short (nanoGPT's 6N rule, forward part)", () => {
    const tokens = { encoderTokens: 1000, decoderTokens: 0, encoderLength: 1, decoderLength: 1 };
    // Each encoder position meets the encoder's weights and the decoder's cross-attention K, V weights.
    const params = T5_SMALL.numLayers * (4 * 512 * 512 + 2 * 512 * 2048) + T5_SMALL.numDecoderLayers * 2 * 512 * 512;
    // Attention term with length 1: 2·512 MACs per position per layer, 0.1 % of the projections.
    expect(t5ForwardFlops(T5_SMALL, tokens) / (2 * params * 1000)).toBeCloseTo(1, 2);
  });

  it("rejects non-integer or negative counts", () => {
    expect(() =>
      t5ForwardFlops(TINY, { encoderTokens: -1, decoderTokens: 1, encoderLength: 1, decoderLength: 1 }),
    ).toThrow(/encoderTokens/);
    expect(() =>
      t5ForwardFlops(
        { ...TINY, dModel: 1.5 },
        { encoderTokens: 1, decoderTokens: 1, encoderLength: 1, decoderLength: 1 },
      ),
    ).toThrow(/dModel/);
  });

  it("accepts a whole T5 config (extra non-count fields are not checked)", () => {
    // train passes { ...model.config }: modelType, layerNormEpsilon etc. beside the dims.
    const config = { ...TINY, modelType: "t5", layerNormEpsilon: 1e-6, activation: "gelu_new" };
    const tokens = { encoderTokens: 4, decoderTokens: 6, encoderLength: 2, decoderLength: 3 };
    expect(t5ForwardFlops(config, tokens)).toBe(t5ForwardFlops(TINY, tokens));
  });
});

describe("peakFlopsForGpu", () => {
  it("maps nvidia-smi names to dense FP32 peaks", () => {
    const cases: [string, number | null][] = [
      ["NVIDIA H100 80GB HBM3", 67e12],
      ["NVIDIA H100 PCIe", 51e12],
      ["NVIDIA H200", 67e12],
      ["NVIDIA A100-SXM4-80GB", 19.5e12],
      ["NVIDIA A100 80GB PCIe", 19.5e12],
      ["Tesla V100-SXM2-16GB", 15.7e12],
      ["Tesla V100-PCIE-32GB", 14e12],
      ["Tesla T4", 8.1e12],
      ["NVIDIA A10G", 31.2e12],
      ["NVIDIA L4", 30.3e12],
      ["NVIDIA GeForce RTX 4090", 82.6e12],
      ["NVIDIA GeForce RTX 3090", 35.6e12],
      ["NVIDIA GeForce RTX 3090 Ti", null],
      ["NVIDIA L40S", null],
      ["NVIDIA H100 NVL", null],
      ["NVIDIA GH200 480GB", null],
      ["", null],
    ];
    for (const [name, peak] of cases) expect([name, peakFlopsForGpu(name)]).toEqual([name, peak]);
  });

  it("has the TF32 tensor-core column where known", () => {
    expect(peakFlopsForGpu("NVIDIA A100-SXM4-40GB", { precision: "tf32" })).toBe(156e12);
    expect(peakFlopsForGpu("Tesla T4", { precision: "tf32" })).toBeNull();
  });

  it("lets monitor.peak_tflops override the table", () => {
    expect(resolvePeakFlops({ gpuName: "Tesla T4", peakTflops: 65 })).toBe(65e12);
    expect(resolvePeakFlops({ gpuName: "Tesla T4" })).toBe(8.1e12);
    expect(resolvePeakFlops({ gpuName: null })).toBeNull();
    expect(() => resolvePeakFlops({ gpuName: null, peakTflops: 0 })).toThrow(/peak_tflops/);
  });
});

describe("mfu", () => {
  it("divides achieved FLOP/s by peak", () => {
    expect(mfu(1e12, 0.5, 4e12)).toBe(0.5);
    expect(() => mfu(1e12, 0, 4e12)).toThrow(/positive/);
  });
});
