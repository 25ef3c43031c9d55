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
export function registerWebgpuBackend(options: { load?: ModuleLoader; resolve?: (specifier: string) => void; host?: () => VulkanHost } = {}): Promise<WebgpuRegistration> {
  const host = options.host ?? (() => probeVulkanHost());
  if (options.load !== undefined || options.resolve !== undefined || options.host !== undefined) {
    return register(options.load ?? defaultLoader, options.resolve ?? defaultResolve, host);
  }
  once ??= register(defaultLoader, defaultResolve, host);
  return once;
}

async function register(load: ModuleLoader, resolve: (specifier: string) => void, host: () => VulkanHost): Promise<WebgpuRegistration> {
  const precheck = process.env.TFEW_WEBGPU_PRECHECK !== "0"; // 0: ask Dawn even where the Vulkan probe sees nothing
  try {
    let dawn: DawnModule;
    try {
      dawn = (await load(DAWN)) as DawnModule;
    } catch (error) {
      return { ok: false, reason: isNotFound(error, DAWN) ? `package ${DAWN} not installed` : `package ${DAWN} failed to load (${oneLine(error)})` };
    }
    if (typeof dawn.create !== "function") return { ok: false, reason: `package ${DAWN} has no create(); expected dawn-gpu/node-webgpu` };
    // Without a Vulkan loader or driver Dawn finds nothing and prints Vulkan warnings: say what is missing instead
    const vulkan = host();
    if (precheck && (vulkan.loaders.length === 0 || vulkan.icdFiles.length === 0)) return { ok: false, reason: explainNoAdapter(vulkan) };
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
      return { ok: false, reason: `${BACKEND} did not register with tfew's tfjs-core (two copies? check npm ls @tensorflow/tfjs-core)` };
    }
    return { ok: true, adapter: describe(adapter) };
  } catch (error) {
    return { ok: false, reason: `WebGPU setup failed (${oneLine(error)})` };
  }
}

/** Sets properties on globalThis; the returned function puts the previous ones back. */
function setGlobals(values: Record<string, unknown>): () => void {
  const target = globalThis as Record<string, unknown>;
  const previous = Object.keys(values).map((key) => [key, Object.getOwnPropertyDescriptor(target, key)] as const);
  for (const [key, value] of Object.entries(values)) target[key] = value;
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
  return (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND" || /Cannot find (package|module)/i.test(text))
    && names.some((name) => text.includes(name));
}

function describe(adapter: AdapterLike): string {
  const info = adapter.info ?? {};
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((part) => part !== undefined && part !== "");
  return parts.length === 0 ? "WebGPU adapter" : parts.join(" ");
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split("\n")[0] ?? "").slice(0, 200);
}
