// Backend choice: auto = tensorflow on a CUDA GPU (tfjs-node-gpu, or a tfjs-node built over a CUDA TensorFlow),
// else on a CPU host the faster one for the model's size (cpuAutoFor, measured), then cpu.
// `--backend NAME` / TFEW_BACKEND override. Optional packages are imported dynamically: their absence never breaks
// install or startup. Also picks the per-backend fast paths (per-head attention on wasm/cpu), which loadT5 applies.
import { existsSync, readdirSync } from "node:fs";
import util from "node:util";
import { TfewError } from "../errors.js";
import { installNativeMatMul } from "./native-matmul.js";
import { installWasmIdentity } from "./wasm-identity.js";
import { applyReadPolicy } from "./reads.js";
import { tf } from "./tf.js";
import { BACKEND_NAMES, type BackendName } from "./backend-names.js";

export { BACKEND_NAMES, type BackendName };

export interface BackendChoice {
  name: Exclude<BackendName, "auto">;
  reason: string;
  /** linear layers keep W beside Wᵀ so every backward matMul is a plain 2-D one (wasm/cpu) */
  keepUntransposed: boolean;
  /** attention kernel for this backend: per-head 2-D matMuls where batched matMul is slow; loadT5 applies it */
  attention: "per-head" | "reference";
}

/**
 * auto's choice on a host without a usable CUDA GPU, by model size. Measured on a 2-core x86-64 VM (Xeon with
 * AVX-512, Debian 12), each pair in one quiet run of both sides:
 * - T5-small shape (77M parameters, configs/bench-t5-small.yaml: batch 8 × 256), 10 steps, step 1 dropped, two runs:
 *   tensorflow (tfjs-node over pip tensorflow-cpu 2.21) 1.93 / 1.80 s/step, peak RSS 3.9 GB;
 *   wasm + native OpenBLAS matMul, 2 workers          2.02 / 1.92 s/step, peak RSS 5.6 GB.
 * - the demo model (0.24M parameters, 60 steps): wasm 2.7 s, tensorflow 4.3 s (TensorFlow's start-up dominates).
 * So tensorflow from CPU_TENSORFLOW_FROM parameters (a threshold between the two measured sizes), wasm below it;
 * without tfjs-node installed auto stays on wasm (scripts/tfjs-node-tensorflow.sh builds it).
 */
export const CPU_TENSORFLOW_FROM = 20_000_000;

/** The faster CPU backend for a model of `parameters` (null: unknown, e.g. gold-check's fixture: wasm). */
export function cpuAutoFor(parameters: number | null): "wasm" | "tensorflow" {
  return parameters !== null && parameters >= CPU_TENSORFLOW_FROM ? "tensorflow" : "wasm";
}

/** What auto asks of the host; tests replace it. */
export interface HostProbe {
  /** a CUDA device this process may use: /dev/nvidiaN present and not hidden by CUDA_VISIBLE_DEVICES */
  cudaGpu: (env: NodeJS.ProcessEnv) => boolean;
  /** import of an optional package; tfjs-node's registers its backend at priority 3 and activates it */
  importPackage: (pkg: string) => Promise<unknown>;
  /** the faster backend on this machine class without a GPU, for a model of this many parameters */
  cpuAuto: (parameters: number | null) => "wasm" | "tensorflow";
}

export function cudaGpuVisible(env: NodeJS.ProcessEnv): boolean {
  const visible = (env.CUDA_VISIBLE_DEVICES ?? process.env.CUDA_VISIBLE_DEVICES)?.trim().toLowerCase();
  if (visible === "" || visible === "-1" || visible === "none" || visible === "void") return false;
  try {
    return existsSync("/dev/nvidiactl") && readdirSync("/dev").some((name) => /^nvidia\d+$/.test(name));
  } catch {
    return false;
  }
}

export const HOST: HostProbe = { cudaGpu: cudaGpuVisible, importPackage: (pkg) => import(pkg), cpuAuto: cpuAutoFor };

/** The GPU package first (it runs on CPU too when CUDA is missing), then the CPU one (or a CUDA build of it). */
const TFJS_NODE_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;

/**
 * auto's attempts in order. "tensorflow-gpu": load tfjs-node, keep it if TensorFlow placed ops on the GPU (or if
 * it is the faster CPU backend), else remove it again. "tensorflow": load tfjs-node and keep it.
 */
export type AutoStep = "tensorflow-gpu" | "tensorflow" | "wasm" | "cpu";
export function autoOrder(cudaGpu: boolean, cpuAuto: "wasm" | "tensorflow"): AutoStep[] {
  if (cudaGpu) return ["tensorflow-gpu", "wasm", "cpu"];
  return cpuAuto === "tensorflow" ? ["tensorflow", "wasm", "cpu"] : ["wasm", "cpu"];
}

interface TensorflowBackend {
  isUsingGpuDevice?: boolean;
  binding?: { TF_Version?: string };
}

/** What the loaded tfjs-node reports: the TensorFlow version of its C API and whether it placed ops on a GPU. */
export function tensorflowInfo(): { version: string | null; gpu: boolean } {
  const backend = tf.findBackend("tensorflow") as TensorflowBackend | null;
  return { version: backend?.binding?.TF_Version ?? null, gpu: backend?.isUsingGpuDevice === true };
}

/**
 * tfjs-node 4.22 calls util.isNullOrUndefined, which Node 23 removed: on Node 24 its every kernel threw
 * "isNullOrUndefined is not a function". Put it back (as it was) before it loads; util.isArray too, silently.
 */
export function restoreNodeUtil(): void {
  const u = util as unknown as Record<string, unknown>;
  u.isNullOrUndefined ??= (value: unknown) => value === null || value === undefined;
  u.isArray = Array.isArray; // what util.isArray is, without the deprecation line (DEP0044) Node 22+ prints on use
}

/** The package that loaded, and the TensorFlow version of its C API (null if not readable). */
async function tryTensorflow(host: HostProbe): Promise<{ pkg: string; version: string | null } | null> {
  // TensorFlow grabs almost all GPU memory at start unless told to grow: then nvidia-smi (the GPU monitor and
  // micro-batch sizing) sees what tfew really uses. A user's own setting wins.
  process.env.TF_FORCE_GPU_ALLOW_GROWTH ??= "true";
  restoreNodeUtil();
  for (const pkg of TFJS_NODE_PACKAGES) {
    try {
      await host.importPackage(pkg);
      if (await tf.setBackend("tensorflow")) return { pkg, version: tensorflowInfo().version };
    } catch {
      // not installed or libtensorflow missing: try the next one
    }
  }
  return null;
}

function tensorflowReason(loaded: { pkg: string; version: string | null }): string {
  return loaded.version === null ? loaded.pkg : `${loaded.pkg} (TensorFlow ${loaded.version} C API)`;
}

/** Importing tfjs-node left its backend registered and active: auto did not choose it, so take it away again. */
function dropTensorflow(): void {
  if (tf.findBackendFactory("tensorflow") !== null) tf.removeBackend("tensorflow");
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
    installWasmIdentity(); // saved tensors shared, not copied (wasm-identity.ts)
    // OpenBLAS matMul on the wasm heap when built and present: then every matMul layout is fast, and the
    // per-head split and the cached W (workarounds for wasm's slow transposed/batched matMul) are not needed
    const native = installNativeMatMul();
    if (native.ok) {
      return {
        name,
        reason: `${reason}; matMul: native ${native.library}`,
        ...fastPaths(name, { nativeMatMul: true }),
      };
    }
    reason = `${reason}; matMul: wasm (${native.reason})`;
  }
  return { name, reason, ...fastPaths(name, { nativeMatMul: false }) };
}

/**
 * The wasm-era fast paths per backend: per-head 2-D attention and the cached untransposed W help only where
 * batched/transposed matMul is slow (wasm, cpu without native matMul); GPU and TensorFlow backends get plain ops.
 */
export function fastPaths(
  name: BackendChoice["name"],
  options: { nativeMatMul: boolean },
): { attention: "per-head" | "reference"; keepUntransposed: boolean } {
  const slowBatchedMatMul = (name === "wasm" || name === "cpu") && !options.nativeMatMul;
  return { attention: slowBatchedMatMul ? "per-head" : "reference", keepUntransposed: slowBatchedMatMul };
}

/**
 * Picks and initializes a backend. `requested` wins over TFEW_BACKEND, which wins over auto; auto's CPU choice
 * depends on the model's parameter count (`model.parameters`, null when not known yet).
 */
export async function selectBackend(
  requested: BackendName | undefined,
  env: NodeJS.ProcessEnv = process.env,
  host: HostProbe = HOST,
  model: { parameters: number | null } = { parameters: null },
): Promise<BackendChoice> {
  applyReadPolicy(); // TFEW_STRICT_READS=1: synchronous reads throw (process.env: workers share it)
  const fromEnv = env.TFEW_BACKEND as BackendName | undefined;
  if (fromEnv !== undefined && !BACKEND_NAMES.includes(fromEnv)) {
    throw new TfewError(`backend: TFEW_BACKEND="${fromEnv}" is not a backend; use one of ${BACKEND_NAMES.join(", ")}`);
  }
  const wanted = requested !== undefined && requested !== "auto" ? requested : (fromEnv ?? "auto");
  const via =
    requested !== undefined && requested !== "auto" ? "--backend" : fromEnv !== undefined ? "TFEW_BACKEND" : "auto";
  switch (wanted) {
    case "tensorflow": {
      const loaded = await tryTensorflow(host);
      if (loaded === null) {
        throw new TfewError(
          `backend: "tensorflow" asked by ${via} but neither @tensorflow/tfjs-node-gpu nor ` +
            "@tensorflow/tfjs-node loads here; build one with scripts/tfjs-node-tensorflow.sh " +
            "(docs/tensorflow-backend.md) or use --backend wasm",
        );
      }
      return finish("tensorflow", `${via}: ${tensorflowReason(loaded)}`);
    }
    case "webgpu": {
      const failure = await tryWebgpu();
      if (failure !== null)
        throw new TfewError(`backend: "webgpu" asked by ${via} but unavailable: ${failure}; use --backend wasm`);
      return finish("webgpu", `${via}: Dawn WebGPU adapter`);
    }
    case "wasm":
      if (!(await tryWasm(env)))
        throw new TfewError(
          `backend: "wasm" asked by ${via} but @tensorflow/tfjs-backend-wasm failed to start; use --backend cpu`,
        );
      return finish("wasm", `${via}: WebAssembly SIMD, 1 thread per worker`);
    case "cpu":
      await tf.setBackend("cpu");
      return finish("cpu", `${via}: pure-JS reference backend (slow)`);
    case "auto":
      return await selectAuto(env, host, host.cpuAuto(model.parameters));
  }
}

async function selectAuto(
  env: NodeJS.ProcessEnv,
  host: HostProbe,
  cpuAuto: "wasm" | "tensorflow",
): Promise<BackendChoice> {
  const gpu = host.cudaGpu(env);
  let tensorflowMissing = false;
  for (const step of autoOrder(gpu, cpuAuto)) {
    if (step === "wasm") {
      if (!(await tryWasm(env))) continue;
      const why = gpu
        ? "TensorFlow does not run on the CUDA GPU here"
        : tensorflowMissing
          ? "no CUDA GPU; tensorflow would be faster for this model: scripts/tfjs-node-tensorflow.sh"
          : "no CUDA GPU; faster than tensorflow on CPU for this model size";
      return finish("wasm", `auto: WebAssembly SIMD (${why})`);
    }
    if (step === "cpu") {
      await tf.setBackend("cpu");
      return finish("cpu", "auto: neither TensorFlow on a GPU nor wasm available");
    }
    const loaded = await tryTensorflow(host);
    if (loaded === null) {
      tensorflowMissing = step === "tensorflow";
      continue;
    }
    if (step === "tensorflow-gpu" && tensorflowInfo().gpu) {
      return finish("tensorflow", `auto: ${tensorflowReason(loaded)} on the CUDA GPU`);
    }
    if (cpuAuto === "tensorflow")
      return finish("tensorflow", `auto: ${tensorflowReason(loaded)}, faster on CPU for this model size`);
    // loaded, but on the CPU only, where wasm is faster: without this its priority-3 registration would stay
    // active (the import called setBackend) and tf.getBackend() would still say "tensorflow"
    dropTensorflow();
  }
  throw new TfewError("backend: auto found no backend"); // unreachable: every order ends with "cpu"
}
