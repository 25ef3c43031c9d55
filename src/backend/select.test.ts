import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fastPaths, selectBackend } from "./select.js";

const empty = mkdtempSync(join(tmpdir(), "tfew-wasm-dir-"));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

describe("fastPaths", () => {
  it("keeps per-head attention and cached Wᵀ to wasm/cpu without native matMul; GPU backends get plain ops", () => {
    expect(fastPaths("wasm", { nativeMatMul: false })).toEqual({ attention: "per-head", keepUntransposed: true });
    expect(fastPaths("cpu", { nativeMatMul: false })).toEqual({ attention: "per-head", keepUntransposed: true });
    expect(fastPaths("wasm", { nativeMatMul: true })).toEqual({ attention: "reference", keepUntransposed: false });
    expect(fastPaths("webgpu", { nativeMatMul: false })).toEqual({ attention: "reference", keepUntransposed: false });
    expect(fastPaths("tensorflow", { nativeMatMul: false })).toEqual({ attention: "reference", keepUntransposed: false });
  });
});

describe("TFEW_WASM_DIR", () => {
  // wasm starts from the package's own .wasm files by default; pointed at an empty folder it must fail
  it("is where the wasm backend looks for its .wasm files", async () => {
    await expect(selectBackend("wasm", { TFEW_WASM_DIR: empty })).rejects.toThrow(/backend: "wasm" asked by --backend but @tensorflow\/tfjs-backend-wasm failed to start/);
  });
});
