// Memory budgeting, decided from the model's shapes before the first kernel runs. The wasm heap is capped at
// 4 GiB: frozen weights take W, Wᵀ and XNNPACK's packed copy; training keeps every intermediate on the tape
// (measured, PERF-NOTES: T5-small, 256 tokens, 2 choices: 4 examples per pass use 2.9-3.1 GB; 8 abort);
// inference keeps only one layer's attention scores at a time. Micro-batch and eval batch sizes change
// speed only: the objective is the same for any split (see accumulate.ts). On GPU backends the bound is the
// device's free memory as nvidia-smi reports it before the model loads.
import { TfewError } from "../errors.js";
import { innerDim, type T5Config } from "../model/config.js";

const WASM_HEAP_BYTES = 4 * 1024 ** 3;
const HEAP_USABLE = 0.8; // fragmentation and the allocator's own overhead
// Calibrated on the wasm backend (tf.profile peak bytes, 2026-11-30): T5-small shape at 256 tokens / 2 choices
// trains at 0.47 GB and evaluates at 47 MB per example; the demo model at 2,048 tokens / 77 choices at 1.68 GB
// and 277 MB. The estimates below give 0.48 / 1.73 GB and 46 / 296 MB.
const TAPE_FACTOR = 6.5; // live tape tensors per "logical" activation (norms, gelu parts, grads)
const TRAIN_ATTENTION_COPIES = 10; // per encoder layer: scores, + bias, + mask, probabilities, and their gradients
const TRAIN_CROSS_COPIES = 6; // per decoder layer: cross-attention scores [choices·tgt, src] and their gradients
const ATTENTION_COPIES = 4; // inference, one layer at a time: scores, + bias, + mask, probabilities
const HIDDEN_COPIES = 6; // inference: a layer's projections and feed-forward activations alive at once
/** Rows of logits per decoder pass: 1024 × a 32k vocabulary = 128 MB of float32. */
export const MAX_LOGIT_ROWS = 1024;
/** Floats of cross-attention scores per decoder pass: [examples, heads, choices·tgt, src]. */
const MAX_CROSS_SCORES = 32 * 1024 ** 2;

export interface ExampleShape {
  srcLen: number; // input tokens
  numChoices: number;
  tgtLen: number; // longest choice, tokens
}

/** Bytes of activations one example keeps for backward (quadratic attention terms counted apart). */
export function activationBytesPerExample(config: T5Config, shape: ExampleShape): number {
  const d = config.dModel;
  const inner = innerDim(config);
  const ffnWidth = config.dFf * (config.gatedFfn ? 3 : 2);
  const rows = shape.numChoices * shape.tgtLen;
  const linear =
    config.numLayers * shape.srcLen * (3 * d + 4 * inner + ffnWidth) +
    config.numDecoderLayers *
      (rows * (5 * d + 6 * inner + ffnWidth + 3 * config.numHeads * shape.tgtLen) + 2 * shape.srcLen * inner);
  const attention =
    config.numLayers * TRAIN_ATTENTION_COPIES * config.numHeads * shape.srcLen * shape.srcLen +
    config.numDecoderLayers * TRAIN_CROSS_COPIES * config.numHeads * rows * shape.srcLen;
  const head = rows * config.vocabSize * 3; // logits, softmax, gradient
  return 4 * (TAPE_FACTOR * linear + attention + head);
}

/** Bytes of one example in inference (eval, predict, score): encoder activations and its cross K/V. */
export function inferenceBytesPerExample(config: T5Config, srcLen: number): number {
  const inner = innerDim(config);
  const ffnWidth = config.dFf * (config.gatedFfn ? 3 : 2);
  const attention = ATTENTION_COPIES * config.numHeads * srcLen * srcLen; // one layer at a time
  const hidden = HIDDEN_COPIES * srcLen * (config.dModel + inner + ffnWidth);
  const crossKv = 2 * config.numDecoderLayers * srcLen * inner;
  return 4 * (attention + hidden + crossKv);
}

/** Bytes of one bounded decoder pass (logits and cross-attention scores at their caps) plus the position bias. */
function decoderPassBytes(config: T5Config, srcLen: number): number {
  const ffnWidth = config.dFf * (config.gatedFfn ? 3 : 2);
  const rows = MAX_LOGIT_ROWS * (2 * config.vocabSize + 6 * config.dModel + ffnWidth);
  return 4 * (rows + 2 * MAX_CROSS_SCORES + 2 * config.numHeads * srcLen * srcLen);
}

/** Bytes the frozen weights take on the wasm heap: W and Wᵀ plus XNNPACK's packed copy. */
export function weightHeapBytes(parameterCount: number): number {
  return 4 * parameterCount * 3;
}

const gib = (bytes: number) => (bytes / 1024 ** 3).toFixed(1);

const DEVICE_USABLE = 0.85; // of a GPU's free memory: the framework's scratch buffers and fragmentation need the rest

/**
 * Bytes left for activations: the wasm heap beside W, Wᵀ and XNNPACK's copy; a GPU's free memory (measured
 * before the model loaded) beside the float32 weights; null = unknown, not capped (cpu, or no nvidia-smi).
 */
function freeBytes(input: SizingInput): number | null {
  if (input.backend === "wasm") return WASM_HEAP_BYTES * HEAP_USABLE - weightHeapBytes(input.parameterCount);
  if (input.deviceFreeBytes != null && input.backend !== "cpu")
    return input.deviceFreeBytes * DEVICE_USABLE - 4 * input.parameterCount;
  // a CPU engine: the host's available memory beside the weights (W and Wᵀ while loading: one copy stays)
  if (input.hostFreeBytes != null) return input.hostFreeBytes * HOST_USABLE - 4 * input.parameterCount;
  return null;
}

/** Of the host's available memory: the rest is the OS, the page cache tfew's reads need, and the engine's scratch. */
const HOST_USABLE = 0.7;

/** Where the memory bound of the sizing comes from, for the log line. */
export function memoryBasis(input: {
  backend: string;
  deviceFreeBytes?: number | null;
  hostFreeBytes?: number | null;
}): string {
  if (input.backend === "wasm") return "the wasm backend's 4 GiB heap";
  if (input.backend !== "cpu" && input.deviceFreeBytes != null)
    return `${gib(input.deviceFreeBytes)} GiB free on the GPU (nvidia-smi)`;
  if (input.hostFreeBytes != null) return `${gib(input.hostFreeBytes)} GiB of available host memory`;
  return "no memory cap known";
}

/** Index of the example with the most input tokens (the one that bounds memory). */
function largest(shapes: readonly ExampleShape[]): number {
  return shapes.reduce((best, s, i) => (s.srcLen > (shapes[best] as ExampleShape).srcLen ? i : best), 0);
}

export interface SizingInput {
  backend: string;
  config: T5Config;
  parameterCount: number;
  batchSize: number; // the most that is asked for
  shapes: readonly ExampleShape[]; // every example that will run
  what: string; // names the examples in errors: "training", "eval", "predict", "score"
  deviceFreeBytes?: number | null; // GPU backends: free device memory before the model loaded (nvidia-smi)
  hostFreeBytes?: number | null; // CPU engines (tensorflow on a CPU host, cpu): available host memory before it loaded
}

/**
 * The largest micro-batch (≤ batchSize) whose tape fits the heap beside the weights. Only the wasm backend
 * has a hard cap; others use the full batch unless configured. An example that cannot fit alone is named.
 */
export function trainMicroBatchSize(input: SizingInput): number {
  const free = freeBytes(input);
  if (free === null || input.shapes.length === 0) return input.batchSize;
  const i = largest(input.shapes);
  const shape = input.shapes[i] as ExampleShape;
  // a micro-batch pads every example to its longest choice and its most choices (mixed tasks): size for both
  const tgtLen = Math.max(...input.shapes.map((s) => s.tgtLen));
  const numChoices = Math.max(...input.shapes.map((s) => s.numChoices));
  const perExample = activationBytesPerExample(input.config, { ...shape, tgtLen, numChoices });
  const fit = Math.floor(free / perExample);
  if (fit < 1) throw tooLarge(input, i, perExample, tooLargeFix(input.backend));
  // the fewest passes that fit, of equal size (8 that fit 5 → 4 + 4, not 5 + 3): balanced across workers
  const passes = Math.ceil(input.batchSize / Math.min(input.batchSize, fit));
  return Math.ceil(input.batchSize / passes);
}

/** The largest eval batch (≤ batchSize) whose encoder activations and one bounded decoder pass fit the heap. */
export function evalBatchSize(input: SizingInput): number {
  const free = freeBytes(input);
  if (free === null || input.shapes.length === 0) return input.batchSize;
  const i = largest(input.shapes);
  const srcLen = (input.shapes[i] as ExampleShape).srcLen;
  const perExample = inferenceBytesPerExample(input.config, srcLen);
  const fit = Math.floor((free - decoderPassBytes(input.config, srcLen)) / perExample);
  if (fit < 1)
    throw tooLarge(input, i, perExample + decoderPassBytes(input.config, srcLen), tooLargeFix(input.backend));
  return Math.min(input.batchSize, fit);
}

/**
 * What to do about one example too large for the memory: on wasm the heap's cap is the limit, so the backend
 * that has none comes first (a prompt may need its length: the default template lists every label).
 */
export function tooLargeFix(backend: string): string {
  const smaller = "data.max_seq_len, data.max_choice_len, or a data.template without {labels}";
  return backend === "wasm"
    ? `run it on --backend tensorflow (no wasm heap cap; README "Backends") or webgpu, or make it smaller (${smaller})`
    : `use a device with more memory, or make it smaller (${smaller})`;
}

/** The model's weights alone fill the memory: no example size helps, only another engine or device. */
function weightsTooLarge(input: SizingInput): TfewError {
  const weights = input.backend === "wasm" ? weightHeapBytes(input.parameterCount) : 4 * input.parameterCount;
  const fix =
    input.backend === "wasm"
      ? 'run it on --backend tensorflow (no wasm heap cap; README "Backends") or webgpu'
      : "use a device or machine with more memory";
  return new TfewError(
    `memory: the model's ${(input.parameterCount / 1e6).toFixed(0)}M parameters take about ${gib(weights)} GiB, ` +
      `more than ${memoryBasis(input)} leaves for ${input.what}; ${fix}`,
  );
}

function tooLarge(input: SizingInput, index: number, bytes: number, fix: string): TfewError {
  if ((freeBytes(input) ?? 1) <= 0) return weightsTooLarge(input);
  const s = input.shapes[index] as ExampleShape;
  const weights = input.backend === "wasm" ? weightHeapBytes(input.parameterCount) : 4 * input.parameterCount;
  return new TfewError(
    `memory: ${input.what} example ${index + 1} (${s.srcLen} input tokens, ${s.numChoices} choices of up to ${s.tgtLen} tokens) needs about ${gib(bytes)} GiB beside ${gib(weights)} GiB of weights, over ${memoryBasis(input)}; ${fix}`,
  );
}

/** Choices per decoder pass: eval.choice_chunk, bounded so a pass's logits and cross-attention scores stay capped. */
export function choiceChunkSize(input: {
  examples: number;
  tgtLen: number;
  srcLen: number;
  config: T5Config;
  choiceChunk: number;
}): number {
  const rowsPerChoice = input.examples * input.tgtLen;
  const byLogits = Math.floor(MAX_LOGIT_ROWS / rowsPerChoice);
  const byScores = Math.floor(MAX_CROSS_SCORES / (rowsPerChoice * input.config.numHeads * input.srcLen));
  return Math.max(1, Math.min(input.choiceChunk, byLogits, byScores));
}
