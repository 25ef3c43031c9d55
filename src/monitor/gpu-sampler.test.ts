// Integration tests with fake `nvidia-smi` shell scripts (temp dir on PATH): sampling, summary, hang,
// garbage, missing binary, a blocked event loop, and that stop() leaves no process behind.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startGpuSampler } from "./gpu-sampler.js";
import type { GpuSampler } from "./gpu-sampler.js";

const root = mkdtempSync(join(tmpdir(), "tfew-fake-smi-"));
const originalPath = process.env.PATH ?? "";
const started: GpuSampler[] = [];

// Converts the -lms argument to the seconds `sleep` takes; records the pid and arguments next to the script.
const PRELUDE = `#!/bin/sh
here=$(dirname "$0")
echo $$ > "$here/pid"
echo "$@" > "$here/args"
ms=100; prev=""
for a in "$@"; do [ "$prev" = "-lms" ] && ms=$a; prev=$a; done
s=$(awk "BEGIN { print $ms / 1000 }")
`;

const FAKES: Record<string, string> = {
  // 20 ticks with utilization 1..20 % and memory 100..2000 MiB on GPU 0, then [N/A] forever; GPU 1 has no
  // utilization reading and 50 MiB in use throughout.
  good: `${PRELUDE}i=1
while :; do
  if [ $i -le 20 ]; then echo "0, NVIDIA H100 80GB HBM3, $i, $((i * 100)), 81559, 300.5"
  else echo "0, NVIDIA H100 80GB HBM3, [N/A], [N/A], 81559, [N/A]"; fi
  echo "1, NVIDIA H100 80GB HBM3, [N/A], 50, 81559, 70.1"
  i=$((i + 1))
  sleep "$s"
done
`,
  hang: `${PRELUDE}while :; do sleep 1; done
`,
  garbage: `${PRELUDE}while :; do echo "hello, this is not csv"; sleep "$s"; done
`,
  driverFailure: `${PRELUDE}echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
exit 9
`,
  silentExit: `${PRELUDE}exit 3
`,
};

/** Directory holding the fake as `nvidia-smi`. */
function fakeDir(kind: string): string {
  return join(root, kind);
}

beforeAll(() => {
  for (const [kind, script] of Object.entries(FAKES)) {
    execFileSync("mkdir", ["-p", fakeDir(kind)]);
    const file = join(fakeDir(kind), "nvidia-smi");
    writeFileSync(file, script);
    chmodSync(file, 0o755);
  }
  execFileSync("mkdir", ["-p", fakeDir("empty")]);
});

afterEach(async () => {
  process.env.PATH = originalPath;
  await Promise.all(started.splice(0).map((sampler) => sampler.stop()));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

async function start(kind: string, options: { intervalMs?: number; startupGraceMs?: number } = {}) {
  process.env.PATH = `${fakeDir(kind)}:${originalPath}`;
  const warnings: string[] = [];
  const sampler = await startGpuSampler({
    intervalMs: options.intervalMs ?? 50, // hang limit 250 ms: slack for sh/awk/sleep forks on a loaded host
    startupGraceMs: options.startupGraceMs ?? 2000,
    onWarning: (line) => warnings.push(line),
  });
  if (sampler !== null) started.push(sampler);
  return { sampler, warnings };
}

async function waitFor(
  condition: () => boolean,
  options: { warnings?: string[]; timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`condition not met in time; warnings: ${JSON.stringify(options.warnings ?? [])}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Live (non-zombie) processes in process group `pgid`; zombies are ignored because PID 1 may not reap them. */
function liveInGroup(pgid: number): string[] {
  const table = execFileSync("ps", ["-eo", "pid=,pgid=,stat=,args="], { encoding: "utf8" });
  return table
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => Number(f[1]) === pgid && !(f[2] ?? "").startsWith("Z"))
    .map((f) => f.join(" "));
}

function blockEventLoop(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* a synchronous training step */
  }
}

describe("startGpuSampler", () => {
  it("samples a fake nvidia-smi, summarizes it, and stop() leaves no process behind", async () => {
    const { sampler, warnings } = await start("good");
    expect(sampler).not.toBeNull();
    const s = sampler as GpuSampler;
    await waitFor(() => s.latest()[0]?.utilizationPct === 20, { warnings });
    const scriptPid = Number(readFileSync(join(fakeDir("good"), "pid"), "utf8")); // written before the first line
    expect(scriptPid).toBe(s.pid);
    expect(readFileSync(join(fakeDir("good"), "args"), "utf8").trim()).toBe(
      "--query-gpu=index,name,utilization.gpu,memory.used,memory.total,power.draw --format=csv,noheader,nounits -lms 50",
    );
    expect(s.latest().map((g) => [g.index, g.memoryUsedMiB])).toEqual([
      [0, 2000],
      [1, 50],
    ]);
    await waitFor(() => s.latest()[0]?.utilizationPct === null, { warnings }); // past the 20 canned ticks

    const summary = s.summary();
    // Utilization readings are exactly 1..20 (GPU 1 and later ticks report [N/A]): mean 10.5; nearest-rank
    // p95 = sorted[ceil(0.95 · 20) − 1] = 19. Memory peak: 20 · 100 MiB.
    expect(summary).toMatchObject({
      gpus: ["NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"],
      utilization_mean_pct: 10.5,
      utilization_p95_pct: 19,
      memory_peak_mib: 2000,
    });
    expect(summary?.samples).toBeGreaterThanOrEqual(42); // 2 GPUs × (20 canned + ≥ 1 [N/A]) ticks
    expect(s.summary({ sinceMs: Date.now() + 60_000 })).toBeNull();

    expect(liveInGroup(s.pid).length).toBeGreaterThan(0); // the script and its sleep
    await s.stop();
    expect(s.running()).toBe(false);
    expect(liveInGroup(s.pid)).toEqual([]);
    expect(() => process.kill(scriptPid, 0)).toThrow(); // ESRCH (reaped by node)
    expect(warnings).toEqual([]);
    await s.stop(); // idempotent
  });

  it("reads the lines queued while a synchronous step blocked the event loop, without a hang warning", async () => {
    const { sampler, warnings } = await start("good");
    const s = sampler as GpuSampler;
    await waitFor(() => (s.summary()?.samples ?? 0) >= 2, { warnings });
    const before = s.summary()?.samples ?? 0;
    blockEventLoop(750); // 15 intervals, 3× the hang limit
    await new Promise((resolve) => setImmediate(resolve)); // one turn of the loop
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(warnings).toEqual([]);
    expect(s.running()).toBe(true);
    // ~15 ticks × 2 GPUs were written during the block; allow for slow sh/sleep forks on a loaded host.
    expect((s.summary()?.samples ?? 0) - before).toBeGreaterThanOrEqual(8);
  });

  it("returns null and warns once when nvidia-smi is not on PATH", async () => {
    const { sampler, warnings } = await start("empty");
    expect(sampler).toBeNull();
    expect(warnings).toEqual(["GPU monitor off: nvidia-smi not found"]);
  });

  it("warns once and stops itself when nvidia-smi prints nothing", async () => {
    const { sampler, warnings } = await start("hang", { intervalMs: 20, startupGraceMs: 0 });
    const s = sampler as GpuSampler;
    await waitFor(() => !s.running());
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^GPU monitor off: no output from nvidia-smi for \d+ ms/);
    await s.stop();
    expect(liveInGroup(s.pid)).toEqual([]);
    expect(s.summary()).toBeNull();
    expect(s.latest()).toEqual([]);
  });

  it("warns once and stops itself on garbage output", async () => {
    const { sampler, warnings } = await start("garbage");
    const s = sampler as GpuSampler;
    await waitFor(() => !s.running());
    await new Promise((resolve) => setTimeout(resolve, 100)); // more garbage lines may arrive: still one warning
    expect(warnings).toEqual(['GPU monitor off: unexpected nvidia-smi output: "hello, this is not csv"']);
    await s.stop();
    expect(liveInGroup(s.pid)).toEqual([]);
  });

  it("reports nvidia-smi's own error line when it fails at once", async () => {
    const { sampler, warnings } = await start("driverFailure");
    const s = sampler as GpuSampler;
    await waitFor(() => !s.running());
    expect(warnings).toEqual([
      'GPU monitor off: unexpected nvidia-smi output: "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver."',
    ]);
  });

  it("warns when nvidia-smi exits without output", async () => {
    const { sampler, warnings } = await start("silentExit");
    const s = sampler as GpuSampler;
    await waitFor(() => !s.running());
    expect(warnings).toEqual(["GPU monitor off: nvidia-smi exited (code 3)"]);
  });

  it("rejects a nonsensical interval", async () => {
    await expect(startGpuSampler({ intervalMs: 0, onWarning: () => undefined })).rejects.toThrow(/interval/);
  });
});
