// Registers tfjs's WebGPU backend on Node through Dawn (npm "webgpu"); both packages are optional and loaded
// only when called. Mirrors the dawn-gpu/node-webgpu README: navigator = { gpu: create([]) } plus its globals.
import { createRequire } from "node:module";
import { tf } from "./tf.js";
import { explainNoAdapter, probeVulkanHost, type VulkanHost } from "./vulkan-probe.js";

export type WebgpuRegistration = { ok: true; adapter: string } | { ok: false; reason: string };

/** Loads a module by name (tests inject fakes). */
export type ModuleLoader = (specifier: string) => Promise<unknown>;

interface DawnModule {
  create: (flags: string[]) => GpuLike;
  globals: Record<string, unknown>;
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<AdapterLike | null>;
}
interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}

// Variable specifiers keep tsc from resolving the optional packages: this file compiles without them.
const DAWN = "webgpu";
const BACKEND = "@tensorflow/tfjs-backend-webgpu";
// Modules bundled into the app (the kit's single file, scripts/kit-entry.js): they share its one tfjs-core.
const bundled = new Map<string, () => Promise<unknown>>();
const defaultLoader: ModuleLoader = (specifier) => bundled.get(specifier)?.() ?? import(specifier);
const defaultResolve = (specifier: string): void => {
  if (!bundled.has(specifier)) createRequire(import.meta.url).resolve(specifier);
};

/**
 * Makes `specifier` load through `load` instead of node_modules (the kit bundles @tensorflow/tfjs-backend-webgpu).
 * Returns a function that takes it back.
 */
export function provideBundledModule(specifier: string, load: () => Promise<unknown>): () => void {
  bundled.set(specifier, load);
  return () => {
    if (bundled.get(specifier) === load) bundled.delete(specifier);
  };
}

let once: Promise<WebgpuRegistration> | null = null;

/**
 * Makes tf.setBackend("webgpu") possible. Never throws: a missing package, a host without a WebGPU adapter
 * (no Vulkan driver, e.g. Debian's Mesa without a GPU) or a failing load all come back as { ok: false, reason }.
 * Globals (navigator, GPU* constants) are only set once an adapter exists. The result is cached.
 */
export function registerWebgpuBackend(
  options: { load?: ModuleLoader; resolve?: (specifier: string) => void; host?: () => VulkanHost } = {},
): Promise<WebgpuRegistration> {
  const host = options.host ?? (() => probeVulkanHost());
  if (options.load !== undefined || options.resolve !== undefined || options.host !== undefined) {
    return register(options.load ?? defaultLoader, options.resolve ?? defaultResolve, host);
  }
  once ??= register(defaultLoader, defaultResolve, host);
  return once;
}

async function register(
  load: ModuleLoader,
  resolve: (specifier: string) => void,
  host: () => VulkanHost,
): Promise<WebgpuRegistration> {
  const precheck = process.env.TFEW_WEBGPU_PRECHECK !== "0"; // 0: ask Dawn even where the Vulkan probe sees nothing
  try {
    let dawn: DawnModule;
    try {
      dawn = (await load(DAWN)) as DawnModule;
    } catch (error) {
      return {
        ok: false,
        reason: isNotFound(error, DAWN)
          ? `package ${DAWN} not installed`
          : `package ${DAWN} failed to load (${oneLine(error)})`,
      };
    }
    if (typeof dawn.create !== "function")
      return { ok: false, reason: `package ${DAWN} has no create(); expected dawn-gpu/node-webgpu` };
    // Without a Vulkan loader or driver Dawn finds nothing and prints Vulkan warnings: say what is missing instead
    const vulkan = host();
    if (precheck && (vulkan.loaders.length === 0 || vulkan.icdFiles.length === 0))
      return { ok: false, reason: explainNoAdapter(vulkan) };
    const gpu = dawn.create([]);
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (adapter === null || adapter === undefined) return { ok: false, reason: explainNoAdapter(vulkan) };
    try {
      resolve(BACKEND);
    } catch {
      return { ok: false, reason: `package ${BACKEND} not installed` };
    }
    // tfjs-backend-webgpu registers itself at import time only if navigator.gpu already exists.
    const undo = setGlobals({ ...dawn.globals, navigator: { gpu } });
    try {
      await load(BACKEND);
    } catch (error) {
      undo();
      return { ok: false, reason: `package ${BACKEND} failed to load (${oneLine(error)})` };
    }
    if (tf.findBackendFactory("webgpu") === null) {
      undo();
      return {
        ok: false,
        reason: `${BACKEND} did not register with tfew's tfjs-core (two copies? check npm ls @tensorflow/tfjs-core)`,
      };
    }
    installWebgpuMatMulFix();
    return { ok: true, adapter: describe(adapter) };
  } catch (error) {
    return { ok: false, reason: `WebGPU setup failed (${oneLine(error)})` };
  }
}

/**
 * Sets properties on globalThis; the returned function puts the previous ones back. Defined, not assigned: from
 * Node 21 on, globalThis.navigator is a getter without a setter (configurable), so `navigator = ...` throws.
 */
function setGlobals(values: Record<string, unknown>): () => void {
  const target = globalThis as Record<string, unknown>;
  const previous = Object.keys(values).map((key) => [key, Object.getOwnPropertyDescriptor(target, key)] as const);
  for (const [key, value] of Object.entries(values))
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  return () => {
    for (const [key, descriptor] of previous) {
      if (descriptor === undefined) delete target[key];
      else Object.defineProperty(target, key, descriptor);
    }
  };
}

function isNotFound(error: unknown, specifier: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === "string" ? message : "";
  // Only the package itself: "Cannot find package 'debug' imported from .../webgpu/index.js" is a broken install.
  const names = [`'${specifier}'`, `"${specifier}"`];
  return (
    (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND" || /Cannot find (package|module)/i.test(text)) &&
    names.some((name) => text.includes(name))
  );
}

function describe(adapter: AdapterLike): string {
  const info = adapter.info ?? {};
  const parts = [info.vendor, info.architecture, info.device, info.description].filter(
    (part) => part !== undefined && part !== "",
  );
  return parts.length === 0 ? "WebGPU adapter" : parts.join(" ");
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split("\n")[0] ?? "").slice(0, 200);
}

// tfjs-backend-webgpu 4.22's split-K matMul program (chosen for batch 1, K >= 2000 and few output tiles) reads B
// as vec4 along the wrong axis when B is transposed: its vec4 test, unlike the packed program's, lacks
// `!transposeB`. Measured on lavapipe: relative error ~1 for [6,2048]·[32,2048]ᵀ (scripts/webgpu-matmul-matrix.mjs).
const PROGRAM_FLAG = "WEBGPU_MATMUL_PROGRAM_TYPE";
const THRESHOLD_FLAG = "WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL";
const SPLIT_K = 1; // MatMulProgramType.MatMulSplitKProgram
const SMALL_OUTPUT = 2; // MatMulProgramType.MatMulSmallOutputSizeProgram: what auto picks when split-K is not allowed
const MATMUL_KERNELS = ["BatchMatMul", "_FusedMatMul"];
const fixedKernels = new WeakSet<tf.KernelFunc>();

export interface MatMulCall {
  aShape: readonly number[];
  bShape: readonly number[];
  transposeA: boolean;
  transposeB: boolean;
}

/**
 * Whether tfjs-backend-webgpu 4.22 would run `call` with its split-K program and a transposed B (the wrong case).
 * Repeats its choice in BatchMatMul_impl: `programFlag` is WEBGPU_MATMUL_PROGRAM_TYPE (-1: auto), `threshold` the
 * workgroup count under which it spreads work (the backend's thresholdToIncreaseWorkgroups unless the flag sets it).
 */
export function runsSplitKWithTransposedB(call: MatMulCall, programFlag: number, threshold: number): boolean {
  if (!call.transposeB) return false;
  if (programFlag >= 0) return programFlag === SPLIT_K;
  const { aShape, bShape } = call;
  const batch = Math.max(product(aShape.slice(0, -2)), product(bShape.slice(0, -2)));
  const m = call.transposeA ? (aShape.at(-1) ?? 1) : (aShape.at(-2) ?? 1);
  const n = bShape.at(-2) ?? 1;
  const k = bShape.at(-1) ?? 1;
  const workgroups = batch * Math.ceil(m / 32) * Math.ceil(n / 32);
  const fewWorkgroups = workgroups <= threshold || (m <= 8 && workgroups <= threshold * 2);
  return fewWorkgroups && batch * m * n > 128 && batch === 1 && k >= 2000;
}

function product(dims: readonly number[]): number {
  return dims.reduce((total, dim) => total * dim, 1);
}

/**
 * Wraps webgpu's BatchMatMul and _FusedMatMul kernels so that a call which would take the broken split-K path runs
 * the small-output program instead (right for every shape measured); every other call is untouched. Called by
 * registerWebgpuBackend; idempotent; TFEW_WEBGPU_MATMUL_FIX=0 leaves the kernels as shipped (to show the bug).
 * Returns the kernels wrapped now or before.
 */
export function installWebgpuMatMulFix(): string[] {
  if (process.env.TFEW_WEBGPU_MATMUL_FIX === "0") return [];
  const wrapped: string[] = [];
  for (const name of MATMUL_KERNELS) {
    const config = tf.getKernel(name, "webgpu");
    if (config === undefined) continue;
    wrapped.push(name);
    if (fixedKernels.has(config.kernelFunc)) continue;
    const inner = config.kernelFunc;
    const kernelFunc: tf.KernelFunc = (params) => {
      const flag = flagNumber(PROGRAM_FLAG);
      if (flag === null) return inner(params); // a tfjs without the flag: not the version this fix is for
      if (!runsSplitKWithTransposedB(callOf(params), flag, thresholdOf(params.backend))) return inner(params);
      tf.env().set(PROGRAM_FLAG, SMALL_OUTPUT);
      try {
        return inner(params);
      } finally {
        tf.env().set(PROGRAM_FLAG, flag);
      }
    };
    fixedKernels.add(kernelFunc);
    tf.unregisterKernel(name, "webgpu");
    tf.registerKernel({ ...config, kernelFunc });
  }
  return wrapped;
}

/** Whether webgpu's matMul kernels currently carry the split-K fix. */
export function webgpuMatMulFixed(): boolean {
  return MATMUL_KERNELS.every((name) => {
    const config = tf.getKernel(name, "webgpu");
    return config !== undefined && fixedKernels.has(config.kernelFunc);
  });
}

function callOf(params: Parameters<tf.KernelFunc>[0]): MatMulCall {
  const { a, b } = params.inputs;
  return {
    aShape: a?.shape ?? [],
    bShape: b?.shape ?? [],
    transposeA: params.attrs?.transposeA === true,
    transposeB: params.attrs?.transposeB === true,
  };
}

/** A registered numeric flag's value; null when this tfjs has no such flag. */
function flagNumber(name: string): number | null {
  try {
    return tf.env().getNumber(name);
  } catch {
    return null;
  }
}

function thresholdOf(backend: unknown): number {
  const fromFlag = flagNumber(THRESHOLD_FLAG) ?? -1;
  if (fromFlag > 0) return fromFlag;
  const own = (backend as { thresholdToIncreaseWorkgroups?: unknown }).thresholdToIncreaseWorkgroups;
  return typeof own === "number" ? own : 8;
}
