// Temp names carry their owner (pid@host): a sweep removes only the temps of processes that are gone on this host.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTempName, removeStaleTemps, TEMP_HOST, tempPathFor } from "./temp-files.js";

let root: string;
let deadPid: number;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tfew-temp-files-"));
  deadPid = spawnSync(process.execPath, ["-e", ""]).pid as number; // exited: its pid names no process now
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe("temp names", () => {
  it("name the target, the owner pid and this host", () => {
    const temp = tempPathFor(join(root, "model-out"));
    expect(parseTempName(temp.slice(root.length + 1))).toEqual({
      target: "model-out",
      pid: process.pid,
      host: TEMP_HOST,
    });
    expect(parseTempName(".preds.csv.tmp-42-0123456789ab")).toEqual({ target: "preds.csv", pid: 42, host: null });
    expect(parseTempName("preds.csv")).toBeNull();
  });

  it("a sweep removes a dead owner's temp folder and file, never a live one's or another host's", async () => {
    const dir = join(root, "sweep");
    await mkdir(dir);
    const name = (pid: number, host: string) => `.out.tmp-${pid}@${host}-0123456789ab`;
    const dead = join(dir, name(deadPid, TEMP_HOST));
    await mkdir(dead);
    await writeFile(join(dead, "model.safetensors"), "partial");
    const deadFile = join(dir, `.preds.csv.tmp-${deadPid}@${TEMP_HOST}-0123456789ab`);
    await writeFile(deadFile, "partial");
    const live = join(dir, name(process.pid, TEMP_HOST));
    await mkdir(live);
    const elsewhere = join(dir, name(deadPid, "another-host"));
    await mkdir(elsewhere);
    const legacyNew = join(dir, `.old.tmp-${deadPid}-0123456789ab`); // no host, changed just now: kept
    await writeFile(legacyNew, "x");
    const legacyOld = join(dir, `.older.tmp-${deadPid}-0123456789ab`); // no host, 2 hours old: removed
    await writeFile(legacyOld, "x");
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(legacyOld, twoHoursAgo, twoHoursAgo);
    const removed = await removeStaleTemps(dir);
    expect(removed.sort()).toEqual([dead, deadFile, legacyOld].map((p) => p.slice(dir.length + 1)).sort());
    for (const kept of [live, elsewhere, legacyNew]) expect(existsSync(kept)).toBe(true);
  });
});
