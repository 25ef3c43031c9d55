// Backend choice: auto = tensorflow (tfjs-node-gpu with a GPU, else tfjs-node), then wasm, then cpu.
// `--backend NAME` / TFEW_BACKEND override. Optional packages are imported dynamically: their absence
// never breaks install or startup. Also picks the per-backend fast paths (per-head attention on wasm/cpu), which
// loadT5 applies.
import { TfewError } from "../errors.js";
import { installNativeMatMul } from "./native-matmul.js";
import { applyReadPolicy } from "./reads.js";
import { tf } from "./tf.js";

export const BACKEND_NAMES = ["auto", "tensorflow", "wasm", "cpu", "webgpu"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendChoice {
  name: Exclude<BackendName, "auto">;
  reason: string;
  /** linear layers keep W beside Wᵀ so every backward matMul is a plain 2-D one (wasm/cpu) */
  keepUntransposed: boolean;
  /** attention kernel for this backend: per-head 2-D matMuls where batched matMul is slow; loadT5 applies it */
  attention: "per-head" | "reference";
}

async function tryTensorflow(): Promise<string | null> {
  // TensorFlow grabs almost all GPU memory at start unless told to grow: then nvidia-smi (the GPU monitor and
  // micro-batch sizing) sees what tfew really uses. A user's own setting wins.
  process.env.TF_FORCE_GPU_ALLOW_GROWTH ??= "true";
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      await import(pkg);
      if (await tf.setBackend("tensorflow")) return pkg;
    } catch {
      // not installed or libtensorflow missing: try the next one
    }
  }
  return null;
}

/**
 * TFEW_WASM_DIR: the folder holding tfjs-backend-wasm's .wasm files (the kit's wasm/; default: beside the package).
 * A location, not a choice: also read from process.env, which workers (given env {}) share.
 */
async function tryWasm(env: NodeJS.ProcessEnv): Promise<boolean> {
  try {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    const dir = env.TFEW_WASM_DIR ?? process.env.TFEW_WASM_DIR;
    if (dir !== undefined && dir !== "") wasm.setWasmPaths(dir.endsWith("/") ? dir : `${dir}/`);
    return await tf.setBackend("wasm");
  } catch {
    return false;
  }
}

async function tryWebgpu(): Promise<string | null> {
  const { registerWebgpuBackend } = await import("./webgpu.js");
  const result = await registerWebgpuBackend();
  if (!result.ok) return result.reason;
  return (await tf.setBackend("webgpu")) ? null : "tf.setBackend('webgpu') failed";
}

function finish(name: BackendChoice["name"], reason: string): BackendChoice {
  // PROD silences tfjs's console banner ("looks like you are running TensorFlow.js in Node.js") on cpu
  if (name === "cpu") tf.env().set("PROD", true);
  if (name === "wasm") {
    // OpenBLAS matMul on the wasm heap when built and present: then every matMul layout is fast, and the
    // per-head split and the cached W (workarounds for wasm's slow transposed/batched matMul) are not needed
    const native = installNativeMatMul();
    if (native.ok) {
      return { name, reason: `${reason}; matMul: native ${native.library}`, ...fastPaths(name, { nativeMatMul: true }) };
    }
    reason = `${reason}; matMul: wasm (${native.reason})`;
  }
  return { name, reason, ...fastPaths(name, { nativeMatMul: false }) };
}

/**
 * The wasm-era fast paths per backend: per-head 2-D attention and the cached untransposed W help only where
 * batched/transposed matMul is slow (wasm, cpu without native matMul); GPU and TensorFlow backends get plain ops.
 */
export function fastPaths(name: BackendChoice["name"], options: { nativeMatMul: boolean }): { attention: "per-head" | "reference"; keepUntransposed: boolean } {
  const slowBatchedMatMul = (name === "wasm" || name === "cpu") && !options.nativeMatMul;
  return { attention: slowBatchedMatMul ? "per-head" : "reference", keepUntransposed: slowBatchedMatMul };
}

/** Picks and initializes a backend. `requested` wins over TFEW_BACKEND, which wins over auto. */
export async function selectBackend(requested: BackendName | undefined, env: NodeJS.ProcessEnv = process.env): Promise<BackendChoice> {
  applyReadPolicy(); // TFEW_STRICT_READS=1: synchronous reads throw (process.env: workers share it)
  const fromEnv = env.TFEW_BACKEND as BackendName | undefined;
  if (fromEnv !== undefined && !BACKEND_NAMES.includes(fromEnv)) {
    throw new TfewError(`backend: TFEW_BACKEND="${fromEnv}" is not a backend; use one of ${BACKEND_NAMES.join(", ")}`);
  }
  const wanted = requested !== undefined && requested !== "auto" ? requested : (fromEnv ?? "auto");
  const via = requested !== undefined && requested !== "auto" ? "--backend" : fromEnv !== undefined ? "TFEW_BACKEND" : "auto";
  switch (wanted) {
    case "tensorflow": {
      const pkg = await tryTensorflow();
      if (pkg === null) throw new TfewError(`backend: "tensorflow" asked by ${via} but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node loads here; install one (see the Dockerfile) or use --backend wasm`);
      return finish("tensorflow", `${via}: ${pkg}`);
    }
    case "webgpu": {
      const failure = await tryWebgpu();
      if (failure !== null) throw new TfewError(`backend: "webgpu" asked by ${via} but unavailable: ${failure}; use --backend wasm`);
      return finish("webgpu", `${via}: Dawn WebGPU adapter`);
    }
    case "wasm":
      if (!(await tryWasm(env))) throw new TfewError(`backend: "wasm" asked by ${via} but @tensorflow/tfjs-backend-wasm failed to start; use --backend cpu`);
      return finish("wasm", `${via}: WebAssembly SIMD, 1 thread per worker`);
    case "cpu":
      await tf.setBackend("cpu");
      return finish("cpu", `${via}: pure-JS reference backend (slow)`);
    case "auto": {
      const pkg = await tryTensorflow();
      if (pkg !== null) return finish("tensorflow", `auto: ${pkg} loaded`);
      if (await tryWasm(env)) return finish("wasm", "auto: tfjs-node not installed, WebAssembly SIMD available");
      await tf.setBackend("cpu");
      return finish("cpu", "auto: neither tfjs-node nor wasm available");
    }
  }
}
