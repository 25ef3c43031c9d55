// A cell's state from its folder: complete.json (done), lock.json whose process lives (running), failed.json
// (the last failure), else pending. The lock is taken with an exclusive create, so one process runs a cell.
import { hostname } from "node:os";
import { existsSync } from "node:fs";
import { open, stat, unlink } from "node:fs/promises";
import { TfewError } from "../errors.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { isStartedRun, readJsonOrNull } from "../io/run-dir.js";
import type { SweepCell } from "./cells.js";
import { cellPaths, type CellPaths } from "./sweep-dir.js";

export type CellStatus = "pending" | "running" | "complete" | "failed";

export interface CellLock {
  pid: number;
  host: string;
  started_at: string;
  scheduler: string | null; // "slurm 123_4" or "kubernetes <pod>" when a scheduler started the cell
  child_pid?: number; // the running tfew train/eval: it outlives a killed sweep process
}

export interface CellFailure {
  stage: "train" | "eval";
  exit_code: number | null;
  signal: string | null;
  error: string; // the child's last error line
  log: string; // its log file
  at: string;
}

export interface CellComplete {
  index: number;
  finished_at: string;
  steps: number | null;
  first_loss: number | null;
  final_loss: number | null;
  accuracy: number | null; // eval accuracy (mean over folds with eval.folds); null without eval
  macro_f1: number | null;
}

export interface CellState {
  index: number;
  status: CellStatus;
  detail: string | null; // failed: the error line; running: where; pending: "resumable" after a kill
  log: string | null;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True when the cell could still be running: its process or tfew child lives here, or it is on another host (not checkable). */
export function lockAlive(lock: CellLock): boolean {
  if (lock.host !== hostname()) return true;
  return pidAlive(lock.pid) || (lock.child_pid !== undefined && pidAlive(lock.child_pid));
}

export interface HeldLock {
  release: () => Promise<void>;
  setChild: (pid: number | undefined) => Promise<void>; // records the running tfew child in the lock
}

export async function cellState(sweepDir: string, cell: SweepCell): Promise<CellState> {
  const paths = cellPaths(sweepDir, cell);
  const base = { index: cell.index };
  if (existsSync(paths.complete)) return { ...base, status: "complete", detail: null, log: null };
  const lock = await readJsonOrNull<CellLock>(paths.lock);
  if (lock !== null && lockAlive(lock)) {
    const where = lock.host === hostname() ? `pid ${lock.pid}` : `pid ${lock.pid} on ${lock.host}`;
    return {
      ...base,
      status: "running",
      detail: lock.scheduler === null ? where : `${where}, ${lock.scheduler}`,
      log: await newestLog(paths),
    };
  }
  const failure = await readJsonOrNull<CellFailure>(paths.failed);
  if (failure !== null)
    return { ...base, status: "failed", detail: `${failure.stage}: ${failure.error}`, log: failure.log };
  const started = isStartedRun(paths.run);
  return {
    ...base,
    status: "pending",
    detail: started ? "stopped before the end; resumes from its checkpoint" : null,
    log: started ? paths.trainLog : null,
  };
}

async function newestLog(paths: CellPaths): Promise<string | null> {
  const times = await Promise.all(
    [paths.evalLog, paths.trainLog].map((f) =>
      stat(f).then(
        (s) => s.mtimeMs,
        () => -1,
      ),
    ),
  );
  if ((times[0] ?? -1) >= 0 && (times[0] ?? -1) >= (times[1] ?? -1)) return paths.evalLog;
  return (times[1] ?? -1) >= 0 ? paths.trainLog : null;
}

/**
 * Takes the cell's lock (exclusive create). A lock of a dead process on this host is stale and replaced; a
 * lock from another host is replaced only when a scheduler started this process (it runs each index once).
 */
export async function acquireLock(
  paths: CellPaths,
  options: { index: number; scheduler: string | null },
): Promise<HeldLock> {
  const mine: CellLock = {
    pid: process.pid,
    host: hostname(),
    started_at: new Date().toISOString(),
    scheduler: options.scheduler,
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(paths.lock, "wx");
      await handle.writeFile(`${JSON.stringify(mine)}\n`);
      await handle.close();
      const ours = async () => {
        const held = await readJsonOrNull<CellLock>(paths.lock);
        return held?.pid === mine.pid && held.host === mine.host;
      };
      return {
        release: async () => {
          if (await ours()) await unlink(paths.lock).catch(() => undefined);
        },
        setChild: async (pid) => {
          if (await ours())
            await writeJsonAtomic(paths.lock, { ...mine, ...(pid === undefined ? {} : { child_pid: pid }) });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new TfewError(
          `cannot create ${paths.lock} (${(error as NodeJS.ErrnoException).code ?? String(error)}); check the sweep folder is writable`,
        );
      }
    }
    const held = await readJsonOrNull<CellLock>(paths.lock);
    const foreign = held !== null && held.host !== mine.host;
    if (held !== null && lockAlive(held) && !(foreign && options.scheduler !== null)) {
      throw new TfewError(
        `cell ${options.index} is already running (pid ${held.pid} on ${held.host} since ${held.started_at}); wait for it, or delete ${paths.lock} if that process is gone`,
      );
    }
    await unlink(paths.lock).catch(() => undefined); // stale (or half-written by a killed process)
  }
  throw new TfewError(
    `cell ${options.index}: another process keeps taking ${paths.lock}; run each cell once at a time`,
  );
}
