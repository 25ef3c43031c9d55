import { describe, expect, it } from "vitest";
import { TfewError } from "../errors.js";
import { asOutOfMemoryError, isOutOfMemoryError, outOfMemoryKind, outOfMemoryMessage } from "./out-of-memory.js";

// Messages as each backend words them (TensorFlow 2.x C API through tfjs-node-gpu, Dawn, emscripten, Node).
const TF_OOM =
  "OOM when allocating tensor with shape[8,256,32128] and type float on /job:localhost/replica:0/task:0/device:GPU:0 by allocator GPU_0_bfc";
const GPU_ERRORS = [
  TF_OOM,
  "ResourceExhaustedError: failed to allocate memory",
  "CUDA_ERROR_OUT_OF_MEMORY: out of memory",
  "Internal: Blas GEMM launch failed: CUBLAS_STATUS_ALLOC_FAILED",
  "Dst tensor is not initialized.",
  Object.assign(new Error("Out of memory"), { name: "GPUOutOfMemoryError" }),
  "Buffer size (8589934592) exceeds the max buffer size limit (4294967296).",
];
const HOST_ERRORS = [
  "Cannot enlarge memory arrays to size 4294967296 bytes",
  "Aborted(OOM)",
  new RangeError("Array buffer allocation failed"),
];
const OTHER = [
  "memory access out of bounds",
  "Aborted()",
  "matMul: inner shapes 3 and 4 do not match",
  new TfewError("train: out of GPU memory (already explained)"),
];

describe("isOutOfMemoryError", () => {
  it.each(GPU_ERRORS.map((e) => [String(e instanceof Error ? e.name : e).slice(0, 40), e]))("GPU: %s", (_, e) => {
    const error = e instanceof Error ? e : new Error(e as string);
    expect(isOutOfMemoryError(error)).toBe(true);
    expect(outOfMemoryKind(error)).toBe("GPU");
  });
  it.each(HOST_ERRORS.map((e) => [String(e).slice(0, 40), e]))("host heap: %s", (_, e) => {
    expect(outOfMemoryKind(e instanceof Error ? e : new Error(e))).toBe("host");
  });
  it.each(OTHER.map((e) => [String(e).slice(0, 40), e]))("not an out-of-memory: %s", (_, e) => {
    expect(isOutOfMemoryError(e instanceof Error ? e : new Error(e))).toBe(false);
  });
});

describe("outOfMemoryMessage", () => {
  it("names train.micro_batch_size with half the value in force, in one line", () => {
    const line = outOfMemoryMessage(new Error(`${TF_OOM}\n\t [[node MatMul]]`), {
      phase: "train",
      backend: "tensorflow",
      size: 8,
    });
    expect(line).toBe(
      `train: out of GPU memory on the tensorflow backend at train.micro_batch_size=8 (Error: ${TF_OOM.slice(0, 153)}); lower train.micro_batch_size (--set train.micro_batch_size=4)`,
    );
    expect(line).not.toContain("\n");
  });

  it("names eval.batch_size for eval, and another way out at size 1", () => {
    expect(
      outOfMemoryMessage(new Error("CUDA_ERROR_OUT_OF_MEMORY"), { phase: "eval", backend: "webgpu", size: 16 }),
    ).toMatch(/eval\.batch_size=16 .*--set eval\.batch_size=8\)$/);
    expect(outOfMemoryMessage(new Error("Aborted(OOM)"), { phase: "eval", backend: "wasm", size: 1 })).toMatch(
      /^eval: out of host memory on the wasm backend .*eval\.batch_size is already 1: run it on --backend tensorflow/,
    );
  });

  it("asOutOfMemoryError wraps only out-of-memory errors, as a TfewError keeping the cause", () => {
    const oom = new Error(TF_OOM);
    const wrapped = asOutOfMemoryError(oom, { phase: "train", backend: "tensorflow", size: 2 });
    expect(wrapped).toBeInstanceOf(TfewError);
    expect((wrapped as TfewError).cause).toBe(oom);
    const other = new Error("bug");
    expect(asOutOfMemoryError(other, { phase: "train", backend: "tensorflow", size: 2 })).toBe(other);
  });
});
