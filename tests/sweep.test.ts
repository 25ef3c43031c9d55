// tfew sweep across modules: the sweep folder (one sweep file per folder), cell states and locks, collect on
// fabricated run folders shaped as tfew train/eval write them, and a real local sweep of the embedded demo with
// a failing cell, a skip and a resume, and a local sweep of multi-task (data.tasks) and SMEAR cells, whose adapters
// are adapter/<task>/ and adapter/experts/ + router files (spawns dist/: built first when stale).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCell } from "../src/sweep/cell.js";
import { collectSweep, meanStd } from "../src/sweep/collect.js";
import { runSweep } from "../src/sweep/run.js";
import { loadSweepFile } from "../src/sweep/schema.js";
import { acquireLock, cellState } from "../src/sweep/state.js";
import { cellPaths, prepareSweepDir, type SweepPlan } from "../src/sweep/sweep-dir.js";
import { tfewErrorOf } from "./helpers/errors.js";
import { DEMO_TASK_DIR, ensureBuilt, parseCsv, runTfew, toCsv } from "./helpers/tfew-cli.js";

const work = mkdtempSync(join(tmpdir(), "tfew-sweep-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function sweepFile(name: string, lines: string[]): string {
  const file = join(work, name);
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

/** A local sweep of `file` into `dir`, `parallel` cells at a time, its progress lines into `lines`. */
function runLocal(file: string, dir: string, parallel: number, lines: string[]) {
  return runSweep({
    sweepFile: file,
    out: dir,
    cwd: work,
    parallel,
    dryRun: false,
    apply: false,
    progress: (l) => lines.push(l),
  });
}

async function prepare(file: string, dir: string): Promise<SweepPlan> {
  return (await prepareSweepDir(dir, loadSweepFile(file), { cwd: work })).plan;
}

const writeJson = (file: string, value: unknown) => {
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, JSON.stringify(value, null, 2));
};

/** A finished tfew train run folder: summary.json (the fields runTraining writes) and the adapter file. */
function fabricateRun(
  runDir: string,
  summary: { steps: number; final_loss: number; stopped_by?: string | null },
): void {
  writeJson(join(runDir, "summary.json"), {
    run_dir: runDir,
    adapter_dir: join(runDir, "adapter"),
    backend: "wasm",
    device: "wasm (CPU)",
    steps: summary.steps,
    first_loss: 30,
    final_loss: summary.final_loss,
    s_per_step: 0.1,
    s_per_step_median: 0.1,
    examples_per_s: 80,
    tokens_per_s: 1000,
    micro_batch_size: 8,
    workers: 1,
    nonfinite_skipped: 0,
    mfu: null,
    gpu: null,
    wall_s: 1,
    stopped_by: summary.stopped_by ?? null,
  });
  writeFileSync(join(runDir, "config.resolved.yaml"), "# fabricated\n");
  mkdirSync(join(runDir, "adapter"), { recursive: true });
  writeFileSync(join(runDir, "adapter", "adapter_model.safetensors"), "x");
}

/** tfew eval's metrics.json of one split. */
function fabricateEval(evalDir: string, accuracy: number, macroF1: number): void {
  writeJson(join(evalDir, "metrics.json"), {
    task: "t",
    split: "train",
    adapter: "a",
    n: 10,
    accuracy,
    macro_f1: macroF1,
    per_class: [],
    confusion: [],
  });
}

describe("the sweep folder", () => {
  it("records the cells and the sweep file's sha256; a rerun of the same file reuses it", async () => {
    const file = sweepFile("same.yaml", ["grid:", "  seed: [1, 2]"]);
    const dir = join(work, "same");
    const plan = await prepare(file, dir);
    const json = JSON.parse(readFileSync(join(dir, "sweep.json"), "utf8")) as SweepPlan;
    expect(json.cells.map((c) => [c.index, c.dir, c.overrides])).toEqual([
      [0, "cells/0-seed-1", { seed: 1 }],
      [1, "cells/1-seed-2", { seed: 2 }],
    ]);
    expect(json.sweep_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(join(dir, "cells/1-seed-2/config.yaml"), "utf8")).toContain("seed: 2");
    expect((await prepare(file, dir)).created_at).toBe(plan.created_at);
  });

  it("refuses, in one line, a folder made from another sweep file and a non-empty folder that is no sweep", async () => {
    const dir = join(work, "other");
    await prepare(sweepFile("a.yaml", ["grid:", "  seed: [1]"]), dir);
    const m = (await tfewErrorOf(prepare(sweepFile("b.yaml", ["grid:", "  seed: [2]"]), dir))).message;
    expect(m).toMatch(
      /holds a sweep made from another sweep file \(.*a\.yaml, sha256 [0-9a-f]{12}; .*b\.yaml is [0-9a-f]{12}\); choose a new --out$/,
    );
    mkdirSync(join(work, "busy"));
    writeFileSync(join(work, "busy", "notes.txt"), "mine");
    expect((await tfewErrorOf(prepare(join(work, "a.yaml"), join(work, "busy")))).message).toContain(
      "is not empty and holds no sweep.json",
    );
    expect(readFileSync(join(work, "busy", "notes.txt"), "utf8")).toBe("mine");
  });

  it("refuses a rerun after a base config changed the cells' configs", async () => {
    writeFileSync(join(work, "base.yaml"), "train: {steps: 5}\n");
    const file = sweepFile("based.yaml", ["base: [base.yaml]", "grid:", "  seed: [1]"]);
    await prepare(file, join(work, "based"));
    writeFileSync(join(work, "base.yaml"), "train: {steps: 6}\n");
    expect((await tfewErrorOf(prepare(file, join(work, "based")))).message).toContain(
      "the config of cell 0 (cells/0-seed-1) differs",
    );
  });
});

describe("cell states and locks", () => {
  it("tells complete, running, failed, pending (resumable) and a stale lock apart", async () => {
    const dir = join(work, "states");
    const plan = await prepare(sweepFile("states.yaml", ["grid:", "  seed: [1, 2, 3, 4, 5]"]), dir);
    const p = plan.cells.map((c) => cellPaths(dir, c));
    writeJson(p[0]!.complete, { index: 0 });
    writeJson(p[1]!.lock, { pid: process.pid, host: hostname(), started_at: "t", scheduler: null });
    writeJson(p[2]!.failed, {
      stage: "eval",
      exit_code: 1,
      signal: null,
      error: "tfew: error: boom",
      log: p[2]!.evalLog,
      at: "t",
    });
    fabricateRun(p[3]!.run, { steps: 1, final_loss: 1, stopped_by: "SIGTERM" });
    writeJson(p[4]!.lock, { pid: 2 ** 22 + 12345, host: hostname(), started_at: "t", scheduler: null }); // no such process
    const states = await Promise.all(plan.cells.map((c) => cellState(dir, c)));
    expect(states.map((s) => s.status)).toEqual(["complete", "running", "failed", "pending", "pending"]);
    expect(states[1]?.detail).toBe(`pid ${process.pid}`);
    expect(states[2]).toMatchObject({ detail: "eval: tfew: error: boom", log: p[2]!.evalLog });
    expect(states[3]?.detail).toContain("resumes from its checkpoint");
  });

  it("lets one process hold a cell; a stale lock is taken over", async () => {
    const dir = join(work, "locks");
    const plan = await prepare(sweepFile("locks.yaml", ["grid:", "  seed: [1]"]), dir);
    const paths = cellPaths(dir, plan.cells[0]!);
    const lock = await acquireLock(paths, { index: 0, scheduler: null });
    expect((await tfewErrorOf(acquireLock(paths, { index: 0, scheduler: null }))).message).toMatch(
      /^cell 0 is already running \(pid \d+ on /,
    );
    await lock.release();
    expect(existsSync(paths.lock)).toBe(false);
    // a dead sweep process whose tfew child still runs (here: this process) keeps the cell
    writeJson(paths.lock, {
      pid: 2 ** 22 + 12345,
      host: hostname(),
      started_at: "t",
      scheduler: null,
      child_pid: process.pid,
    });
    expect((await cellState(dir, plan.cells[0]!)).status).toBe("running");
    await tfewErrorOf(acquireLock(paths, { index: 0, scheduler: null }));
    writeJson(paths.lock, { pid: 2 ** 22 + 12345, host: hostname(), started_at: "t", scheduler: null });
    await (await acquireLock(paths, { index: 0, scheduler: null })).release();
  });

  it("skips a complete cell without starting tfew", async () => {
    const dir = join(work, "skip");
    const plan = await prepare(sweepFile("skip.yaml", ["grid:", "  seed: [1]"]), dir);
    const paths = cellPaths(dir, plan.cells[0]!);
    writeJson(paths.complete, { index: 0, final_loss: 1.5, accuracy: null, macro_f1: null });
    const outcome = await runCell(dir, 0, { log: () => undefined });
    expect(outcome).toMatchObject({ status: "complete", skipped: true });
    expect(existsSync(paths.trainLog)).toBe(false);
  });
});

describe("collect", () => {
  it("writes results.csv (a row per cell) and results.md (mean ± std over seeds per task, mean over tasks)", async () => {
    const dir = join(work, "collect");
    const file = sweepFile("collect.yaml", [
      "grid:",
      "  data.path: [raft:a, raft:b]",
      "  seed: [1, 2]",
      "eval: {split: train}",
    ]);
    const plan = await prepare(file, dir);
    const p = plan.cells.map((c) => cellPaths(dir, c));
    const scores: [number, number, number][] = [
      [2.0, 0.8, 0.7],
      [4.0, 0.6, 0.5],
      [1.0, 0.9, 0.9],
    ]; // loss, accuracy, macro-F1
    scores.forEach(([loss, acc, f1], i) => {
      fabricateRun(p[i]!.run, { steps: 10, final_loss: loss });
      fabricateEval(p[i]!.eval, acc, f1);
      writeJson(p[i]!.complete, { index: i });
    });
    writeJson(p[3]!.failed, {
      stage: "train",
      exit_code: 1,
      signal: null,
      error: "tfew: error: missing task",
      log: p[3]!.trainLog,
      at: "t",
    });
    const { csv, md } = await collectSweep(dir);
    expect(readFileSync(csv, "utf8")).toBe(
      [
        "index,data.path,seed,status,steps,final_loss,accuracy,macro_f1,error,run_dir",
        "0,raft:a,1,complete,10,2,0.8,0.7,,cells/0-path-raft-a_seed-1/run",
        "1,raft:a,2,complete,10,4,0.6,0.5,,cells/1-path-raft-a_seed-2/run",
        "2,raft:b,1,complete,10,1,0.9,0.9,,cells/2-path-raft-b_seed-1/run",
        "3,raft:b,2,failed,,,,,train: tfew: error: missing task,cells/3-path-raft-b_seed-2/run",
        "",
      ].join("\n"),
    );
    const text = readFileSync(md, "utf8");
    expect(text).toContain("4 cells: 3 complete, 1 failed, 0 running, 0 pending (eval: split train).");
    // raft:a: loss 3 ± √2, accuracy 0.7 ± 0.1414, F1 0.6 ± 0.1414; raft:b: one seed, std 0
    expect(text).toContain("| raft:a | 2 | 10 | 3.0000 ± 1.4142 | 0.700 ± 0.141 | 0.600 ± 0.141 |");
    expect(text).toContain("| raft:b | 1 | 10 | 1.0000 ± 0.0000 | 0.900 ± 0.000 | 0.900 ± 0.000 |");
    expect(text).toContain("| **mean over 2 tasks** |  |  | 2.0000 | 0.800 | 0.750 |");
    expect(text).toContain(
      `- cell 3 (data.path=raft:b, seed=2): train: tfew: error: missing task (log: ${p[3]!.trainLog})`,
    );
  });

  it("reads the mean over folds of a --folds eval (tfew eval's K-fold metrics.json)", async () => {
    const dir = join(work, "folds");
    const plan = await prepare(sweepFile("folds.yaml", ["grid:", "  seed: [1]", "eval: {folds: 3}"]), dir);
    const p = cellPaths(dir, plan.cells[0]!);
    fabricateRun(p.run, { steps: 4, final_loss: 0.5 });
    writeJson(join(p.eval, "metrics.json"), {
      task: "t",
      folds: 3,
      mean: { accuracy: 0.75, macro_f1: 0.6 },
      std: { accuracy: 0.1, macro_f1: 0.1 },
      per_fold: [],
    });
    writeJson(p.complete, { index: 0 });
    const { rows, md } = await collectSweep(dir);
    expect(rows[0]).toMatchObject({ status: "complete", steps: 4, final_loss: 0.5, accuracy: 0.75, macro_f1: 0.6 });
    expect(readFileSync(md, "utf8")).toContain("(eval: 3-fold cross-validation)");
  });

  it("meanStd is the sample standard deviation", () => {
    expect(meanStd([1, 2, 3, 4])).toEqual({ mean: 2.5, std: Math.sqrt(5 / 3) });
    expect(meanStd([])).toBeNull();
  });
});

describe("a local sweep of the embedded demo", () => {
  beforeAll(async () => ensureBuilt(), 300_000);

  it("runs the cells, records a failing one without stopping the others, skips complete cells and resumes a stopped one", async () => {
    const file = sweepFile("local.yaml", [
      'set: {train.steps: 2, workers: 1, monitor.gpu: "off", train.checkpoint_every: 1}',
      "grid:",
      `  data.path: [${JSON.stringify(DEMO_TASK_DIR)}, ${JSON.stringify(join(work, "no-such-task"))}]`,
      "  seed: [1, 2]",
      "eval: {split: train}",
    ]);
    const dir = join(work, "local");
    const lines: string[] = [];
    const first = await runLocal(file, dir, 2, lines);
    expect(first.engine === "local" && first.summary).toEqual({ complete: 2, failed: 2, skipped: 0, stopped: 0 });
    expect(lines).toHaveLength(4);
    expect(
      lines.filter((l) =>
        /cell [01] \(.*\): complete in [\d.]+ s: final loss [\d.]+, accuracy [\d.]+, macro-F1 [\d.]+$/.test(l),
      ),
    ).toHaveLength(2);
    expect(
      lines.filter((l) => /cell [23] .*: failed: train: tfew: error: .*no-such-task.*; log: .*train\.log$/.test(l)),
    ).toHaveLength(2);

    const { rows, csv } = await collectSweep(dir);
    expect(rows.map((r) => r.status)).toEqual(["complete", "complete", "failed", "failed"]);
    expect(rows[0]).toMatchObject({ steps: 2 });
    expect(rows[0]?.accuracy).toBeGreaterThanOrEqual(0);
    expect(readFileSync(csv, "utf8")).toContain("no-such-task");

    const status = await runTfew(["sweep", "status", dir]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(
      /\n2 +failed +data\.path=.*no-such-task, seed=1 +train: tfew: error: .* +\S+train\.log\n/,
    );
    expect(status.stdout).toContain("4 cells: 2 complete, 0 running, 2 failed, 0 pending");

    // cell 0 looks killed after its last checkpoint: the rerun resumes it with tfew train --resume
    const cell0 = cellPaths(dir, first.plan.cells[0]!);
    rmSync(cell0.complete);
    const summary = JSON.parse(readFileSync(join(cell0.run, "summary.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(cell0.run, "summary.json"), JSON.stringify({ ...summary, stopped_by: "SIGTERM" }));
    rmSync(cell0.eval, { recursive: true });
    const again: string[] = [];
    const second = await runLocal(file, dir, 1, again);
    expect(second.engine === "local" && second.summary).toEqual({ complete: 1, failed: 2, skipped: 1, stopped: 0 });
    expect(again).toContain("[2/4] cell 1 (data.path=" + DEMO_TASK_DIR + ", seed=2): complete (skipped)");
    expect(readFileSync(cell0.trainLog, "utf8")).toContain(`$ tfew train --resume ${cell0.run}`);
    expect(existsSync(cell0.complete)).toBe(true);
  }, 240_000);

  it("refuses through the CLI, in one line, a folder of another sweep file", async () => {
    await prepare(sweepFile("first-cli.yaml", ["grid:", "  seed: [1]"]), join(work, "cli"));
    const other = sweepFile("other-cli.yaml", ["grid:", "  seed: [9]"]);
    const r = await runTfew(["sweep", "run", other, "--out", join(work, "cli")]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^tfew: error: .* holds a sweep made from another sweep file/);
  });
});

describe("a local sweep of multi-task and SMEAR cells", () => {
  let tasks: string;
  beforeAll(async () => {
    await ensureBuilt();
    const { header, rows } = parseCsv(readFileSync(join(DEMO_TASK_DIR, "train.csv"), "utf8"));
    const entries = (["one", "two"] as const).map((name, part) => {
      const dir = join(work, "tasks", name);
      mkdirSync(dir, { recursive: true });
      cpSync(DEMO_TASK_DIR, dir, { recursive: true });
      writeFileSync(
        join(dir, "train.csv"),
        toCsv(
          header,
          rows.filter((_, i) => i % 2 === part),
        ),
      );
      return `{name: ${name}, path: ${JSON.stringify(dir)}}`;
    });
    tasks = `[${entries.join(", ")}]`;
  }, 300_000);

  it("marks cells complete whose adapter is one folder per task (routing: task) or SMEAR experts + routers; scores them by the mean over tasks", async () => {
    const file = sweepFile("tasks.yaml", [
      `set: {train.steps: 2, train.batch_size: 4, workers: 1, monitor.gpu: "off", data.tasks: ${tasks}}`,
      "grid:",
      "  adapter.routing: [task, smear]",
      "eval: {split: train}",
    ]);
    const dir = join(work, "tasks-sweep");
    const lines: string[] = [];
    const result = await runLocal(file, dir, 1, lines);
    const [task, smear] = result.plan.cells.map((c) => cellPaths(dir, c));
    expect(existsSync(join(task!.run, "adapter", "one", "adapter_model.safetensors"))).toBe(true);
    expect(existsSync(join(smear!.run, "adapter", "router_config.json"))).toBe(true);
    expect(result.engine === "local" && result.summary, lines.join("\n")).toEqual({
      complete: 2,
      failed: 0,
      skipped: 0,
      stopped: 0,
    });
    const { rows } = await collectSweep(dir);
    expect(rows.map((r) => [r.status, r.steps])).toEqual([
      ["complete", 2],
      ["complete", 2],
    ]);
    // a multi-task cell's score: the unweighted mean over its tasks' eval/<task>/metrics.json
    for (const [i, paths] of [task!, smear!].entries()) {
      const per = ["one", "two"].map(
        (name) => JSON.parse(readFileSync(join(paths.eval, name, "metrics.json"), "utf8")) as { accuracy: number },
      );
      expect(rows[i]!.accuracy).toBeCloseTo((per[0]!.accuracy + per[1]!.accuracy) / 2, 12);
    }
  }, 240_000);
});
