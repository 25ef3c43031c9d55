// Backend selection: fast paths per backend, TFEW_WASM_DIR, the auto rule's order and GPU test, and the
// tensorflow reason line (where scripts/tfjs-node-tensorflow.sh installed it); auto end to end: select-auto.test.ts.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import util from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import {
  autoOrder,
  cudaGpuVisible,
  fastPaths,
  HOST,
  restoreNodeUtil,
  selectBackend,
  tensorflowInfo,
} from "./select.js";
import { tf } from "./tf.js";
import { noTfjsNode, REPO_ROOT } from "../../tests/helpers/shared.js";
const empty = mkdtempSync(join(tmpdir(), "tfew-wasm-dir-"));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

describe("fastPaths", () => {
  it("keeps per-head attention and cached Wᵀ to wasm/cpu without native matMul; GPU backends get plain ops", () => {
    expect(fastPaths("wasm", { nativeMatMul: false })).toEqual({ attention: "per-head", keepUntransposed: true });
    expect(fastPaths("cpu", { nativeMatMul: false })).toEqual({ attention: "per-head", keepUntransposed: true });
    expect(fastPaths("wasm", { nativeMatMul: true })).toEqual({ attention: "reference", keepUntransposed: false });
    expect(fastPaths("webgpu", { nativeMatMul: false })).toEqual({ attention: "reference", keepUntransposed: false });
    expect(fastPaths("tensorflow", { nativeMatMul: false })).toEqual({
      attention: "reference",
      keepUntransposed: false,
    });
  });
});

describe("TFEW_WASM_DIR", () => {
  // wasm starts from the package's own .wasm files by default; pointed at an empty folder it must fail
  // a fresh process: the wasm backend reads TFEW_WASM_DIR when it first starts (another test may have started it)
  it("is where the wasm backend looks for its .wasm files", () => {
    const select = pathToFileURL(join(REPO_ROOT, "dist", "backend", "select.js")).href;
    const script = `const { selectBackend } = await import(${JSON.stringify(select)});
await selectBackend("wasm", { TFEW_WASM_DIR: ${JSON.stringify(empty)} });`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/backend: "wasm" asked by --backend but @tensorflow\/tfjs-backend-wasm failed to start/);
  });
});

describe("auto rule", () => {
  it("tries TensorFlow first only with a CUDA GPU; on CPU the measured faster backend leads", () => {
    expect(autoOrder(true, "wasm")).toEqual(["tensorflow-gpu", "wasm", "cpu"]);
    expect(autoOrder(false, "wasm")).toEqual(["wasm", "cpu"]);
    expect(autoOrder(false, "tensorflow")).toEqual(["tensorflow", "wasm", "cpu"]);
    // measured: the demo (0.24M parameters) faster on wasm, the T5-small shape (77M) on tensorflow
    expect(HOST.cpuAuto(238_592)).toBe("wasm");
    expect(HOST.cpuAuto(76_956_160)).toBe("tensorflow");
    expect(HOST.cpuAuto(null)).toBe("wasm");
  });

  it("sees no CUDA GPU when CUDA_VISIBLE_DEVICES hides them all", () => {
    for (const hidden of ["", " ", "-1", "none", "NONE"]) {
      expect(cudaGpuVisible({ CUDA_VISIBLE_DEVICES: hidden })).toBe(false);
    }
  });
});

describe.skipIf(noTfjsNode)(`tensorflow backend (${noTfjsNode || "tfjs-node installed"})`, () => {
  it("names the TensorFlow version of the C API in its reason", async () => {
    const choice = await selectBackend("tensorflow", {});
    const version = tensorflowInfo().version;
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(choice.reason).toBe(`--backend: @tensorflow/tfjs-node (TensorFlow ${version} C API)`);
    expect(choice).toMatchObject({ name: "tensorflow", attention: "reference", keepUntransposed: false });
    expect(tf.getBackend()).toBe("tensorflow");
    const product = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0]);
    expect(product).toBe(11);
  });
});

describe("restoreNodeUtil", () => {
  it("gives tfjs-node the util.isNullOrUndefined that Node 23 removed (and keeps Node's own where it exists)", () => {
    const before = (util as unknown as Record<string, unknown>).isNullOrUndefined;
    restoreNodeUtil();
    const isNullOrUndefined = (util as unknown as { isNullOrUndefined: (v: unknown) => boolean }).isNullOrUndefined;
    if (before !== undefined) expect(isNullOrUndefined).toBe(before);
    expect([null, undefined, 0, "", false].map((v) => isNullOrUndefined(v))).toEqual([true, true, false, false, false]);
  });
});
