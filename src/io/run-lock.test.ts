// The run-folder lock: one holder at a time (O_EXCL), a live holder named in one line, a stale one (its pid gone
// from this host, its pid now another process's, an empty lock of a writer that died) taken over with a note.
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tfewMessageOf } from "../../tests/helpers/errors.js";
import { LOCK_FILE, lockRunDir, type LockHolder } from "./run-lock.js";

let root: string;
let count = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tfew-run-lock-"));
});
afterAll(async () => rm(root, { recursive: true, force: true }));

async function folder(holder?: Partial<LockHolder> | string): Promise<string> {
  const dir = join(root, `case-${++count}`);
  await mkdir(dir);
  if (holder !== undefined) {
    const base = { pid: process.ppid, host: hostname(), started_at: "2026-01-01T00:00:00.000Z", command: "train" };
    const text = typeof holder === "string" ? holder : JSON.stringify({ ...base, proc_start: null, ...holder });
    await writeFile(join(dir, LOCK_FILE), text);
  }
  return dir;
}

function lock(dir: string, lines: string[] = []) {
  return lockRunDir(dir, { command: "train", log: (line) => lines.push(line), advice: "wait for it to end" });
}

/** The pid of a process that has ended. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "0"]);
  if (r.pid === undefined) throw new Error("could not start a process");
  return r.pid;
}

describe("lockRunDir", () => {
  it("creates the lock with this process's pid and host, refuses a second taker, and releases", async () => {
    const dir = await folder();
    const held = await lock(dir);
    const holder = JSON.parse(await readFile(join(dir, LOCK_FILE), "utf8")) as LockHolder;
    expect(holder).toMatchObject({ pid: process.pid, host: hostname(), command: "train" });
    expect(await tfewMessageOf(lock(dir))).toBe(
      `train: run folder ${dir} is in use by tfew pid ${process.pid} on ${hostname()} (tfew train since ${holder.started_at}); wait for it to end`,
    );
    held.release();
    expect(await readdir(dir)).toEqual([]);
    (await lock(dir)).release(); // free again
  });

  it("refuses a lock of a live process (the parent) in one line naming its pid", async () => {
    const dir = await folder({ command: "resume" });
    expect(await tfewMessageOf(lock(dir))).toBe(
      `train: run folder ${dir} is in use by tfew pid ${process.ppid} on ${hostname()} (tfew train --resume since 2026-01-01T00:00:00.000Z); wait for it to end`,
    );
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), "utf8"))).toMatchObject({ pid: process.ppid });
  });

  it("refuses a lock taken on another host, saying which file to delete once that process has ended", async () => {
    const dir = await folder({ host: "elsewhere", pid: 1 });
    expect(await tfewMessageOf(lock(dir))).toContain(
      `in use by tfew pid 1 on elsewhere (tfew train since 2026-01-01T00:00:00.000Z); if that process has ended, delete ${join(dir, LOCK_FILE)}, else wait for it to end`,
    );
  });

  it("takes over a stale lock with a note: pid gone, pid reused by another process, this pid, an old empty file", async () => {
    const stale = [
      { pid: deadPid() },
      { pid: process.ppid, proc_start: "1" }, // the parent started long after tick 1: its pid was reused
      { pid: process.pid }, // a former process with this pid (e.g. a restarted container), not this one's lock
    ];
    for (const holder of stale) {
      const dir = await folder(holder);
      const lines: string[] = [];
      const held = await lock(dir, lines);
      expect(lines).toEqual([
        `train: note: run folder ${dir} was locked by pid ${holder.pid} on ${hostname()}, which is no longer running; taking it over`,
      ]);
      expect(JSON.parse(await readFile(join(dir, LOCK_FILE), "utf8"))).toMatchObject({ pid: process.pid });
      held.release();
      expect(await readdir(dir)).toEqual([]);
    }
    const dir = await folder("");
    const old = new Date(Date.now() - 60_000);
    await utimes(join(dir, LOCK_FILE), old, old);
    const lines: string[] = [];
    (await lock(dir, lines)).release();
    expect(lines).toEqual([
      `train: note: run folder ${dir} has an empty lock file, left by a tfew process that died taking it; taking it over`,
    ]);
  });

  it("release leaves a lock that is no longer this process's alone", async () => {
    const dir = await folder();
    const held = await lock(dir);
    const other = JSON.stringify({ pid: process.ppid, host: hostname(), started_at: "x", command: "train" });
    await writeFile(join(dir, LOCK_FILE), other);
    held.release();
    expect(await readFile(join(dir, LOCK_FILE), "utf8")).toBe(other);
  });
});
