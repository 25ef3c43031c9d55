// Integration: GPU monitoring of a real (short) demo training run with a fake `nvidia-smi` first on PATH.
// The fake answers tfew's looping CSV query (`--query-gpu=... --format=csv,noheader,nounits -lms <ms>`) with one
// fixed line per interval until killed; utilization must reach the progress line, metrics.jsonl and
// summary.json, and no fake process may outlive the run.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoTrainArgs, ensureBuilt, makeTempDir, removeTempDir, runTfewOk } from "./helpers/tfew-cli.js";

const GPU_NAME = "NVIDIA H100 80GB HBM3";
const LINE = `0, ${GPU_NAME}, 87, 1234, 81559, 250.3`;
const QUERY = "--query-gpu=index,name,utilization.gpu,memory.used,memory.total,power.draw";

// POSIX sh: records its pid (= its process group: tfew starts it detached) and arguments, refuses any query
// but tfew's, prints LINE once without -lms and every <ms> with it.
const FAKE_NVIDIA_SMI = `#!/bin/sh
here=$(dirname "$0")
echo $$ >> "$here/pids"
printf '%s\\n' "$@" > "$here/args"
ms=""
case "$1" in ${QUERY}) ;; *) echo "fake nvidia-smi: unexpected query $1" >&2; exit 2 ;; esac
case "$2" in --format=csv,noheader,nounits) ;; *) echo "fake nvidia-smi: unexpected format $2" >&2; exit 2 ;; esac
if [ "$3" = "-lms" ]; then ms=$4; fi
if [ -z "$ms" ]; then echo "${LINE}"; exit 0; fi
sec=$(awk "BEGIN { print $ms / 1000 }")
while :; do
  echo "${LINE}" || exit 0
  sleep "$sec"
done
`;

interface MetricsRow {
  step: number;
  step_s: number;
  gpu_util_pct?: number;
  gpu_mem_mib?: number;
  mfu?: number;
}

let tmp: string;
let fakeBin: string;
const env = () => ({ PATH: `${fakeBin}:${process.env.PATH ?? ""}` });

beforeAll(async () => {
  await ensureBuilt();
  tmp = makeTempDir("gpu-monitor");
  fakeBin = join(tmp, "bin");
  mkdirSync(fakeBin);
  writeFileSync(join(fakeBin, "nvidia-smi"), FAKE_NVIDIA_SMI);
  chmodSync(join(fakeBin, "nvidia-smi"), 0o755);
});
afterAll(() => removeTempDir(tmp));

/** True while any process of group `pgid` exists (signal 0 checks without sending). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("GPU monitor in a demo training run (fake nvidia-smi on PATH)", () => {
  it("shows utilization in progress lines, metrics.jsonl and summary.json, then leaves no nvidia-smi behind", async () => {
    const runDir = join(tmp, "run");
    const steps = 20;
    const r = await runTfewOk(
      demoTrainArgs(runDir, [`train.steps=${steps}`, "workers=1", "monitor.gpu=auto", "monitor.interval_ms=100"]),
      { env: env() },
    );

    // tfew ran the looping query exactly once, with its interval.
    expect(readFileSync(join(fakeBin, "args"), "utf8").trim().split("\n")).toEqual([
      QUERY,
      "--format=csv,noheader,nounits",
      "-lms",
      "100",
    ]);
    const pids = readFileSync(join(fakeBin, "pids"), "utf8").trim().split("\n").map(Number);
    expect(pids).toHaveLength(1);

    // Progress: plain lines on stderr (not a TTY); the sampler's lines are read between steps.
    const progress = r.stderr.split("\n").filter((l) => /^train step \d+\/20 /.test(l));
    expect(progress).toHaveLength(steps);
    const withGpu = progress.filter((l) => / gpu=87% mem=1234MiB /.test(l));
    expect(withGpu.length, r.stderr).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatch(/ gpu=87% mem=1234MiB /);
    expect(r.stderr).not.toContain("GPU monitor off");

    // metrics.jsonl: one row per step; the rows with a reading carry it, and the MFU from the H100 peak.
    const rows = readFileSync(join(runDir, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as MetricsRow);
    expect(rows.map((row) => row.step)).toEqual(Array.from({ length: steps }, (_, i) => i + 1));
    const gpuRows = rows.filter((row) => row.gpu_util_pct !== undefined);
    expect(gpuRows.length).toBe(withGpu.length);
    for (const row of gpuRows) {
      expect(row).toMatchObject({ gpu_util_pct: 87, gpu_mem_mib: 1234 });
      expect(row.mfu).toBeGreaterThan(0);
    }
    // MFU counts each step's own padded lengths: FLOPs / peak = mfu · step_s differs between batches
    const flops = gpuRows.map((row) => (row.mfu as number) * row.step_s);
    if (flops.length > 3) expect(Math.max(...flops) / Math.min(...flops)).toBeGreaterThan(1.01);

    // summary.json: the run-level statistics over every reading.
    const summary = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")) as {
      device: string;
      mfu: number | null;
      gpu: {
        gpus: string[];
        utilization_mean_pct: number;
        utilization_p95_pct: number;
        memory_peak_mib: number;
        samples: number;
      } | null;
    };
    expect(summary.gpu).not.toBeNull();
    expect(summary.gpu).toMatchObject({
      gpus: [GPU_NAME],
      utilization_mean_pct: 87,
      utilization_p95_pct: 87,
      memory_peak_mib: 1234,
    });
    expect(summary.gpu?.samples).toBeGreaterThan(0);
    expect(summary.device).toBe(GPU_NAME);
    expect(summary.mfu).toBeGreaterThan(0);

    // No fake nvidia-smi (nor its sleep) remains: its process group is empty shortly after tfew exits.
    const pgid = pids[0] as number;
    const deadline = Date.now() + 3000;
    while (groupAlive(pgid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(groupAlive(pgid), `process group ${pgid} of the fake nvidia-smi is still alive`).toBe(false);
  });

  it("shows utilization on predict's progress lines too, and stops its sampler", async () => {
    writeFileSync(join(fakeBin, "pids"), "");
    const out = join(tmp, "preds.csv");
    // small eval batches: the loop yields between batches, which is when the sampler's lines are read
    const r = await runTfewOk(
      [
        "predict",
        "--model",
        "data/demo-model",
        "--data",
        "data/demo-task",
        "--output",
        out,
        "--set",
        "eval.batch_size=1",
        "--set",
        "workers=1",
        "--set",
        "monitor.interval_ms=100",
      ],
      { env: env() },
    );
    expect(
      r.stderr.split("\n").some((l) => /^predict step \d+\/100 .*gpu=87% mem=1234MiB/.test(l)),
      r.stderr,
    ).toBe(true);
    const pgid = Number(readFileSync(join(fakeBin, "pids"), "utf8").trim().split("\n")[0]);
    const deadline = Date.now() + 5000;
    while (groupAlive(pgid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(groupAlive(pgid)).toBe(false);
  });

  it("monitor.gpu=off never runs nvidia-smi and writes gpu: null", async () => {
    const runDir = join(tmp, "run-off");
    writeFileSync(join(fakeBin, "args"), "");
    const pidsFile = join(fakeBin, "pids");
    const before = existsSync(pidsFile) ? readFileSync(pidsFile, "utf8") : "";
    const r = await runTfewOk(demoTrainArgs(runDir, ["train.steps=3", "workers=1", "monitor.gpu=off"]), {
      env: env(),
    });
    expect(existsSync(pidsFile) ? readFileSync(pidsFile, "utf8") : "").toBe(before);
    expect(r.stderr).not.toMatch(/gpu=/);
    const summary = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")) as { gpu: unknown; mfu: unknown };
    expect(summary).toMatchObject({ gpu: null, mfu: null });
    expect(existsSync(join(runDir, "adapter", "adapter_model.safetensors"))).toBe(true);
  });
});
