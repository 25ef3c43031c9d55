// A fresh run claims only a new or empty folder (runs are never overwritten); a finished run is recognised
// from its summary and adapter in any layout (one set, adapter/<task>/, SMEAR), so `--resume` of it does nothing.
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tfewMessageOf } from "../../tests/helpers/errors.js";
import { adapterLayout, claimRunDir, finishedRun, isStartedRun, removeTempFiles } from "./run-dir.js";

let root: string;
let count = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tfew-run-dir-"));
});
afterAll(async () => rm(root, { recursive: true, force: true }));

/** A fresh folder holding `files` (relative path → text). */
async function folder(files: Record<string, string>): Promise<string> {
  const dir = join(root, `case-${++count}`);
  await mkdir(dir);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, ".."), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

const log = (line: string) => {
  throw new Error(`unexpected log line: ${line}`);
};

describe("claimRunDir", () => {
  it("accepts a missing or empty folder, locked until released", async () => {
    for (const dir of [join(root, "not-yet"), await folder({})]) {
      const lock = await claimRunDir(dir, { log });
      expect(await readdir(dir)).toEqual([".tfew.lock"]);
      lock.release();
      expect(await readdir(dir)).toEqual([]);
    }
  });

  it("refuses a folder with any part of a run, naming it and suggesting --resume", async () => {
    for (const marker of [
      "config.resolved.yaml",
      "manifest.json",
      "checkpoint.safetensors",
      "adapter/adapter_config.json",
    ]) {
      const dir = await folder({ [marker]: "x" });
      expect(await tfewMessageOf(claimRunDir(dir, { log }))).toBe(
        `train: out folder ${dir} already holds a run (${marker.split("/")[0]}); continue it with \`tfew train --resume ${dir}\` or give a new --out folder`,
      );
    }
  });

  it("refuses a non-empty folder that is not a run, and a file", async () => {
    const dir = await folder({ "b.txt": "", "a.txt": "" });
    expect(await tfewMessageOf(claimRunDir(dir, { log }))).toBe(
      `train: out folder ${dir} is not empty (2 entries, e.g. a.txt) and holds no tfew run; give a new or empty --out folder`,
    );
    const file = join(dir, "a.txt");
    expect(await tfewMessageOf(claimRunDir(file, { log }))).toBe(
      `train: out folder ${file} is a file; give a new --out folder`,
    );
  });
});

describe("finishedRun", () => {
  const adapter = { "adapter/adapter_model.safetensors": "x" };
  const summary = (value: unknown) => ({ "summary.json": JSON.stringify(value) });

  it("is the run's steps and adapter when every step ran, nothing stopped it and the adapter exists", async () => {
    const dir = await folder({ ...summary({ steps: 3, stopped_by: null }), ...adapter });
    expect(await finishedRun(dir, { steps: 3 })).toEqual({ steps: 3, adapterDir: join(dir, "adapter") });
  });

  it("is null for a stopped run, fewer steps, no adapter, no or a damaged summary", async () => {
    expect(
      await finishedRun(await folder({ ...summary({ steps: 2, stopped_by: "SIGINT" }), ...adapter }), { steps: 3 }),
    ).toBeNull();
    expect(
      await finishedRun(await folder({ ...summary({ steps: 2, stopped_by: null }), ...adapter }), { steps: 3 }),
    ).toBeNull();
    expect(await finishedRun(await folder(summary({ steps: 3, stopped_by: null })), { steps: 3 })).toBeNull();
    expect(await finishedRun(await folder(adapter), { steps: 3 })).toBeNull();
    expect(await finishedRun(await folder({ "summary.json": "{", ...adapter }), { steps: 3 })).toBeNull();
    expect(await finishedRun(await folder({ "summary.json": "null", ...adapter }), { steps: 3 })).toBeNull();
  });
});

describe("adapter layouts", () => {
  it("tells one set, per-task sets and SMEAR apart, and a finished run has any of them", async () => {
    const done = { "summary.json": JSON.stringify({ steps: 3, stopped_by: null }), "config.resolved.yaml": "x" };
    const set = await folder({ ...done, "adapter/adapter_model.safetensors": "x" });
    const tasks = await folder({
      ...done,
      "adapter/one/adapter_model.safetensors": "x",
      "adapter/two/adapter_model.safetensors": "x",
    });
    const smear = await folder({
      ...done,
      "adapter/experts/e0/adapter_model.safetensors": "x",
      "adapter/router_config.json": "{}",
    });
    const empty = await folder({ ...done, "adapter/notes.txt": "x" });
    expect(await adapterLayout(join(set, "adapter"))).toBe("set");
    expect(await adapterLayout(join(tasks, "adapter"))).toBe("tasks");
    expect(await adapterLayout(join(smear, "adapter"))).toBe("smear");
    expect(await adapterLayout(join(empty, "adapter"))).toBeNull();
    for (const dir of [set, tasks, smear])
      expect(await finishedRun(dir, { steps: 3 })).toEqual({ steps: 3, adapterDir: join(dir, "adapter") });
    expect(await finishedRun(empty, { steps: 3 })).toBeNull();
    expect(isStartedRun(set) && !isStartedRun(await folder({ "summary.json": "{}" }))).toBe(true);
  });

  it("removeTempFiles clears a killed writer's temp files in the run folder and under adapter/", async () => {
    const temp = ".adapter_model.safetensors.tmp-123-0123456789ab";
    const dir = await folder({
      [`.summary.json.tmp-1-aaaaaaaaaaaa`]: "",
      [`adapter/one/${temp}`]: "",
      [`adapter/experts/e0/${temp}`]: "",
      "adapter/one/adapter_model.safetensors": "x",
    });
    await removeTempFiles(dir);
    expect((await readdir(dir)).sort()).toEqual(["adapter"]);
    expect(await readdir(join(dir, "adapter", "one"))).toEqual(["adapter_model.safetensors"]);
    expect(await readdir(join(dir, "adapter", "experts", "e0"))).toEqual([]);
  });
});
