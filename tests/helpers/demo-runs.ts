// Demo runs shared by test files: `demoRun("seed1")` trains the embedded demo once per `vitest run` (6 steps,
// one worker, no GPU sampling) into the folder tests/global-setup.ts provides, and every later caller, in any
// test file, gets the same folder. Treat it as read-only: write outputs elsewhere (--out / --output).
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inject } from "vitest";
import { runInProcess } from "./in-process.js";
import { REPO_ROOT } from "./shared.js";

/** The shared runs: the same recipe, two seeds (two adapters of one model, e.g. for merges). */
export const DEMO_RUNS = { seed1: 1, seed2: 2 } as const;

/** The settings of every shared run (besides its seed). */
export const DEMO_RUN_SETS = ["workers=1", "monitor.gpu=off", "train.steps=6", "train.checkpoint_every=100"];

/** The run folder of a shared demo run, trained now when no test file has yet. */
export async function demoRun(name: keyof typeof DEMO_RUNS): Promise<string> {
  const dir = join(inject("demoRunsDir"), name);
  const done = `${dir}.done`;
  const lock = `${dir}.lock`;
  const deadline = Date.now() + 300_000;
  while (!existsSync(done)) {
    if (existsSync(`${dir}.failed`)) throw new Error(`the shared demo run ${name} failed in another test file`);
    try {
      mkdirSync(lock); // this process trains it
    } catch {
      if (Date.now() > deadline) throw new Error(`timed out waiting for the shared demo run ${dir}`);
      await new Promise((r) => setTimeout(r, 200)); // another test file is training it
      continue;
    }
    const sets = [...DEMO_RUN_SETS, `seed=${DEMO_RUNS[name]}`].flatMap((s) => ["--set", s]);
    const r = await runInProcess(["train", "--out", dir, ...sets], { cwd: REPO_ROOT });
    if (r.code !== 0) writeFileSync(`${dir}.failed`, r.stderr);
    if (r.code !== 0) throw new Error(`training the shared demo run ${name} failed:\n${r.stderr}`);
    writeFileSync(done, "");
  }
  return dir;
}
