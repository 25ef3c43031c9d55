// Micro-batch sizing for bounded memory. The wasm heap is capped at 4 GiB: the tape keeps every
// intermediate, and XNNPACK keeps packed copies of the weights. Measured (PERF-NOTES): T5-small, 256
// input tokens, 2 choices: 4 examples per pass use 2.9-3.1 GB; 8 abort. The estimate below is calibrated
// to that (≈ 600 MB per example there).
import { TfewError } from "../errors.js";
import { innerDim, type T5Config } from "../model/config.js";

const WASM_HEAP_BYTES = 4 * 1024 ** 3;
const TAPE_FACTOR = 6.5; // live tape tensors per "logical" activation (norms, gelu parts, softmax, grads)

/** Rough bytes of activations kept for backward by one example. */
export function activationBytesPerExample(config: T5Config, shape: { srcLen: number; numChoices: number; tgtLen: number }): number {
  const d = config.dModel;
  const inner = innerDim(config);
  const ffnWidth = config.dFf * (config.gatedFfn ? 3 : 2);
  const encoder = config.numLayers * (shape.srcLen * (3 * d + 4 * inner + ffnWidth) + 3 * config.numHeads * shape.srcLen * shape.srcLen);
  const rows = shape.numChoices * shape.tgtLen;
  const decoder =
    config.numDecoderLayers * (rows * (5 * d + 6 * inner + ffnWidth + 3 * config.numHeads * (shape.tgtLen + shape.srcLen)) + 2 * shape.srcLen * inner);
  const head = rows * config.vocabSize * 3; // logits, log-softmax, gradient
  return 4 * TAPE_FACTOR * (encoder + decoder) + 4 * head;
}

/** Bytes the frozen weights take on the wasm heap: W and Wᵀ plus XNNPACK's packed copy. */
export function weightHeapBytes(parameterCount: number): number {
  return 4 * parameterCount * 3;
}

/**
 * The largest micro-batch (≤ batchSize) whose activations fit the heap beside the weights. Only the wasm
 * backend has a hard cap; other backends use the full batch unless configured.
 */
export function autoMicroBatchSize(options: {
  backend: string;
  config: T5Config;
  parameterCount: number;
  batchSize: number;
  shape: { srcLen: number; numChoices: number; tgtLen: number };
}): number {
  if (options.backend !== "wasm") return options.batchSize;
  const free = WASM_HEAP_BYTES * 0.8 - weightHeapBytes(options.parameterCount);
  const perExample = activationBytesPerExample(options.config, options.shape);
  const fit = Math.floor(free / perExample);
  if (fit < 1) {
    throw new TfewError(
      `memory: one example (${options.shape.srcLen} input tokens, ${options.shape.numChoices} choices) needs about ${(perExample / 1024 ** 3).toFixed(1)} GiB beside ${(weightHeapBytes(options.parameterCount) / 1024 ** 3).toFixed(1)} GiB of weights, over the wasm backend's 4 GiB heap; use --backend tensorflow (tfjs-node) or webgpu, or lower data.max_seq_len`,
    );
  }
  return Math.min(options.batchSize, fit);
}
