// scripts/gpu-check-summary.js on a canned gpu-check folder (what gpu-check.sh leaves on a GPU host): the one JSON
// summary's shape, the gold and train numbers per backend, the PyTorch ratio, and why a stage gave nothing.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/shared.js";

const dir = mkdtempSync(join(tmpdir(), "tfew-gpu-check-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): void {
  mkdirSync(join(dir, name, ".."), { recursive: true });
  writeFileSync(join(dir, name), text);
}

describe("gpu-check-summary.js", () => {
  it("writes gpu-check.json: per-backend gold and train results, the PyTorch ratio, stages and pass", () => {
    write("stages.tsv", "gold-webgpu\t0\t21\t120\ngold-tensorflow\t1\t9\t120\nprepare\t0\t30\t90\ntrain-webgpu\t0\t80\t200\ntorch\t0\t40\t120\n");
    write("facts.tsv", "layout\tkit\nnode\tv20.20.2\nconfig\tconfigs/bench-t5-small.yaml\nsteps\t10\nvulkan_loader\tkit\nvulkan_icd\t/usr/share/vulkan/icd.d/nvidia_icd.json\n");
    write("nvidia-smi.csv", "0, NVIDIA L4, 550.90.07, 23034, 0\n");
    write("gold-webgpu.json", JSON.stringify({ backend: "webgpu", logits_max_abs: 2e-4, loss_rel: 1e-6, ia3_grad_rel: 3e-4, tfew_loss_rel: 1e-6, tfew_grad_rel: 4e-4, tolerance: { logits_max_abs: 1e-3, grad_rel: 1e-3 }, pass: true, seconds: 12.5 }));
    write("gold-tensorflow.log", "backend: tensorflow (--backend: @tensorflow/tfjs-node-gpu)\ntfew: error: backend: \"tensorflow\" asked by --backend but neither loads here\n");
    write("train-webgpu/summary.json", JSON.stringify({ steps: 10, device: "NVIDIA L4", s_per_step: 0.5, s_per_step_median: 0.48, examples_per_s: 16, micro_batch_size: 8, mfu: 0.031, gpu: { utilization_mean_pct: 71.5, memory_peak_mib: 3000 } }));
    write("torch.json", JSON.stringify({ torch_version: "2.3.1", device: "cuda", share_cross_kv: true, train: { s_per_step: 0.2, examples_per_s: 40 } }));
    const r = spawnSync(process.execPath, [join(REPO_ROOT, "scripts", "gpu-check-summary.js"), dir], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^gold check\s+PASS\s+not run$/m);
    expect(r.stdout).toMatch(/^ratio \(>1: tfew faster\)\s+0\.40/m);
    const s = JSON.parse(readFileSync(join(dir, "gpu-check.json"), "utf8")) as Record<string, unknown>;
    expect(s).toMatchObject({
      format: "tfew-gpu-check/1", layout: "kit", node: "v20.20.2", steps: 10, pass: true, elapsed_s: 180,
      gpus: [{ index: 0, name: "NVIDIA L4", driver: "550.90.07", memory_total_mib: 23034, memory_used_mib: 0 }],
      vulkan: { loader: "kit", driver_manifest: "/usr/share/vulkan/icd.d/nvidia_icd.json", manifest_written: false },
      torch: { ok: true, device: "cuda", torch_version: "2.3.1", s_per_step: 0.2, examples_per_s: 40, error: null },
      backends: {
        webgpu: {
          gold: { ok: true, pass: true, logits_max_abs: 2e-4, ia3_grad_rel: 3e-4, tfew_grad_rel: 4e-4, error: null, seconds: 12.5 },
          train: { ok: true, s_per_step: 0.5, examples_per_s: 16, gpu_util_mean_pct: 71.5, gpu_memory_peak_mib: 3000, mfu: 0.031, device: "NVIDIA L4", error: null },
        },
        tensorflow: { gold: { ok: false, pass: null, error: 'tfew: error: backend: "tensorflow" asked by --backend but neither loads here' }, train: null, torch_ratio: null },
      },
    });
    expect((s.backends as { webgpu: { torch_ratio: number } }).webgpu.torch_ratio).toBeCloseTo(0.4, 12);
  });

  it("says a stage was stopped at its limit", () => {
    write("stages.tsv", "gold-webgpu\t0\t21\t120\ntrain-webgpu\t124\t200\t200\n");
    write("train-webgpu.log", "train step 3/10\n");
    rmSync(join(dir, "train-webgpu"), { recursive: true, force: true });
    const r = spawnSync(process.execPath, [join(REPO_ROOT, "scripts", "gpu-check-summary.js"), dir], { encoding: "utf8" });
    expect(r.status).toBe(1);
    const s = JSON.parse(readFileSync(join(dir, "gpu-check.json"), "utf8")) as { pass: boolean; backends: { webgpu: { train: unknown } } };
    expect(s.pass).toBe(false);
    expect(s.backends.webgpu.train).toEqual({ ok: false, error: "stopped at its 200 s limit" });
  });
});
