// Reliability of `tfew train` through the built CLI on the tiny demo model: same seed → same adapter bytes;
// a run killed with SIGKILL at random points and resumed (`--resume DIR`) ends with the adapter bytes of an
// uninterrupted run (wasm and cpu); SIGINT/SIGTERM checkpoint then exit 130/143; NaN/Inf stop or skip steps.
// Spawns dist/ (run `npm run build` first; `npm test` does). Set TFEW_KILL_SEED to replay kill points.
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSafetensors } from "../src/io/safetensors.js";
import { mulberry32 } from "../src/engine/rng.js";
import {
  listFiles,
  QUICK,
  requireBuild,
  runCli,
  scratch,
  startCli,
  TEMP_FILE,
  type CliResult,
} from "./helpers/spawn-tfew.js";

const STEPS = 8; // wasm runs: ~0.2-0.5 s a step here
const CPU_STEPS = 3; // the cpu backend is ~5x slower
const ADAPTER = join("adapter", "adapter_model.safetensors");

function trainArgs(out: string, backend: "wasm" | "cpu", steps: number, extra: string[] = []): string[] {
  return [
    "train",
    "--backend",
    backend,
    "--out",
    out,
    ...QUICK,
    "--set",
    `train.steps=${steps}`,
    "--set",
    "train.checkpoint_every=1",
    ...extra,
  ];
}

async function adapterBytes(runDir: string): Promise<Buffer> {
  return readFile(join(runDir, ADAPTER));
}

function expectOk(r: CliResult): void {
  expect(r.code, `tfew failed:\n${r.stderr}`).toBe(0);
}

/** Starts a run, waits for its progress line of `step` (if it gets there), waits `delayMs`, then SIGKILLs it. */
async function killAt(args: string[], cwd: string, step: number, total: number, delayMs: number): Promise<CliResult> {
  const run = startCli(args, { cwd });
  const reached = await run.waitFor(`train step ${step}/${total}`).then(
    () => true,
    () => false, // it ended first (e.g. a resume that started past `step`)
  );
  if (reached) {
    await sleep(delayMs);
    run.child.kill("SIGKILL");
  }
  return run.done;
}

/** What a finished run folder must hold after any number of kills and resumes. */
async function expectCompleteRun(runDir: string, steps: number): Promise<void> {
  const files = await listFiles(runDir);
  expect(files.filter((f) => TEMP_FILE.test(f))).toEqual([]);
  const { metadata } = await readSafetensors(join(runDir, "checkpoint.safetensors"));
  expect(metadata.step).toBe(String(steps));
  const rows = (await readFile(join(runDir, "metrics.jsonl"), "utf8"))
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { step: number }).step);
  expect(rows).toEqual(Array.from({ length: steps }, (_, i) => i + 1)); // each step logged once, in order
}

let work: string;
let wasmReference: Buffer;
let cpuReferenceRun: Promise<Buffer> | undefined;

/** Adapter bytes of an uninterrupted cpu run (made once, by whichever cpu test needs it first). */
function cpuReference(): Promise<Buffer> {
  cpuReferenceRun ??= (async () => {
    const dir = join(work, "cpu-reference");
    expectOk(await runCli(trainArgs(dir, "cpu", CPU_STEPS), { cwd: work }));
    return adapterBytes(dir);
  })();
  return cpuReferenceRun;
}

beforeAll(async () => {
  requireBuild();
  work = await scratch("resume");
  const r = await runCli(trainArgs(join(work, "reference"), "wasm", STEPS), { cwd: work });
  expectOk(r);
  wasmReference = await adapterBytes(join(work, "reference"));
});

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe("determinism", () => {
  it("two runs with the same seed and backend write identical adapter bytes; another seed does not", async () => {
    expectOk(await runCli(trainArgs(join(work, "again"), "wasm", STEPS), { cwd: work }));
    expect((await adapterBytes(join(work, "again"))).equals(wasmReference)).toBe(true);
    expectOk(await runCli(trainArgs(join(work, "seed7"), "wasm", STEPS, ["--set", "seed=7"]), { cwd: work }));
    expect((await adapterBytes(join(work, "seed7"))).equals(wasmReference)).toBe(false);
  });
});

describe("kill -9 and --resume", () => {
  const seed = Number(process.env.TFEW_KILL_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const rand = mulberry32(seed);
  const pick = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1)); // integer in [lo, hi]

  it("wasm: runs killed at random points (twice in a row in one case) resume to the uninterrupted adapter bytes", async () => {
    for (let iteration = 0; iteration < 3; iteration++) {
      const runDir = join(work, `killed-${iteration}`);
      const kills: string[] = [];
      // after the progress line of `step` (printed before that step's checkpoint is written) plus up to
      // 120 ms: lands before, during or after a checkpoint write, with >= 3 steps left to kill
      const step = pick(1, STEPS - 3);
      const delay = pick(0, 120);
      const first = await killAt(trainArgs(runDir, "wasm", STEPS), work, step, STEPS, delay);
      kills.push(`step ${step} + ${delay} ms → ${first.signal ?? `exit ${first.code}`}`);
      expect(first.signal, `TFEW_KILL_SEED=${seed}: ${kills.join("; ")}`).toBe("SIGKILL");
      if (iteration === 2) {
        // kill the resumed run too, somewhere after the first kill point
        const again = pick(Math.min(step + 1, STEPS - 1), STEPS - 1);
        const second = await killAt(["train", "--resume", runDir], work, again, STEPS, pick(0, 120));
        kills.push(`resume killed at step ${again} → ${second.signal ?? `exit ${second.code}`}`);
      }
      const resumed = await runCli(["train", "--resume", runDir], { cwd: work });
      const context = `TFEW_KILL_SEED=${seed}, iteration ${iteration}: ${kills.join("; ")}\n${resumed.stderr}`;
      expect(resumed.code, context).toBe(0);
      expect((await adapterBytes(runDir)).equals(wasmReference), context).toBe(true);
      await expectCompleteRun(runDir, STEPS);
    }
  });

  it("wasm: a run killed before its first checkpoint resumes from step 0 to the same bytes", async () => {
    const runDir = join(work, "killed-early");
    const killed = await killAt(
      trainArgs(runDir, "wasm", STEPS, ["--set", "train.checkpoint_every=100"]),
      work,
      3,
      STEPS,
      0,
    );
    expect(killed.signal).toBe("SIGKILL");
    expect(await listFiles(runDir)).not.toContain("checkpoint.safetensors");
    const resumed = await runCli(["train", "--resume", runDir], { cwd: work });
    expectOk(resumed);
    expect(resumed.stderr).toContain(
      `resume: ${runDir} has no checkpoint (the run stopped before step ${STEPS}, its first one); starting from step 0`,
    );
    expect((await adapterBytes(runDir)).equals(wasmReference)).toBe(true);
  });

  it("cpu: a SIGKILLed run resumes to the adapter bytes of an uninterrupted cpu run", async () => {
    const reference = await cpuReference();
    const runDir = join(work, "cpu-killed");
    const delay = pick(0, 500);
    const killed = await killAt(trainArgs(runDir, "cpu", CPU_STEPS), work, 1, CPU_STEPS, delay);
    expect(killed.signal, `the run ended before the kill (delay ${delay} ms)`).toBe("SIGKILL");
    const resumed = await runCli(["train", "--resume", runDir], { cwd: work });
    expectOk(resumed);
    expect((await adapterBytes(runDir)).equals(reference), `TFEW_KILL_SEED=${seed}`).toBe(true);
    await expectCompleteRun(runDir, CPU_STEPS);
  });
});

describe("stop signals", () => {
  async function stopWith(
    signal: "SIGINT" | "SIGTERM",
    runDir: string,
    args: string[],
    afterStep: number,
    total: number,
  ) {
    const run = startCli(args, { cwd: work });
    await run.waitFor(`train step ${afterStep}/${total}`);
    run.child.kill(signal);
    const r = await run.done;
    const { metadata } = await readSafetensors(join(runDir, "checkpoint.safetensors"));
    const stoppedAt = Number(metadata.step);
    expect(stoppedAt).toBeGreaterThanOrEqual(afterStep);
    expect(r.stderr).toContain(`stopped by ${signal} after step ${stoppedAt}; resume with: tfew train --resume`);
    expect((await listFiles(runDir)).filter((f) => f.startsWith("adapter") || TEMP_FILE.test(f))).toEqual([]);
    return { r, stoppedAt };
  }

  it("SIGINT writes a checkpoint at the current step, exits 130, and the run resumes to the same bytes", async () => {
    const runDir = join(work, "sigint");
    // checkpoint_every above the step count: the only checkpoint is the one the signal writes
    const { r, stoppedAt } = await stopWith(
      "SIGINT",
      runDir,
      trainArgs(runDir, "wasm", STEPS, ["--set", "train.checkpoint_every=100"]),
      3,
      STEPS,
    );
    expect(r.code).toBe(130);
    expect(stoppedAt).toBeLessThan(STEPS);
    const summary = JSON.parse(await readFile(join(runDir, "summary.json"), "utf8")) as { stopped_by: string };
    expect(summary.stopped_by).toBe("SIGINT");
    expectOk(await runCli(["train", "--resume", runDir], { cwd: work }));
    expect((await adapterBytes(runDir)).equals(wasmReference)).toBe(true);
  });

  it("SIGTERM writes a checkpoint and exits 143 (cpu backend); the resumed run matches an uninterrupted one", async () => {
    const runDir = join(work, "sigterm");
    const { r } = await stopWith("SIGTERM", runDir, trainArgs(runDir, "cpu", CPU_STEPS), 1, CPU_STEPS);
    expect(r.code).toBe(143);
    expectOk(await runCli(["train", "--resume", runDir], { cwd: work }));
    expect((await adapterBytes(runDir)).equals(await cpuReference())).toBe(true);
  });
});

describe("non-finite values", () => {
  // lr=1e30: step 1 is fine; the next update drives the (IA)³ vectors to ±Inf (Adafactor's step is lr·RMS(p)).
  const blowUp = ["--set", "train.lr=1e30"];

  async function vectorsFinite(file: string): Promise<boolean> {
    const { tensors } = await readSafetensors(file);
    return [...tensors.values()].every((t) => Array.from(t.data).every((v) => Number.isFinite(v)));
  }

  it("stops with one error line naming the step and keeps the last good checkpoint", async () => {
    const runDir = join(work, "nan-stop");
    const r = await runCli(trainArgs(runDir, "wasm", 6, blowUp), { cwd: work });
    expect(r.code).toBe(1);
    const last = r.stderr.trim().split("\n").at(-1) ?? "";
    const m =
      /^tfew: error: training: non-finite values at step (\d+) .*last good checkpoint \(step (\d+)\) is kept in /.exec(
        last,
      );
    expect(m, r.stderr).not.toBeNull();
    const [failed, kept] = [Number(m?.[1]), Number(m?.[2])];
    expect(kept).toBe(failed - 1);
    expect(kept).toBeGreaterThanOrEqual(1);
    const checkpoint = join(runDir, "checkpoint.safetensors");
    expect((await readSafetensors(checkpoint)).metadata.step).toBe(String(kept));
    expect(await vectorsFinite(checkpoint)).toBe(true);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect((await listFiles(runDir)).filter((f) => f.startsWith("adapter") || TEMP_FILE.test(f))).toEqual([]);
  });

  it("stops at step 1 without writing a checkpoint when the first update is already non-finite", async () => {
    const runDir = join(work, "inf-first");
    const r = await runCli(trainArgs(runDir, "wasm", 4, ["--set", "train.lr=1e39"]), { cwd: work }); // lr overflows float32
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^tfew: error: training: non-finite values at step 1 .*no checkpoint had been written yet/m,
    );
    expect(await listFiles(runDir)).not.toContain("checkpoint.safetensors");
  });

  it("train.skip_nonfinite: true skips such steps, counts them, and finishes with finite vectors", async () => {
    const runDir = join(work, "nan-skip");
    const r = await runCli(trainArgs(runDir, "wasm", 6, [...blowUp, "--set", "train.skip_nonfinite=true"]), {
      cwd: work,
    });
    expectOk(r);
    const warnings = r.stderr.split("\n").filter((l) => /^warning: step \d+ skipped: /.test(l));
    expect(warnings.length).toBeGreaterThan(0);
    const summary = JSON.parse(await readFile(join(runDir, "summary.json"), "utf8")) as {
      nonfinite_skipped: number;
      steps: number;
    };
    expect(summary).toMatchObject({ nonfinite_skipped: warnings.length, steps: 6 });
    const checkpoint = join(runDir, "checkpoint.safetensors");
    expect((await readSafetensors(checkpoint)).metadata.nonfinite_skipped).toBe(String(warnings.length));
    expect(await vectorsFinite(join(runDir, ADAPTER))).toBe(true);
    expect(await vectorsFinite(checkpoint)).toBe(true);
  });
});
