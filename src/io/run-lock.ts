// The lock of a run folder: `.tfew.lock`, created with O_EXCL (open "wx") by the one process that trains in the
// folder (`tfew train --out` or `--resume`), holding its pid, host name, start time and command. Removed when
// that process ends (src/cli/train.ts: on return, on an error, and in an exit hook for a second Ctrl-C). A lock
// whose process is gone from this host is stale (kill -9, a crash): it is taken over with one note.
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { TfewError } from "../errors.js";

export const LOCK_FILE = ".tfew.lock";

/** What the lock file holds (JSON). */
export interface LockHolder {
  pid: number;
  host: string;
  started_at: string; // ISO time the lock was taken
  command: string; // "train" or "resume"
  proc_start: string | null; // Linux: the process's start time in /proc/<pid>/stat (tells a reused pid apart)
}

export interface RunLock {
  path: string;
  /** Removes the lock file if it is still this process's (synchronous: safe in an exit hook). */
  release: () => void;
}

/** Lock files this process holds (in-process tests and commands share one pid). */
const heldHere = new Set<string>();

/** An empty or unreadable lock younger than this is being written; older, its writer died between open and write. */
const WRITING_MS = 5_000;

/**
 * Takes the lock of run folder `dir` (which must exist): one clear line when another live process holds it;
 * a stale lock is taken over with a note through `log`. `advice` ends the in-use line (what to do instead).
 */
export async function lockRunDir(
  dir: string,
  options: { command: "train" | "resume"; log: (line: string) => void; advice: string },
): Promise<RunLock> {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 5; attempt++) {
    const me = holderRecord(options.command);
    const text = `${JSON.stringify(me)}\n`;
    if (createExclusive(path, text, dir)) {
      heldHere.add(path);
      return { path, release: () => releaseLock(path, text) };
    }
    const seen = readLock(path);
    if (seen === undefined) continue; // removed meanwhile: try again
    if (seen.holder === null) {
      if (Date.now() - seen.mtimeMs < WRITING_MS) {
        await sleep(100);
        continue;
      }
    } else if (holderState(seen.holder, path) !== "gone") {
      throw new TfewError(inUseMessage(dir, seen.holder, path, options.advice));
    }
    if (takeOver(path, seen.text)) options.log(staleNote(dir, seen.holder));
  }
  throw new TfewError(`train: run folder ${dir} is being locked by another tfew process; ${options.advice}`);
}

/** Whether a live process (other than this one's own run) holds `dir`'s lock: for a check before claiming. */
export function lockHolder(dir: string): LockHolder | null {
  const path = join(dir, LOCK_FILE);
  const seen = readLock(path);
  if (seen === undefined || seen.holder === null) return null;
  return holderState(seen.holder, path) === "gone" ? null : seen.holder;
}

/** The message of a folder in use (exported for the check before claiming). */
export function inUseMessage(dir: string, holder: LockHolder, path: string, advice: string): string {
  const command = `tfew train${holder.command === "resume" ? " --resume" : ""}`;
  const who = `tfew pid ${holder.pid} on ${holder.host} (${command} since ${holder.started_at})`;
  const head = `train: run folder ${dir} is in use by ${who}`;
  if (holder.host !== hostname()) return `${head}; if that process has ended, delete ${path}, else ${advice}`;
  return `${head}; ${advice}`;
}

function staleNote(dir: string, holder: LockHolder | null): string {
  const head = `train: note: run folder ${dir}`;
  if (holder === null)
    return `${head} has an empty lock file, left by a tfew process that died taking it; taking it over`;
  return `${head} was locked by pid ${holder.pid} on ${holder.host}, which is no longer running; taking it over`;
}

function holderRecord(command: string): LockHolder {
  return {
    pid: process.pid,
    host: hostname(),
    started_at: new Date().toISOString(),
    command,
    proc_start: procStart(process.pid),
  };
}

/** Creates the lock file with O_EXCL; false when it exists. Other errors: one line (the folder is not writable). */
function createExclusive(path: string, text: string, dir: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    if (code === "EEXIST") return false;
    throw new TfewError(`train: run folder ${dir} cannot be written (${code}); choose another --out folder`);
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The lock file's text and holder (null: empty or not JSON); undefined when there is none. */
function readLock(path: string): { text: string; holder: LockHolder | null; mtimeMs: number } | undefined {
  let text: string;
  let mtimeMs: number;
  try {
    text = readFileSync(path, "utf8");
    mtimeMs = statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    const ok = typeof parsed.pid === "number" && typeof parsed.host === "string";
    return { text, holder: ok ? (parsed as LockHolder) : null, mtimeMs };
  } catch {
    return { text, holder: null, mtimeMs };
  }
}

/** "alive", "gone" (no such process on this host, or its pid now belongs to another process), or "unknown" host. */
function holderState(holder: LockHolder, path: string): "alive" | "gone" | "unknown" {
  if (holder.host !== hostname()) return "unknown";
  if (holder.pid === process.pid) return heldHere.has(path) ? "alive" : "gone"; // a former process with our pid
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return "gone";
  }
  const now = procStart(holder.pid);
  return holder.proc_start !== null && now !== null && now !== holder.proc_start ? "gone" : "alive";
}

/**
 * Moves a stale lock (whose text we read as `stale`) out of the way. Renaming is atomic, so of two processes
 * taking over one stale lock only one moves it; one that moved a fresh lock instead (the other's) puts it back.
 */
function takeOver(path: string, stale: string): boolean {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    renameSync(path, aside);
  } catch {
    return false; // someone else moved it
  }
  let moved = "";
  try {
    moved = readFileSync(aside, "utf8");
  } catch {
    // unreadable: treat as not ours
  }
  if (moved !== stale) {
    try {
      linkSync(aside, path); // put the other process's lock back (fails only if a third took the folder)
    } catch {
      // the folder is locked again by whoever created the new lock
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // already gone
  }
  return moved === stale;
}

function releaseLock(path: string, text: string): void {
  heldHere.delete(path);
  try {
    if (readFileSync(path, "utf8") === text) unlinkSync(path);
  } catch {
    // already gone (the folder was removed)
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); null where there is no /proc. */
function procStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}
