// Recognizes an out-of-memory error from a tfjs backend (TensorFlow/CUDA, WebGPU/Dawn, the wasm heap, Node's
// own buffers) and turns it into one line naming the key to lower. Pure: the caller (train/eval) rethrows it.
import { TfewError } from "../errors.js";

// Messages seen from each backend; "memory access out of bounds" is a bug, not an out-of-memory, and stays out.
const PATTERNS: readonly { kind: "GPU" | "host"; test: RegExp }[] = [
  { kind: "GPU", test: /\bOOM when allocating\b/ }, // TensorFlow: ResourceExhaustedError
  { kind: "GPU", test: /ResourceExhausted|RESOURCE_EXHAUSTED/ },
  {
    kind: "GPU",
    test: /CUDA_ERROR_OUT_OF_MEMORY|cudaErrorMemoryAllocation|CUBLAS_STATUS_ALLOC_FAILED|CUDNN_STATUS_ALLOC_FAILED/,
  },
  { kind: "GPU", test: /Dst tensor is not initialized/ }, // TensorFlow's GPU-to-host copy when the GPU is full
  { kind: "GPU", test: /GPUOutOfMemoryError|exceeds the max buffer size|maxStorageBufferBindingSize/i }, // WebGPU (Dawn)
  { kind: "GPU", test: /\bout of (device|GPU) memory\b/i },
  { kind: "host", test: /Cannot enlarge memory|Aborted\(OOM\)/ }, // wasm heap (emscripten)
  { kind: "host", test: /Array buffer allocation failed|JavaScript heap out of memory/ }, // Node
  { kind: "GPU", test: /\bout of memory\b/i },
];

function text(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Whether `error` says a device (or the wasm/Node heap) ran out of memory. */
export function isOutOfMemoryError(error: unknown): boolean {
  return outOfMemoryKind(error) !== null;
}

/** "GPU" (device memory), "host" (wasm heap, Node buffers), or null when the error is something else. */
export function outOfMemoryKind(error: unknown): "GPU" | "host" | null {
  if (error instanceof TfewError) return null;
  const message = text(error);
  return PATTERNS.find((pattern) => pattern.test.test(message))?.kind ?? null;
}

export interface OutOfMemoryContext {
  /** train: the key is train.micro_batch_size; eval (and predict, score): eval.batch_size */
  phase: "train" | "eval";
  backend: string;
  /** the value in force when it failed (examples per forward pass) */
  size: number;
}

const WASM_AT_ONE =
  'run it on --backend tensorflow (no wasm heap cap; README "Backends"), or make the examples smaller ' +
  "(data.max_seq_len, data.max_choice_len)";

/** One line: what ran out, where, the key in force and a smaller value to try. */
export function outOfMemoryMessage(error: unknown, context: OutOfMemoryContext): string {
  const key = context.phase === "train" ? "train.micro_batch_size" : "eval.batch_size";
  const kind = outOfMemoryKind(error) ?? "GPU";
  const first = (text(error).split("\n")[0] ?? "").slice(0, 160);
  const fix =
    context.size > 1
      ? `lower ${key} (--set ${key}=${Math.max(1, Math.floor(context.size / 2))})`
      : `${key} is already 1: ${context.backend === "wasm" ? WASM_AT_ONE : "use a device with more memory, or make the examples smaller (data.max_seq_len, data.max_choice_len)"}`;
  return `${context.phase}: out of ${kind} memory on the ${context.backend} backend at ${key}=${context.size} (${first}); ${fix}`;
}

/** The TfewError to throw in place of an out-of-memory error; other errors come back unchanged. */
export function asOutOfMemoryError(error: unknown, context: OutOfMemoryContext): unknown {
  return isOutOfMemoryError(error) ? new TfewError(outOfMemoryMessage(error, context), { cause: error }) : error;
}
