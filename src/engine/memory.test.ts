// Memory sizing from shapes: smaller passes for longer inputs, the full batch off wasm, an example that
// cannot fit named with its tokens and the key to lower, and decoder passes bounded for many choices.
import { describe, expect, it } from "vitest";
import { parseT5Config } from "../model/config.js";
import { parseGpuMemoryCsv } from "../backend/device-memory.js";
import { choiceChunkSize, evalBatchSize, memoryBasis, trainMicroBatchSize } from "./memory.js";

const SMALL = parseT5Config(
  {
    model_type: "t5",
    d_model: 512,
    d_kv: 64,
    num_heads: 8,
    d_ff: 2048,
    num_layers: 6,
    num_decoder_layers: 6,
    vocab_size: 32128,
    feed_forward_proj: "relu",
  },
  "t5-small",
);
const shape = (srcLen: number, numChoices = 2) => ({ srcLen, numChoices, tgtLen: 4 });
const base = { backend: "wasm", config: SMALL, parameterCount: 60_000_000, batchSize: 8, what: "training" };

describe("memory sizing", () => {
  it("trains T5-small at 256 tokens in micro-batches of 4-6 and shrinks them for longer inputs", () => {
    const at256 = trainMicroBatchSize({ ...base, shapes: [shape(256), shape(100)] });
    expect(at256).toBeGreaterThanOrEqual(4);
    expect(at256).toBeLessThanOrEqual(6);
    expect(trainMicroBatchSize({ ...base, shapes: [shape(512)] })).toBeLessThan(at256);
    expect(trainMicroBatchSize({ ...base, backend: "tensorflow", shapes: [shape(4096)] })).toBe(8);
  });

  it("names the example that cannot fit, its tokens and data.max_seq_len", () => {
    const shapes = [shape(100), shape(8192, 77), shape(300)];
    expect(() => trainMicroBatchSize({ ...base, shapes })).toThrow(
      /training example 2 \(8192 input tokens, 77 choices of up to 4 tokens\).*data\.max_seq_len/,
    );
    expect(() => evalBatchSize({ ...base, what: "eval", shapes })).toThrow(/eval example 2 \(8192 input tokens/);
  });

  it("sizes eval batches by the longest input", () => {
    expect(evalBatchSize({ ...base, batchSize: 16, what: "eval", shapes: [shape(256)] })).toBe(16);
    const long = evalBatchSize({ ...base, batchSize: 16, what: "eval", shapes: [shape(2048)] });
    expect(long).toBeGreaterThanOrEqual(1);
    expect(long).toBeLessThan(16);
  });

  it("bounds choices per decoder pass by logits rows and cross-attention scores", () => {
    expect(choiceChunkSize({ examples: 1, tgtLen: 4, srcLen: 256, config: SMALL, choiceChunk: 32 })).toBe(32);
    expect(choiceChunkSize({ examples: 16, tgtLen: 8, srcLen: 256, config: SMALL, choiceChunk: 32 })).toBe(8); // 1024 logit rows
    expect(choiceChunkSize({ examples: 2, tgtLen: 8, srcLen: 16384, config: SMALL, choiceChunk: 77 })).toBe(16); // 32 Mi cross-attention scores
    expect(choiceChunkSize({ examples: 64, tgtLen: 32, srcLen: 4096, config: SMALL, choiceChunk: 32 })).toBe(1);
  });
});

describe("GPU sizing from canned nvidia-smi output (T0-3B, batch 8 × 256, 2 choices)", () => {
  const T0_3B = parseT5Config(
    {
      model_type: "t5",
      d_model: 1024,
      d_kv: 128,
      num_heads: 32,
      d_ff: 16384,
      num_layers: 24,
      num_decoder_layers: 24,
      vocab_size: 32128,
      feed_forward_proj: "gated-gelu",
    },
    "t0-3b",
  );
  const params = 2_849_757_184; // T0-3B (bigscience/T0_3B)
  // idle cards (memory.used small) as `nvidia-smi --query-gpu=index,uuid,memory.total,memory.used,name` prints them
  const cards = {
    "16 GB": "0, GPU-a, 16384, 300, Tesla V100-SXM2-16GB",
    "24 GB": "0, GPU-b, 23028, 400, NVIDIA A10",
    "40 GB": "0, GPU-c, 40960, 500, NVIDIA A100-SXM4-40GB",
    "80 GB": "0, GPU-d, 81559, 600, NVIDIA H100 80GB HBM3",
  };
  const size = (line: string) => {
    const free = parseGpuMemoryCsv(line)[0]?.freeBytes ?? null;
    return () =>
      trainMicroBatchSize({
        backend: "tensorflow",
        config: T0_3B,
        parameterCount: params,
        batchSize: 8,
        shapes: [shape(256)],
        what: "training",
        deviceFreeBytes: free,
      });
  };

  // tfjs keeps every intermediate of a step on the tape (gelu_new alone leaves ~8 tensors of d_ff per token):
  // about 13.7 GiB per 256-token example of T0-3B by the wasm-calibrated estimate, beside 10.6 GiB of weights
  it("does not fit one example on 16 and 24 GB cards: one line naming the example, the GPU's free memory and the key", () => {
    for (const card of [cards["16 GB"], cards["24 GB"]]) {
      expect(size(card)).toThrow(
        /training example 1 \(256 input tokens.*GiB free on the GPU \(nvidia-smi\).*data\.max_seq_len/,
      );
    }
  });

  it("gives micro-batches of 1 on a 40 GB card and 4 (two passes) on an 80 GB card", () => {
    expect(size(cards["40 GB"])()).toBe(1);
    expect(size(cards["80 GB"])()).toBe(4);
  });

  it("leaves the batch alone when the GPU's memory is unknown (no nvidia-smi) and on cpu", () => {
    expect(
      trainMicroBatchSize({
        backend: "webgpu",
        config: T0_3B,
        parameterCount: params,
        batchSize: 8,
        shapes: [shape(256)],
        what: "training",
        deviceFreeBytes: null,
      }),
    ).toBe(8);
    expect(
      trainMicroBatchSize({
        backend: "cpu",
        config: SMALL,
        parameterCount: 60_000_000,
        batchSize: 8,
        shapes: [shape(4096)],
        what: "training",
        deviceFreeBytes: 1e9,
      }),
    ).toBe(8);
  });

  it("a CPU engine (tensorflow on a CPU host, cpu) is sized by the host's available memory", () => {
    const input = {
      backend: "tensorflow",
      config: T0_3B,
      parameterCount: params,
      batchSize: 8,
      shapes: [shape(256)],
      what: "training",
      deviceFreeBytes: null,
      hostFreeBytes: 60 * 1024 ** 3,
    };
    const micro = trainMicroBatchSize(input);
    expect(micro).toBeGreaterThanOrEqual(1);
    expect(micro).toBeLessThan(8);
    expect(trainMicroBatchSize({ ...input, hostFreeBytes: 200 * 1024 ** 3 })).toBe(8);
    expect(memoryBasis(input)).toBe("60.0 GiB of available host memory");
    expect(() => trainMicroBatchSize({ ...input, hostFreeBytes: 12 * 1024 ** 3 })).toThrow(
      /more than 12\.0 GiB of available host memory leaves for training; use a device or machine with more memory$/,
    );
  });

  it("weights alone over the wasm heap: one line naming the engine that can run it", () => {
    const call = () =>
      trainMicroBatchSize({
        backend: "wasm",
        config: T0_3B,
        parameterCount: 783_000_000, // T5-large: 3 copies on the heap exceed its 4 GiB
        batchSize: 8,
        shapes: [shape(64)],
        what: "training",
      });
    expect(call).toThrow(/^memory: the model's 783M parameters take about 8\.8 GiB, more than the wasm backend's/);
    expect(call).toThrow(/run it on --backend tensorflow/);
  });
});
