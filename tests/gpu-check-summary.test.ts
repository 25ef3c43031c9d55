// scripts/gpu-check-summary.js on canned gpu-check folders (what gpu-check.sh leaves on a GPU host and on a CPU-only
// one): the JSON summary's shape, gold and train numbers, where each backend ran, pass / gpu_pass, why a stage failed.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/shared.js";

const base = mkdtempSync(join(tmpdir(), "tfew-gpu-check-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A fresh check folder holding `files` (path → text). */
function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(base, "check-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

type Run = { status: number | null; stdout: string; stderr: string; s: Record<string, unknown> };
/** Runs the summary script on `dir`; its gpu-check.json parsed. */
function summarize(dir: string): Run {
  const script = join(REPO_ROOT, "scripts", "gpu-check-summary.js");
  const r = spawnSync(process.execPath, [script, dir], { encoding: "utf8" });
  const s = JSON.parse(readFileSync(join(dir, "gpu-check.json"), "utf8")) as Record<string, unknown>;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, s };
}

type Backend = { gpu: boolean | null; device: string | null; pass: boolean; torch_ratio: number | null };
const backend = (s: Record<string, unknown>, name: string) => (s.backends as Record<string, Backend>)[name] as Backend;

const GOLD = {
  logits_max_abs: 2e-4,
  loss_rel: 1e-6,
  ia3_grad_rel: 3e-4,
  tfew_loss_rel: 1e-6,
  tfew_grad_rel: 4e-4,
  tolerance: { logits_max_abs: 1e-3, grad_rel: 1e-3 },
  pass: true,
  seconds: 12.5,
};
const NVIDIA_ADAPTER = {
  vendor: "nvidia",
  architecture: "lovelace",
  device: "nvidia-l4",
  description: "NVIDIA: 550.90.07",
  is_fallback_adapter: false,
};
const LAVAPIPE_ADAPTER = {
  vendor: "mesa",
  architecture: "software",
  device: "llvmpipe-llvm-19-1-7-256-bits-",
  description: "llvmpipe: Mesa 25.0.7-2+deb13u1 (LLVM 19.1.7) 0.0.1",
  is_fallback_adapter: true,
};
const TF_GPU_LOG =
  "backend: tensorflow (--backend: @tensorflow/tfjs-node-gpu (TensorFlow 2.15.0 C API))\n" +
  "I0000 00:00:1700000000.000000    1234 gpu_device.cc:2022] Created device " +
  "/job:localhost/replica:0/task:0/device:GPU:0 with 20631 MB memory:  -> device: 0, name: NVIDIA L4, " +
  "pci bus id: 0000:00:03.0, compute capability: 8.9\ngold-check on tensorflow: ... PASS in 2.0 s\n";
const TF_CPU_LOG =
  "backend: tensorflow (--backend: @tensorflow/tfjs-node (TensorFlow 2.21.0 C API))\n" +
  "gold-check on tensorflow: ... PASS in 0.3 s\n";
// summary.json of a train run with the GPU monitor on (nvidia-smi present): device is the monitor's first GPU
const trainSummary = (s: number) =>
  JSON.stringify({
    steps: 10,
    device: "NVIDIA L4",
    s_per_step: s,
    s_per_step_median: s * 0.96,
    examples_per_s: 8 / s,
    micro_batch_size: 8,
    mfu: 0.031,
    gpu: { utilization_mean_pct: 71.5, memory_peak_mib: 3000 },
  });
const GPU_HOST = {
  "facts.tsv":
    "layout\tkit\nnode\tv20.20.2\nconfig\tconfigs/bench-t5-small.yaml\nsteps\t10\nvulkan_loader\tkit\n" +
    "vulkan_icd\t/usr/share/vulkan/icd.d/nvidia_icd.json\n",
  "nvidia-smi.csv": "0, NVIDIA L4, 550.90.07, 23034, 0\n",
  "gold-webgpu.json": JSON.stringify({ backend: "webgpu", ...GOLD }),
  "gold-webgpu.log": "backend: webgpu (--backend: Dawn WebGPU adapter)\n",
  "webgpu-adapter.json": JSON.stringify(NVIDIA_ADAPTER),
  "train-webgpu/summary.json": trainSummary(0.5),
  "torch.json": JSON.stringify({
    torch_version: "2.3.1",
    device: "cuda",
    share_cross_kv: true,
    train: { s_per_step: 0.2, examples_per_s: 40 },
  }),
};
const ALL_STAGES =
  "gold-webgpu\t0\t21\t120\ngold-tensorflow\t0\t9\t120\nprepare\t0\t30\t90\n" +
  "train-webgpu\t0\t80\t200\ntrain-tensorflow\t0\t60\t200\ntorch\t0\t40\t120\n";

describe("gpu-check-summary.js", () => {
  it("GPU host, both on the GPU: per-backend gold and train results, the PyTorch ratio, stages and pass", () => {
    const dir = folder({
      ...GPU_HOST,
      "stages.tsv": ALL_STAGES,
      "gold-tensorflow.json": JSON.stringify({ backend: "tensorflow", ...GOLD, ia3_grad_rel: 5e-4 }),
      "gold-tensorflow.log": TF_GPU_LOG,
      "train-tensorflow/summary.json": trainSummary(0.25),
    });
    const { status, stdout, stderr, s } = summarize(dir);
    expect(status, stderr).toBe(0);
    expect(stdout).toMatch(/^gold check\s+PASS\s+PASS$/m);
    expect(stdout).toMatch(/^on a GPU\s+yes\s+yes$/m);
    expect(stdout).toMatch(/^ratio \(>1: tfew faster\)\s+0\.40\s+0\.80$/m);
    expect(stdout).toContain("(PASS: every backend passed gold + train; on a GPU: webgpu, tensorflow, 240 s)");
    expect(s).toMatchObject({
      format: "tfew-gpu-check/1",
      layout: "kit",
      node: "v20.20.2",
      steps: 10,
      pass: true,
      gpu_pass: true,
      elapsed_s: 240,
      gpus: [{ index: 0, name: "NVIDIA L4", driver: "550.90.07", memory_total_mib: 23034, memory_used_mib: 0 }],
      vulkan: { loader: "kit", driver_manifest: "/usr/share/vulkan/icd.d/nvidia_icd.json", manifest_written: false },
      torch: { ok: true, device: "cuda", torch_version: "2.3.1", s_per_step: 0.2, examples_per_s: 40, error: null },
      backends: {
        webgpu: {
          gpu: true,
          device: "NVIDIA: 550.90.07",
          pass: true,
          adapter: NVIDIA_ADAPTER,
          backend_line: "backend: webgpu (--backend: Dawn WebGPU adapter)",
          gold: {
            ok: true,
            pass: true,
            logits_max_abs: 2e-4,
            ia3_grad_rel: 3e-4,
            tfew_grad_rel: 4e-4,
            error: null,
            seconds: 12.5,
          },
          train: {
            ok: true,
            s_per_step: 0.5,
            examples_per_s: 16,
            gpu_util_mean_pct: 71.5,
            gpu_memory_peak_mib: 3000,
            mfu: 0.031,
            device: "NVIDIA L4",
            error: null,
          },
        },
        tensorflow: {
          gpu: true,
          device: "NVIDIA L4",
          pass: true,
          adapter: null,
          gold: { ok: true, pass: true, ia3_grad_rel: 5e-4 },
          train: { ok: true, s_per_step: 0.25, mfu: 0.031, device: "NVIDIA L4" },
        },
      },
    });
    expect(backend(s, "webgpu").torch_ratio).toBeCloseTo(0.4, 12);
    expect(backend(s, "tensorflow").torch_ratio).toBeCloseTo(0.8, 12);
  });

  it("GPU host, TensorFlow's CPU build: trained and passing, reported on the CPU (no GPU label, MFU, ratio)", () => {
    const dir = folder({
      ...GPU_HOST,
      "stages.tsv": ALL_STAGES,
      "gold-tensorflow.json": JSON.stringify({ backend: "tensorflow", ...GOLD }),
      "gold-tensorflow.log": TF_CPU_LOG,
      "train-tensorflow/summary.json": trainSummary(2),
    });
    const { status, stdout, stderr, s } = summarize(dir);
    expect(status, stderr).toBe(0);
    expect(stdout).toMatch(/^on a GPU\s+yes\s+no$/m);
    expect(stdout).toContain("tensorflow: passed on cpu, not on a GPU");
    expect(s).toMatchObject({
      pass: true,
      gpu_pass: true,
      backends: {
        webgpu: { gpu: true, pass: true, train: { mfu: 0.031 } },
        // summary.json said "NVIDIA L4" (the monitor's GPU) and an MFU against its peak: neither is kept
        tensorflow: {
          gpu: false,
          device: "cpu",
          pass: true,
          torch_ratio: null,
          train: { ok: true, device: "cpu", mfu: null, s_per_step: 2, gpu_util_mean_pct: 71.5 },
        },
      },
    });
  });

  it("a backend that does not load fails the check; another one passing on the GPU still shows as gpu_pass", () => {
    const dir = folder({
      ...GPU_HOST,
      "stages.tsv":
        "gold-webgpu\t0\t21\t120\ngold-tensorflow\t1\t9\t120\nprepare\t0\t30\t90\n" +
        "train-webgpu\t0\t80\t200\ntorch\t0\t40\t120\n",
      "gold-tensorflow.log": 'tfew: error: backend: "tensorflow" asked by --backend but neither loads here\n',
    });
    const { status, stdout, s } = summarize(dir);
    expect(status).toBe(1);
    expect(stdout).toMatch(/^gold check\s+PASS\s+not run$/m);
    expect(stdout).toMatch(/^ratio \(>1: tfew faster\)\s+0\.40/m);
    expect(stdout).toContain("(FAIL: tensorflow did not pass gold + train; on a GPU: webgpu, 180 s)");
    expect(s).toMatchObject({
      pass: false,
      gpu_pass: true,
      elapsed_s: 180,
      backends: {
        webgpu: { gpu: true, pass: true },
        tensorflow: {
          gpu: null,
          device: null,
          pass: false,
          backend_line: null,
          train: null,
          torch_ratio: null,
          gold: {
            ok: false,
            pass: null,
            error: 'tfew: error: backend: "tensorflow" asked by --backend but neither loads here',
          },
        },
      },
    });
  });

  it("CPU-only host: webgpu on lavapipe and tensorflow on the CPU pass, gpus is empty, nothing is on a GPU", () => {
    const dir = folder({
      "stages.tsv":
        "gold-webgpu\t0\t3\t120\ngold-tensorflow\t0\t2\t120\ntrain-webgpu\t0\t8\t200\n" +
        "train-tensorflow\t0\t3\t200\n",
      "facts.tsv":
        "layout\tcheckout\nnode\tv20.20.2\nconfig\tconfigs/default.yaml\nsteps\t10\n" +
        "vulkan_loader\tsystem\n" +
        "vulkan_icd\t/usr/share/vulkan/icd.d/lvp_icd.json\ntorch_skipped\tno python3 with CUDA torch (TORCH=off)\n",
      "gold-webgpu.json": JSON.stringify({ backend: "webgpu", ...GOLD }),
      "gold-webgpu.log": "backend: webgpu (--backend: Dawn WebGPU adapter)\n",
      "webgpu-adapter.json": JSON.stringify(LAVAPIPE_ADAPTER),
      "train-webgpu/summary.json": JSON.stringify({
        steps: 10,
        device: "webgpu (CPU)",
        s_per_step: 0.54,
        examples_per_s: 14.8,
        mfu: null,
        gpu: null,
      }),
      "gold-tensorflow.json": JSON.stringify({ backend: "tensorflow", ...GOLD }),
      "gold-tensorflow.log": TF_CPU_LOG,
      "train-tensorflow/summary.json": JSON.stringify({
        steps: 10,
        device: "tensorflow (CPU)",
        s_per_step: 0.12,
        examples_per_s: 69,
        mfu: null,
        gpu: null,
      }),
    });
    const { status, stdout, stderr, s } = summarize(dir);
    expect(status, stderr).toBe(0);
    expect(stdout).toContain("(PASS: every backend passed gold + train; none on a GPU, 16 s)");
    const lavapipe = "llvmpipe: Mesa 25.0.7-2+deb13u1 (LLVM 19.1.7) 0.0.1";
    expect(s).toMatchObject({
      layout: "checkout",
      pass: true,
      gpu_pass: false,
      gpus: [],
      vulkan: { loader: "system", driver_manifest: "/usr/share/vulkan/icd.d/lvp_icd.json" },
      torch: { ok: false, error: "no python3 with CUDA torch (TORCH=off)" },
      backends: {
        webgpu: {
          gpu: false,
          device: lavapipe,
          pass: true,
          adapter: { is_fallback_adapter: true },
          train: { device: lavapipe, s_per_step: 0.54, mfu: null },
        },
        tensorflow: {
          gpu: false,
          device: "cpu",
          pass: true,
          train: { device: "cpu", s_per_step: 0.12, mfu: null, gpu_util_mean_pct: null },
        },
      },
    });
  });

  it("webgpu without the adapter probe: where it ran is unknown, so no GPU label and no MFU", () => {
    const stages = "gold-webgpu\t0\t21\t120\ntrain-webgpu\t0\t80\t200\n";
    const files: Record<string, string> = { ...GPU_HOST, "stages.tsv": stages };
    delete files["webgpu-adapter.json"];
    const { status, s } = summarize(folder(files));
    expect(status).toBe(0);
    expect(s).toMatchObject({
      pass: true,
      gpu_pass: false,
      backends: { webgpu: { gpu: null, device: null, torch_ratio: null, train: { mfu: null, device: null } } },
    });
  });

  it("says a stage was stopped at its limit", () => {
    const dir = folder({
      "stages.tsv": "gold-webgpu\t0\t21\t120\ntrain-webgpu\t124\t200\t200\n",
      "train-webgpu.log": "train step 3/10\n",
      "gold-webgpu.json": JSON.stringify({ backend: "webgpu", ...GOLD }),
    });
    const { status, s } = summarize(dir);
    expect(status).toBe(1);
    expect(s.pass).toBe(false);
    const train = (s.backends as { webgpu: { train: unknown } }).webgpu.train;
    expect(train).toEqual({ ok: false, error: "stopped at its 200 s limit" });
  });
});
