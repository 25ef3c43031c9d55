// Optional native matMul for the wasm backend: replaces its BatchMatMul kernel with OpenBLAS sgemm
// (native/tfew_blas.c, loaded with dlopen) working directly on the wasm heap. wasm's own matMul is 128-bit
// SIMD (29-45 GFLOP/s a core here, 1-4 when transposed or batched); OpenBLAS uses AVX2/AVX-512. Opt-out:
// TFEW_NATIVE_MATMUL=0. Absent addon or OpenBLAS → nothing changes.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { tf } from "./tf.js";

interface BlasAddon {
  load(threads: number): string | null;
  gemm(
    heap: ArrayBufferLike,
    aOffset: number,
    bOffset: number,
    cOffset: number,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: number,
    transB: number,
    aStride: number,
    bStride: number,
  ): void;
  logsumexp(heap: ArrayBufferLike, inOffset: number, outOffset: number, rows: number, cols: number): void;
}

/** The kernel name of the native row-wise log-sum-exp (registered on wasm with the native matMul). */
export const LOG_SUM_EXP_ROWS = "TfewLogSumExpRows";

/** The wasm backend's internals this kernel needs (tfjs-backend-wasm 4.22). */
interface WasmBackendLike {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
  wasm: { HEAPU8: Uint8Array };
}

const ADDON = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "native", "build", "tfew_blas.node");

let installed: string | null = null;

/** Installs the native kernel on the wasm backend; returns what was loaded, or why not. */
export function installNativeMatMul(
  env: NodeJS.ProcessEnv = process.env,
): { ok: true; library: string } | { ok: false; reason: string } {
  if (installed !== null) return { ok: true, library: installed };
  if (env.TFEW_NATIVE_MATMUL === "0") return { ok: false, reason: "TFEW_NATIVE_MATMUL=0" };
  if (!existsSync(ADDON)) return { ok: false, reason: "native/build/tfew_blas.node not built" };
  // one BLAS thread per worker (tfew parallelizes with worker threads): an OpenMP OpenBLAS otherwise starts a
  // pool per core whose spinning threads halve a 2-worker step (measured 3.5 → 2.2 s/step at T5-small).
  // Set before the library loads (dlopen below); a user's own setting wins.
  for (const key of ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"]) if (env[key] === undefined) process.env[key] = "1";
  let addon: BlasAddon;
  try {
    addon = createRequire(import.meta.url)(ADDON) as BlasAddon;
  } catch (error) {
    return { ok: false, reason: `addon failed to load (${(error as Error).message.split("\n")[0]})` };
  }
  const library = addon.load(1); // one BLAS thread per worker: tfew parallelizes with worker threads
  if (library === null)
    return { ok: false, reason: "OpenBLAS (libopenblas.so.0) not found; apt-get install libopenblas0" };
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel({
    kernelName: "BatchMatMul",
    backendName: "wasm",
    kernelFunc: (args) => nativeBatchMatMul(addon, args as unknown as KernelArgs) as tf.TensorInfo,
  });
  if (typeof addon.logsumexp === "function") {
    tf.registerKernel({
      kernelName: LOG_SUM_EXP_ROWS,
      backendName: "wasm",
      kernelFunc: (args) => nativeLogSumExpRows(addon, args as unknown as RowsArgs) as tf.TensorInfo,
    });
  }
  installed = library;
  return { ok: true, library };
}

interface RowsArgs {
  inputs: { x: tf.TensorInfo };
  backend: WasmBackendLike;
}

/** [rows, cols] → [rows]: log Σ exp along the last axis, in one native pass per row. */
function nativeLogSumExpRows(addon: BlasAddon, { inputs, backend }: RowsArgs): tf.TensorInfo {
  const { x } = inputs;
  if (x.dtype !== "float32" || x.shape.length !== 2) throw new Error("TfewLogSumExpRows: a float32 [rows, cols]");
  const [rows, cols] = x.shape as [number, number];
  const offset = (t: tf.TensorInfo) => (backend.dataIdMap.get(t.dataId) as { memoryOffset: number }).memoryOffset >>> 0;
  const xOffset = offset(x); // before makeOutput, which may grow the heap (see nativeBatchMatMul)
  const out = backend.makeOutput([rows], "float32");
  addon.logsumexp(backend.wasm.HEAPU8.buffer, xOffset, offset(out), rows, cols);
  return out;
}

/** log Σ exp over the last axis of z [rows, cols] → [rows]: native on wasm when installed, else tf.logSumExp. */
export function logSumExpRows(z: tf.Tensor2D): tf.Tensor1D {
  if (tf.getKernel(LOG_SUM_EXP_ROWS, tf.getBackend()) === undefined) return tf.logSumExp(z, -1) as tf.Tensor1D;
  return tf.engine().runKernel(LOG_SUM_EXP_ROWS, { x: z }, {}) as tf.Tensor1D;
}

interface KernelArgs {
  inputs: { a: tf.TensorInfo; b: tf.TensorInfo };
  backend: WasmBackendLike;
  attrs: { transposeA: boolean; transposeB: boolean };
}

function nativeBatchMatMul(addon: BlasAddon, { inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { a, b } = inputs;
  if (a.dtype !== "float32" || b.dtype !== "float32") throw new Error("BatchMatMul: float32 only");
  const { transposeA, transposeB } = attrs;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = (transposeA ? a.shape[ra - 1] : a.shape[ra - 2]) as number;
  const k = (transposeA ? a.shape[ra - 2] : a.shape[ra - 1]) as number;
  const kb = (transposeB ? b.shape[rb - 1] : b.shape[rb - 2]) as number;
  const n = (transposeB ? b.shape[rb - 2] : b.shape[rb - 1]) as number;
  if (k !== kb) throw new Error(`matMul: inner shapes ${k} and ${kb} of [${a.shape}] and [${b.shape}] do not match`);
  const batchA = a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const batchB = b.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1)
    throw new Error(`matMul: batch dims of [${a.shape}] and [${b.shape}] do not broadcast`);
  const outerDims = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  // Each of these can grow the wasm heap, which detaches its old ArrayBuffer: reading an operand's offset moves
  // its data in from another backend when it lives there, and makeOutput allocates. So the heap is read last.
  // offsets past 2 GiB come back from _malloc as negative int32s: read them unsigned
  const offset = (t: tf.TensorInfo) => (backend.dataIdMap.get(t.dataId) as { memoryOffset: number }).memoryOffset >>> 0;
  const aOffset = offset(a);
  const bOffset = offset(b);
  const out = backend.makeOutput([...outerDims, m, n], "float32");
  const cOffset = offset(out);
  const heap = backend.wasm.HEAPU8.buffer;
  addon.gemm(
    heap,
    aOffset,
    bOffset,
    cOffset,
    batch,
    m,
    n,
    k,
    transposeA ? 1 : 0,
    transposeB ? 1 : 0,
    batchA === 1 ? 0 : m * k,
    batchB === 1 ? 0 : k * n,
  );
  return out;
}
