// Memory sizing from shapes: smaller passes for longer inputs, the full batch off wasm, an example that
// cannot fit named with its tokens and the key to lower, and decoder passes bounded for many choices.
import { describe, expect, it } from "vitest";
import { parseT5Config } from "../model/config.js";
import { choiceChunkSize, evalBatchSize, trainMicroBatchSize } from "./memory.js";

const SMALL = parseT5Config({ model_type: "t5", d_model: 512, d_kv: 64, num_heads: 8, d_ff: 2048, num_layers: 6, num_decoder_layers: 6, vocab_size: 32128, feed_forward_proj: "relu" }, "t5-small");
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
    expect(() => trainMicroBatchSize({ ...base, shapes })).toThrow(/training example 2 \(8192 input tokens, 77 choices of up to 4 tokens\).*data\.max_seq_len/);
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
