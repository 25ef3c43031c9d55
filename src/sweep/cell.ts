// One cell of a sweep: `tfew train` (or `tfew train --resume` after a kill) then the optional `tfew eval`,
// each as a child process of the tfew CLI; complete.json only when every output is written, failed.json else.
import { existsSync } from "node:fs";
import { rm, unlink } from "node:fs/promises";
import { writeJsonAtomic } from "../io/atomic.js";
import { isStartedRun, readJsonOrNull } from "../io/run-dir.js";
import { describeOverrides } from "./cells.js";
import { evalScores, finishedSummary } from "./results.js";
import { startTfew, type RunningChild } from "./spawn.js";
import { acquireLock, type CellComplete, type CellFailure, type HeldLock } from "./state.js";
import { cellAt, cellPaths, readPlan, type CellPaths, type SweepPlan } from "./sweep-dir.js";

export interface CellRunOptions {
  log: (line: string) => void;
  env?: NodeJS.ProcessEnv; // extra environment of the children, e.g. CUDA_VISIBLE_DEVICES
  scheduler?: string | null; // "slurm <job>" / "kubernetes <pod>" when a scheduler started this cell
  onChild?: (child: RunningChild) => void; // the running tfew child, to pass stop signals on
  stopRequested?: () => boolean; // polled between stages
}

export interface CellOutcome {
  index: number;
  status: "complete" | "failed" | "stopped";
  skipped: boolean; // complete before this call
  error: string | null;
  log: string | null;
  wall_s: number;
  result: CellComplete | null; // complete.json of a complete cell
}

/** Runs cell `index` of the sweep in `sweepDir` (skips it when complete). Never throws for a failing child. */
export async function runCell(sweepDir: string, index: number, options: CellRunOptions): Promise<CellOutcome> {
  const t0 = performance.now();
  const plan = await readPlan(sweepDir);
  const cell = cellAt(plan, index);
  const paths = cellPaths(sweepDir, cell);
  const outcome = (status: CellOutcome["status"], extra: Partial<CellOutcome> = {}): CellOutcome => ({
    index,
    status,
    skipped: false,
    error: null,
    log: null,
    wall_s: (performance.now() - t0) / 1000,
    result: null,
    ...extra,
  });
  if (existsSync(paths.complete))
    return outcome("complete", { skipped: true, result: await readJsonOrNull<CellComplete>(paths.complete) });
  const lock = await acquireLock(paths, { index, scheduler: options.scheduler ?? null });
  const stageOptions = { ...options, lock };
  try {
    await unlink(paths.failed).catch(() => undefined);
    options.log(`cell ${index} (${describeOverrides(cell.overrides)}): start in ${paths.dir}`);
    for (const stage of [trainStage, evalStage]) {
      if (options.stopRequested?.()) return outcome("stopped");
      const failure = await stage(paths, plan, stageOptions);
      if (failure === "stopped") return outcome("stopped");
      if (failure !== null) {
        await writeJsonAtomic(paths.failed, failure);
        return outcome("failed", { error: `${failure.stage}: ${failure.error}`, log: failure.log });
      }
    }
    return outcome("complete", { result: await markComplete(paths, index) });
  } finally {
    await lock.release();
  }
}

type StageResult = CellFailure | "stopped" | null;
type StageOptions = CellRunOptions & { lock: HeldLock };

/** Runs one tfew child to its end; a non-zero exit is a failure, or "stopped" when a stop was requested. */
async function runStage(
  stage: CellFailure["stage"],
  args: string[],
  logFile: string,
  plan: SweepPlan,
  options: StageOptions,
): Promise<StageResult> {
  const cwd = existsSync(plan.cwd) ? plan.cwd : process.cwd();
  const child = startTfew(args, { cwd, logFile, env: options.env });
  options.onChild?.(child);
  await options.lock.setChild(child.pid);
  const r = await child.done;
  await options.lock.setChild(undefined);
  if (r.code === 0) return null;
  if (options.stopRequested?.()) return "stopped";
  return { stage, exit_code: r.code, signal: r.signal, error: r.lastError, log: logFile, at: new Date().toISOString() };
}

/** tfew train: a fresh run, or --resume when the run folder holds a started run; nothing when it finished. */
async function trainStage(paths: CellPaths, plan: SweepPlan, options: StageOptions): Promise<StageResult> {
  if ((await finishedSummary(paths)) !== null) return null;
  const started = isStartedRun(paths.run);
  if (!started) await rm(paths.run, { recursive: true, force: true }); // a run killed before it wrote anything
  const args = started ? ["train", "--resume", paths.run] : ["train", "--config", paths.config, "--out", paths.run];
  const result = await runStage("train", args, paths.trainLog, plan, options);
  if (result !== null) return result;
  if ((await finishedSummary(paths)) !== null) return null;
  if (options.stopRequested?.()) return "stopped";
  const error = "tfew train exited 0 but run/summary.json shows no finished run (stopped, or no adapter written)";
  return { stage: "train", exit_code: 0, signal: null, error, log: paths.trainLog, at: new Date().toISOString() };
}

/** tfew eval of the cell's run (one split, or --folds K), when the sweep file asks for it. */
async function evalStage(paths: CellPaths, plan: SweepPlan, options: StageOptions): Promise<StageResult> {
  if (plan.eval === null || (await evalScores(paths)) !== null) return null;
  await rm(paths.eval, { recursive: true, force: true }); // what a killed eval left
  const how = plan.eval.folds !== null ? ["--folds", String(plan.eval.folds)] : ["--split", plan.eval.split];
  const result = await runStage(
    "eval",
    ["eval", "--run", paths.run, "--out", paths.eval, ...how],
    paths.evalLog,
    plan,
    options,
  );
  if (result !== null || (await evalScores(paths)) !== null) return result;
  return {
    stage: "eval",
    exit_code: 0,
    signal: null,
    error: "tfew eval exited 0 but wrote no eval/metrics.json (nor eval/<task>/metrics.json for every task)",
    log: paths.evalLog,
    at: new Date().toISOString(),
  };
}

async function markComplete(paths: CellPaths, index: number): Promise<CellComplete> {
  const summary = await finishedSummary(paths);
  const scores = await evalScores(paths);
  const done: CellComplete = {
    index,
    finished_at: new Date().toISOString(),
    steps: summary?.steps ?? null,
    first_loss: summary?.first_loss ?? null,
    final_loss: summary?.final_loss ?? null,
    accuracy: scores?.accuracy ?? null,
    macro_f1: scores?.macro_f1 ?? null,
  };
  await writeJsonAtomic(paths.complete, done);
  return done;
}
