import { afterEach, describe, expect, it } from "vitest";
import { tf } from "./tf.js";
import {
  installWebgpuMatMulFix,
  provideBundledModule,
  registerWebgpuBackend,
  runsSplitKWithTransposedB,
  webgpuMatMulFixed,
} from "./webgpu.js";
import type { ModuleLoader } from "./webgpu.js";

const g = globalThis as Record<string, unknown>;
/** A host where the Vulkan probe sees a loader and a driver manifest (so Dawn is asked). */
const vulkanPresent = () => ({
  loaders: ["/usr/lib/x86_64-linux-gnu/libvulkan.so.1"],
  icdFiles: ["/usr/share/vulkan/icd.d/nvidia_icd.json"],
  icdDirs: [],
});
const hadNavigator = Object.getOwnPropertyDescriptor(globalThis, "navigator");

function notFound(specifier: string): Error {
  return Object.assign(new Error(`Cannot find package '${specifier}' imported from /x/webgpu.ts`), {
    code: "ERR_MODULE_NOT_FOUND",
  });
}

/** A Dawn module whose adapter is `adapter`; `loads` records what was imported. */
function fakeLoader(adapter: object | null, backend: () => unknown, loads: string[] = []): ModuleLoader {
  return async (specifier) => {
    loads.push(specifier);
    if (specifier === "webgpu") {
      return { create: () => ({ requestAdapter: async () => adapter }), globals: { GPUBufferUsage: { MAP_READ: 1 } } };
    }
    return backend();
  };
}

afterEach(() => {
  if (tf.findBackendFactory("webgpu") !== null) tf.removeBackend("webgpu");
});

describe("registerWebgpuBackend", () => {
  it("returns ok:false with a reason on this host (package absent or no adapter) and changes no globals", async () => {
    const backendBefore = tf.getBackend();
    const result = await registerWebgpuBackend();
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/^(package webgpu not installed|no WebGPU adapter)/);
    expect(Object.getOwnPropertyDescriptor(globalThis, "navigator")).toEqual(hadNavigator);
    expect(g.GPUBufferUsage).toBeUndefined();
    expect(tf.getBackend()).toBe(backendBefore);
    expect(await registerWebgpuBackend()).toEqual(result); // cached
  });

  it("reports a missing webgpu package without throwing", async () => {
    const result = await registerWebgpuBackend({
      load: async (specifier) => {
        throw notFound(specifier);
      },
    });
    expect(result).toEqual({ ok: false, reason: "package webgpu not installed" });
  });

  it("tells a broken webgpu install (missing dependency) from a missing one", async () => {
    const result = await registerWebgpuBackend({
      load: async () => {
        throw notFound("debug");
      },
    });
    expect(result).toEqual({
      ok: false,
      reason: "package webgpu failed to load (Cannot find package 'debug' imported from /x/webgpu.ts)",
    });
  });

  it("reports no adapter, naming what the host lacks, and never loads the backend", async () => {
    const loads: string[] = [];
    const host = { loaders: [], icdFiles: [], icdDirs: ["/etc/vulkan/icd.d"] };
    const result = await registerWebgpuBackend({
      load: fakeLoader(null, () => ({}), loads),
      resolve: () => undefined,
      host: () => host,
    });
    expect(result).toMatchObject({
      ok: false,
      reason: expect.stringMatching(
        /^no WebGPU adapter: the Vulkan loader \(libvulkan\.so\.1\) is not installed; apt-get install libvulkan1/,
      ) as unknown,
    });
    expect(loads).toEqual(["webgpu"]);
    expect(Object.getOwnPropertyDescriptor(globalThis, "navigator")).toEqual(hadNavigator); // a getter from Node 21 on
    const noDriver = await registerWebgpuBackend({
      load: fakeLoader(null, () => ({})),
      resolve: () => undefined,
      host: () => ({ ...host, loaders: ["/usr/lib/libvulkan.so.1"] }),
    });
    expect(noDriver).toMatchObject({
      ok: false,
      reason: expect.stringMatching(
        /^no WebGPU adapter: Vulkan loader found but no Vulkan driver \(no ICD \.json in \/etc\/vulkan\/icd\.d\)/,
      ) as unknown,
    });
  });

  it("loads bundled modules (the kit's single file) instead of node_modules once provided", async () => {
    const fakeDawn = { create: () => ({ requestAdapter: async () => ({ info: { vendor: "test" } }) }), globals: {} };
    const undo = [
      provideBundledModule("webgpu", async () => fakeDawn),
      provideBundledModule("@tensorflow/tfjs-backend-webgpu", async () => {
        tf.registerBackend("webgpu", () => tf.findBackend("cpu") as never);
        return {};
      }),
    ];
    const result = await registerWebgpuBackend({ host: vulkanPresent });
    for (const f of undo) f();
    expect(result).toEqual({ ok: true, adapter: "test" });
    if (hadNavigator === undefined) delete g.navigator;
    else Object.defineProperty(globalThis, "navigator", hadNavigator);
  });

  it("does not ask Dawn (which would print Vulkan warnings) when the probe finds no loader or no driver", async () => {
    let created = 0;
    const load: ModuleLoader = async () => ({
      create: () => (created++, { requestAdapter: async () => ({}) }),
      globals: {},
    });
    const result = await registerWebgpuBackend({
      load,
      resolve: () => undefined,
      host: () => ({ ...vulkanPresent(), icdFiles: [] }),
    });
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/no Vulkan driver/) as unknown });
    expect(created).toBe(0);
  });

  it("names a driver that found no GPU when loader and ICD are present", async () => {
    const result = await registerWebgpuBackend({
      load: fakeLoader(null, () => ({})),
      resolve: () => undefined,
      host: () => ({ loaders: ["/l"], icdFiles: ["/x/nvidia_icd.json"], icdDirs: [] }),
    });
    expect(result).toMatchObject({
      ok: false,
      reason: expect.stringMatching(
        /^no WebGPU adapter: Vulkan driver nvidia_icd\.json found but it reported no usable GPU/,
      ) as unknown,
    });
  });

  it("reports a missing tfjs-backend-webgpu and leaves globals alone", async () => {
    const result = await registerWebgpuBackend({
      load: fakeLoader({}, () => ({})),
      resolve: (specifier) => {
        throw notFound(specifier);
      },
      host: vulkanPresent,
    });
    expect(result).toEqual({ ok: false, reason: "package @tensorflow/tfjs-backend-webgpu not installed" });
    expect(g.GPUBufferUsage).toBeUndefined();
  });

  it("sets navigator.gpu and the WebGPU globals before the backend loads, and checks it registered", async () => {
    let seenAtLoad: unknown;
    const result = await registerWebgpuBackend({
      load: fakeLoader({ info: { vendor: "nvidia", architecture: "hopper", device: "", description: "H100" } }, () => {
        seenAtLoad = [
          typeof (g.navigator as { gpu?: { requestAdapter?: unknown } }).gpu?.requestAdapter,
          g.GPUBufferUsage,
        ];
        tf.registerBackend("webgpu", () => tf.findBackend("cpu") as never);
        return {};
      }),
      resolve: () => undefined,
      host: vulkanPresent,
    });
    expect(seenAtLoad).toEqual(["function", { MAP_READ: 1 }]);
    expect(result).toEqual({ ok: true, adapter: "nvidia hopper H100" });
    delete g.GPUBufferUsage;
    if (hadNavigator === undefined) delete g.navigator;
    else Object.defineProperty(globalThis, "navigator", hadNavigator);
  });

  it("undoes the globals when the backend does not register", async () => {
    const result = await registerWebgpuBackend({
      load: fakeLoader({}, () => ({})),
      resolve: () => undefined,
      host: vulkanPresent,
    });
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/did not register/) as unknown });
    expect(g.GPUBufferUsage).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(globalThis, "navigator")).toEqual(hadNavigator);
  });
});

describe("the split-K matMul fix", () => {
  const call = (m: number, n: number, k: number, transposeB = true, batch = 1) => ({
    aShape: batch > 1 ? [batch, m, k] : [m, k],
    bShape: transposeB ? (batch > 1 ? [batch, n, k] : [n, k]) : [k, n],
    transposeA: false,
    transposeB,
  });

  it("finds the calls tfjs-backend-webgpu 4.22 sends to split-K with a transposed B (auto choice, threshold 8)", () => {
    expect(runsSplitKWithTransposedB(call(6, 32, 2048), -1, 8)).toBe(true); // [6,2048]·[32,2048]ᵀ of the report
    expect(runsSplitKWithTransposedB(call(6, 32, 32128), -1, 8)).toBe(true);
    expect(runsSplitKWithTransposedB(call(6, 32, 512), -1, 8)).toBe(false); // K < 2000: small-output program
    expect(runsSplitKWithTransposedB(call(4, 32, 4096), -1, 8)).toBe(false); // 128 outputs: reduce program
    expect(runsSplitKWithTransposedB(call(6, 32, 2048, false), -1, 8)).toBe(false); // B not transposed: right
    expect(runsSplitKWithTransposedB(call(6, 32, 2048, true, 3), -1, 8)).toBe(false); // split-K is batch 1 only
    expect(runsSplitKWithTransposedB(call(512, 512, 4096), -1, 8)).toBe(false); // many tiles: packed program
    expect(runsSplitKWithTransposedB(call(6, 512, 4096), -1, 8)).toBe(true); // M ≤ 8: up to twice the threshold
    expect(runsSplitKWithTransposedB(call(6, 544, 4096), -1, 8)).toBe(false);
    expect(runsSplitKWithTransposedB(call(64, 64, 512), 1, 8)).toBe(true); // forced split-K
    expect(runsSplitKWithTransposedB(call(6, 32, 2048), 3, 8)).toBe(false); // forced packed
  });

  it("wraps webgpu's BatchMatMul: only such calls run the small-output program; the flag comes back", () => {
    const flag = "WEBGPU_MATMUL_PROGRAM_TYPE";
    try {
      tf.env().get(flag);
    } catch {
      tf.env().registerFlag(flag, () => -1); // registered by tfjs-backend-webgpu, which this process has not loaded
    }
    const seen: number[] = [];
    const kernelFunc: tf.KernelFunc = () => {
      seen.push(tf.env().getNumber(flag));
      return { dataId: {}, shape: [], dtype: "float32" };
    };
    // only a fake BatchMatMul for the test, also where another test file loaded the real webgpu kernels
    const previous = ["BatchMatMul", "_FusedMatMul"].flatMap((name) => {
      const config = tf.getKernel(name, "webgpu");
      if (config !== undefined) tf.unregisterKernel(name, "webgpu");
      return config === undefined ? [] : [config];
    });
    tf.registerKernel({ kernelName: "BatchMatMul", backendName: "webgpu", kernelFunc });
    try {
      expect(installWebgpuMatMulFix()).toEqual(["BatchMatMul"]);
      expect(installWebgpuMatMulFix()).toEqual(["BatchMatMul"]); // idempotent: wraps once
      const run = (a: number[], b: number[], transposeB: boolean) => {
        const info = (shape: number[]) => ({ dataId: {}, shape, dtype: "float32" as const });
        const backend = { thresholdToIncreaseWorkgroups: 8 } as never;
        const attrs = { transposeA: false, transposeB };
        tf.getKernel("BatchMatMul", "webgpu")?.kernelFunc({ inputs: { a: info(a), b: info(b) }, backend, attrs });
      };
      run([6, 2048], [32, 2048], true);
      run([6, 2048], [2048, 32], false);
      run([6, 512], [32, 512], true);
      expect(seen).toEqual([2, -1, -1]);
      expect(tf.env().getNumber(flag)).toBe(-1);
      expect(webgpuMatMulFixed()).toBe(false); // _FusedMatMul is not registered here
    } finally {
      tf.unregisterKernel("BatchMatMul", "webgpu");
      for (const config of previous) {
        if (tf.getKernel(config.kernelName, "webgpu") !== undefined) tf.unregisterKernel(config.kernelName, "webgpu");
        tf.registerKernel(config);
      }
    }
  });
});
