// Runs and outputs are never overwritten, through the built CLI: `tfew train --out DIR` (or config `out:`) refuses a
// folder that holds a run or anything else, in one line and before loading anything, leaving every byte as it was;
// an empty folder is fine. `tfew eval` / `tfew predict` refuse to replace an existing output unless --overwrite.
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEMO_MODEL,
  DEMO_TASK,
  listFiles,
  QUICK,
  requireBuild,
  runCli,
  runCliProcess,
  scratch,
  startCli,
  type CliResult,
} from "./helpers/spawn-tfew.js";

let work: string;
let finished: string; // a finished demo run, trained once

/** `tfew train` on the demo: 2 short steps on wasm into `out` (flags and --set values after). */
function train(out: string | null, extra: string[] = []): Promise<CliResult> {
  const args = [
    "train",
    "--backend",
    "wasm",
    ...QUICK,
    "--set",
    "train.steps=2",
    ...(out === null ? [] : ["--out", out]),
    ...extra,
  ];
  return runCli(args, { cwd: work });
}

/** Every file under `dir` with its bytes and mtime: what "nothing touched" compares. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of await listFiles(dir)) {
    const path = join(dir, f);
    out.set(f, `${(await readFile(path)).toString("base64")}@${(await stat(path)).mtimeMs}`);
  }
  return out;
}

/** One `tfew: error:` line holding every `mentions` text, a non-zero exit, and nothing else on stderr (nothing loaded). */
function expectRefusal(r: CliResult, mentions: string[]): void {
  const context = `stderr:\n${r.stderr}`;
  expect(r.code, context).not.toBe(0);
  expect(r.code, context).not.toBe(70);
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  expect(lines, context).toHaveLength(1);
  expect(lines[0], context).toMatch(/^tfew: error: /);
  for (const text of mentions) expect(lines[0], context).toContain(text);
}

beforeAll(async () => {
  requireBuild();
  work = await scratch("run-folder");
  finished = join(work, "finished");
  const r = await train(finished);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe("tfew train --out", () => {
  it("refuses a folder that holds a finished run, suggests --resume, and touches nothing", async () => {
    const before = await snapshot(finished);
    expectRefusal(await train(finished), [
      `out folder ${finished} already holds a run`,
      `tfew train --resume ${finished}`,
      "new --out folder",
    ]);
    expect(await snapshot(finished)).toEqual(before);
  });

  it("refuses a folder with only some of a run (a run killed early: config.resolved.yaml alone)", async () => {
    const dir = join(work, "partial");
    await mkdir(dir);
    await writeFile(join(dir, "config.resolved.yaml"), "seed: 1\n");
    expectRefusal(await train(dir), ["already holds a run (config.resolved.yaml)", `tfew train --resume ${dir}`]);
    expect(await readFile(join(dir, "config.resolved.yaml"), "utf8")).toBe("seed: 1\n");
  });

  it("refuses a non-empty folder that is not a run, and leaves its files alone", async () => {
    const dir = join(work, "notes");
    await mkdir(dir);
    await writeFile(join(dir, "thesis.tex"), "\\section{Results}\n");
    const before = await snapshot(dir);
    expectRefusal(await train(dir), [
      `out folder ${dir} is not empty`,
      "thesis.tex",
      "holds no tfew run",
      "new or empty --out folder",
    ]);
    expect(await snapshot(dir)).toEqual(before);
  });

  it("refuses a run folder given as the config's out: key", async () => {
    const file = join(work, "out.yaml");
    await writeFile(file, `model: ${DEMO_MODEL}\ndata:\n  path: ${DEMO_TASK}\nout: ${finished}\n`);
    const before = await snapshot(finished);
    expectRefusal(await train(null, ["--config", file]), [`out folder ${finished} already holds a run`, "--resume"]);
    expect(await snapshot(finished)).toEqual(before);
  });

  it("accepts an empty existing folder", async () => {
    const dir = join(work, "empty");
    await mkdir(dir);
    const r = await train(dir);
    expect(r.code, r.stderr).toBe(0);
    expect(await listFiles(dir)).toContain("adapter/adapter_model.safetensors");
  });
});

describe("one process per run folder (.tfew.lock)", () => {
  // long enough that the winner is still training when the loser claims or resumes (~0.1 s a step here)
  const longRun = (out: string, seed: number) => [
    "train",
    "--backend",
    "wasm",
    ...QUICK,
    "--set",
    "train.steps=60",
    "--set",
    `seed=${seed}`,
    "--out",
    out,
  ];

  it("two runs started together on one new folder: one trains, the other fails in one line naming the holder", async () => {
    const dir = join(work, "race");
    const runs = [startCli(longRun(dir, 1), { cwd: work }), startCli(longRun(dir, 2), { cwd: work })];
    const results = await Promise.all(runs.map((r) => r.done));
    const winner = results.findIndex((r) => r.code === 0);
    expect(winner, results.map((r) => r.stderr).join("\n---\n")).toBeGreaterThanOrEqual(0);
    const loser = results[1 - winner] as CliResult;
    expectRefusal(loser, [`run folder ${dir} is in use by tfew pid ${runs[winner]?.child.pid} on `, "another --out"]);
    // every file is the winner's: its seed in the config and manifest, each step logged once
    const seed = winner + 1;
    expect(await readFile(join(dir, "config.resolved.yaml"), "utf8")).toMatch(new RegExp(`^seed: ${seed}$`, "m"));
    expect(JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"))).toMatchObject({ seed });
    const steps = (await readFile(join(dir, "metrics.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { step: number }).step);
    expect(steps).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(await listFiles(dir)).not.toContain(".tfew.lock"); // released at the end
  });

  it("--resume of a folder another process is training in is refused; after a kill -9 the next resume takes over", async () => {
    const dir = join(work, "busy");
    const run = startCli(longRun(dir, 1), { cwd: work });
    await run.waitFor("train step 2/60");
    const resumed = await runCliProcess(["train", "--resume", dir], { cwd: work });
    expectRefusal(resumed, [`run folder ${dir} is in use by tfew pid ${run.child.pid} on `, "tfew train since"]);
    const fresh = await runCliProcess(longRun(dir, 3), { cwd: work });
    expectRefusal(fresh, [`run folder ${dir} is in use by tfew pid ${run.child.pid}`]);
    run.child.kill("SIGKILL");
    expect((await run.done).signal).toBe("SIGKILL");
    expect(await listFiles(dir)).toContain(".tfew.lock"); // a killed process cannot remove it
    const after = await runCli(["train", "--resume", dir], { cwd: work });
    expect(after.code, after.stderr).toBe(0);
    expect(after.stderr).toContain(
      `train: note: run folder ${dir} was locked by pid ${run.child.pid} on ${hostname()}, which is no longer running; taking it over`,
    );
    expect(await listFiles(dir)).not.toContain(".tfew.lock");
  });

  it("Ctrl-C releases the lock", async () => {
    const dir = join(work, "interrupted");
    const run = startCli(longRun(dir, 1), { cwd: work });
    await run.waitFor("train step 2/60");
    run.child.kill("SIGINT");
    expect((await run.done).code).toBe(130);
    expect(await listFiles(dir)).not.toContain(".tfew.lock");
  });
});

describe("tfew eval / predict outputs", () => {
  const zeroShot = ["--model", DEMO_MODEL, "--data", DEMO_TASK, ...QUICK];

  it("eval refuses to replace an existing metrics.json, before evaluating; --overwrite replaces it", async () => {
    const out = join(work, "eval-out");
    await mkdir(out);
    await writeFile(join(out, "metrics.json"), '{"accuracy": 0.99}\n');
    expectRefusal(await runCli(["eval", ...zeroShot, "--out", out], { cwd: work }), [
      `eval: ${join(out, "metrics.json")} already exists`,
      "--overwrite",
      "another --out folder",
    ]);
    expect(await readFile(join(out, "metrics.json"), "utf8")).toBe('{"accuracy": 0.99}\n');
    const r = await runCli(["eval", ...zeroShot, "--out", out, "--overwrite"], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(out, "metrics.json"), "utf8"))).toHaveProperty("confusion");
  });

  it("eval --folds refuses an --out folder holding an earlier cross-validation's fold runs", async () => {
    const out = join(work, "folds-out");
    await mkdir(join(out, "fold-1"), { recursive: true });
    await writeFile(join(out, "fold-1", "manifest.json"), "{}\n");
    expectRefusal(await runCli(["eval", ...zeroShot, "--folds", "2", "--out", out], { cwd: work }), [
      `${join(out, "fold-1")} already exists`,
      "--overwrite",
    ]);
    expect(await listFiles(out)).toEqual(["fold-1/manifest.json"]);
  });

  it("predict refuses to replace an existing predictions file; --overwrite replaces it", async () => {
    const file = join(work, "preds.csv");
    await writeFile(file, "ID,Label\n1,mine\n");
    expectRefusal(await runCli(["predict", ...zeroShot, "--output", file], { cwd: work }), [
      `predict: ${file} already exists`,
      "--overwrite",
      "another --output file",
    ]);
    expect(await readFile(file, "utf8")).toBe("ID,Label\n1,mine\n");
    const r = await runCli(["predict", ...zeroShot, "--output", file, "--overwrite"], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(file, "utf8")).toMatch(/^ID,Label\n/);
    expect(await readFile(file, "utf8")).not.toContain("mine");
  });
});
