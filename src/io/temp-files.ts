// The hidden temp files and folders of atomic writes (`.<name>.tmp-<pid>@<host>-<hex>` beside the target): their
// names carry the owner's pid and host, so a later write into the same folder removes the ones whose owner is
// gone (a kill -9), never a live process's; the live ones of this process are listed for the CLI's signal
// handler to remove before it exits. Plus the two TFEW_TEST_* hooks the process tests use.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { readdir, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";

/** This host as temp names spell it (characters outside [A-Za-z0-9.-] become "_"). */
export const TEMP_HOST = hostname().replace(/[^A-Za-z0-9.-]/g, "_") || "host";

// `.<target>.tmp-<pid>@<host>-<12 hex>`; before the host was added: `.<target>.tmp-<pid>-<12 hex>`
const TEMP_NAME = /^\.(.+)\.tmp-(\d+)(?:@([A-Za-z0-9._-]+))?-[0-9a-f]{12}$/;

/** Temp names without a host (older tfew) count as stale only this long after their last change. */
const LEGACY_STALE_MS = 60 * 60 * 1000;

/** A fresh temp path beside `target`, owned by this process. */
export function tempPathFor(target: string): string {
  const name = `.${basename(target)}.tmp-${process.pid}@${TEMP_HOST}-${randomBytes(6).toString("hex")}`;
  return join(dirname(target), name);
}

/** The target name and owner of a temp name; null when `name` is not one. */
export function parseTempName(name: string): { target: string; pid: number; host: string | null } | null {
  const m = TEMP_NAME.exec(name);
  if (m === null) return null;
  return { target: m[1] as string, pid: Number(m[2]), host: m[3] ?? null };
}

/** Whether process `pid` exists on this host (EPERM: it exists, owned by another user). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the temp files and folders in `dir` whose owner is gone (same host, pid not running). Another host's
 * temps are never touched (its processes cannot be seen). Returns the names removed. Best effort: a folder that
 * cannot be read or an entry that cannot be removed is skipped.
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const temp = parseTempName(name);
    if (temp === null) continue;
    if (!(await ownerGone(join(dir, name), temp))) continue;
    await rm(join(dir, name), { recursive: true, force: true, maxRetries: 2 }).then(
      () => removed.push(name),
      () => undefined,
    );
  }
  return removed;
}

async function ownerGone(path: string, temp: { pid: number; host: string | null }): Promise<boolean> {
  if (temp.host !== null) return temp.host === TEMP_HOST && !processAlive(temp.pid);
  if (processAlive(temp.pid)) return false;
  const info = await stat(path).catch(() => undefined);
  return info !== undefined && Date.now() - info.mtimeMs > LEGACY_STALE_MS;
}

const live = new Set<string>();

/** Records a temp path this process is filling; call the returned function once it is renamed or removed. */
export function trackTemp(path: string): () => void {
  live.add(path);
  return () => void live.delete(path);
}

/** Removes every temp this process is filling, synchronously (for a signal handler that exits next). */
export function removeLiveTemps(): string[] {
  const removed = [...live];
  for (const path of removed) {
    try {
      rmSync(path, { recursive: true, force: true, maxRetries: 2 });
    } catch {
      // best effort: the process exits next; a later write into the folder removes what is left
    }
  }
  live.clear();
  return removed;
}

/**
 * Test hook: with TFEW_TEST_HOLD_WRITE=<name>, a write of a file or folder called <name> stops before its rename
 * (the temp complete, the target not yet there), says so on stderr and waits, so a test can signal or kill it.
 */
export async function testHold(target: string, temp: string): Promise<void> {
  if (process.env.TFEW_TEST_HOLD_WRITE !== basename(target)) return;
  process.stderr.write(`tfew: test hold: ${temp}\n`);
  await new Promise((resolve) => setTimeout(resolve, 120_000));
}

const faultCounts = new Map<string, number>();

/**
 * Test hook: with TFEW_TEST_FAIL_WRITE=<name>:<n>[:<code>], the n-th append to a file called <name> (counted
 * from 1 in this process) fails with <code> (default ENOSPC), as a full disk would. Called before each append.
 */
export function testFault(path: string): void {
  const spec = process.env.TFEW_TEST_FAIL_WRITE;
  if (spec === undefined) return;
  const [name, n, code = "ENOSPC"] = spec.split(":");
  if (name !== basename(path)) return;
  const count = (faultCounts.get(path) ?? 0) + 1;
  faultCounts.set(path, count);
  if (count >= Number(n))
    throw Object.assign(new Error(`${code}: injected by TFEW_TEST_FAIL_WRITE, write '${path}'`), { code });
}
