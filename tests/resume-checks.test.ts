// What `tfew train --resume DIR` checks and honours, through the built CLI, on copies of one run stopped by SIGTERM
// after a few steps: flags that would change what is trained are refused in one line naming the flag and key
// (backend, workers may change); changed data or model files are refused unless --accept-changed-inputs, which
// records the earlier checksums; the summary's first loss is the run's own step 1; a missing, damaged, future or
// non-finite checkpoint and a manifest of another tfew version each get one clear line.
import { cp, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSafetensors, writeSafetensors } from "../src/io/safetensors.js";
import {
  copyDemo,
  listFiles,
  QUICK,
  requireBuild,
  runCli,
  scratch,
  startCli,
  type CliResult,
} from "./helpers/spawn-tfew.js";

const STEPS = 20;
let work: string;
let base: string; // the stopped run (never resumed itself: each test resumes a copy)
let task: string;
let model: string;
let copies = 0;

beforeAll(async () => {
  requireBuild();
  work = await scratch("resume-checks");
  task = await copyDemo("task", work);
  model = await copyDemo("model", work);
  base = join(work, "base");
  await stoppedRun(base, ["--backend", "wasm"], 2);
});

/** A run of STEPS steps (checkpoint every step) stopped by SIGTERM after step `after`; its config.resolved.yaml. */
async function stoppedRun(dir: string, backend: string[], after: number): Promise<string> {
  const args = ["train", ...backend, ...QUICK, "--set", `model=${model}`, "--set", `data.path=${task}`];
  const run = startCli([...args, "--set", `train.steps=${STEPS}`, "--set", "train.checkpoint_every=1", "--out", dir], {
    cwd: work,
  });
  await run.waitFor(`train step ${after}/${STEPS}`);
  run.child.kill("SIGTERM");
  const r = await run.done;
  expect(r.code, r.stderr).toBe(143);
  return readFile(join(dir, "config.resolved.yaml"), "utf8");
}

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

/** A fresh copy of the stopped run. */
async function copyOfBase(): Promise<string> {
  const dir = join(work, `run-${++copies}`);
  await cp(base, dir, { recursive: true });
  return dir;
}

function resume(dir: string, extra: string[] = []): Promise<CliResult> {
  return runCli(["train", "--resume", dir, ...extra], { cwd: work });
}

/** Every file of a folder with its bytes: what "nothing written" compares. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of await listFiles(dir)) out.set(f, (await readFile(join(dir, f))).toString("base64"));
  return out;
}

/** One `tfew: error:` line (the last stderr line), non-zero exit, not the bug code 70; returns the line. */
function errorLine(r: CliResult): string {
  const context = `stderr:\n${r.stderr}`;
  expect(r.code, context).not.toBe(0);
  expect(r.code, context).not.toBe(70);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("tfew: "));
  expect(errors, context).toHaveLength(1);
  expect(r.stderr.trimEnd().split("\n").at(-1), context).toBe(errors[0]);
  return errors[0] as string;
}

/** A resume that must be refused in one line holding `mentions`, leaving every file of the run as it was. */
async function expectRefused(dir: string, extra: string[], mentions: string[]): Promise<string> {
  const before = await snapshot(dir);
  const line = errorLine(await resume(dir, extra));
  for (const text of mentions) expect(line).toContain(text);
  expect(await snapshot(dir)).toEqual(before);
  return line;
}

async function json<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, "utf8")) as T;
}

async function metricsRows(dir: string): Promise<{ step: number; loss: number }[]> {
  const text = await readFile(join(dir, "metrics.jsonl"), "utf8");
  return text
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { step: number; loss: number });
}

describe("flags on --resume", () => {
  it("--set of a trained key is refused naming the flag, the key and the recorded value", async () => {
    const dir = await copyOfBase();
    await expectRefused(
      dir,
      ["--set", "train.lr=0.5"],
      [
        "tfew: error: --set train.lr=0.5: a resumed run keeps its config (train.lr is 0.03",
        `in ${join(dir, "config.resolved.yaml")}); drop it, or start a new run with --out`,
      ],
    );
  });

  it("--set train.steps is refused: the schedule ends at the recorded steps; a new run from the vectors is the way", async () => {
    const dir = await copyOfBase();
    await expectRefused(
      dir,
      ["--set", `train.steps=${STEPS * 2}`],
      [
        `--set train.steps=${STEPS * 2}: a resumed run keeps train.steps (${STEPS} in `,
        "learning rate decays linearly to 0 at that step",
        `tfew train --out NEW --set adapter.init_from=${join(dir, "adapter")}`,
      ],
    );
  });

  it("--config with a changed key is refused naming the file; --out elsewhere is refused", async () => {
    const dir = await copyOfBase();
    const file = join(work, "other.yaml");
    await writeFile(file, "seed: 7\n");
    await expectRefused(dir, ["--config", file], [`--config ${file}: a resumed run keeps its config (seed is 42`]);
    await expectRefused(dir, ["--out", join(work, "elsewhere")], ["--out ", "a resumed run stays in its folder"]);
    expect(await listFiles(join(work, "elsewhere"))).toEqual([]);
  });

  it("--backend and --set workers are honoured; the recorded config stays, and a second resume accepts it", async () => {
    const dir = join(work, "on-cpu"); // started on cpu (slow), resumed on wasm
    const started = await stoppedRun(dir, ["--backend", "cpu"], 1);
    expect(started).toMatch(/^backend: cpu$/m);
    const r = await resume(dir, ["--backend", "wasm", "--set", "workers=1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^done: ${STEPS} steps in .* on wasm, `, "m"));
    expect(await json<{ backend: string }>(join(dir, "manifest.json"))).toMatchObject({ backend: "wasm" });
    expect(await readFile(join(dir, "config.resolved.yaml"), "utf8")).toBe(started);
    const again = await resume(dir);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`already finished ${STEPS} of ${STEPS} steps`);
  });
});

describe("summary of a resumed run", () => {
  it("first_loss and the done line give the run's step-1 loss, not the first resumed step's", async () => {
    const dir = await copyOfBase();
    const [first, ...rest] = await metricsRows(dir);
    expect(first?.step).toBe(1);
    const resumedFrom = Number((await readSafetensors(join(dir, "checkpoint.safetensors"))).metadata.step);
    expect(resumedFrom).toBeGreaterThanOrEqual(2);
    expect(rest.length).toBeGreaterThanOrEqual(1);
    const r = await resume(dir);
    expect(r.code, r.stderr).toBe(0);
    const summary = await json<{ first_loss: number }>(join(dir, "summary.json"));
    expect(summary.first_loss).toBe(first?.loss);
    const resumedFirst = (await metricsRows(dir)).find((row) => row.step === resumedFrom + 1);
    expect(resumedFirst?.loss).not.toBe(first?.loss);
    expect(r.stdout).toContain(`loss ${first?.loss.toFixed(4)} → `);
  });
});

describe("inputs changed since the run started", () => {
  it("an edited train.csv is refused naming it; --accept-changed-inputs trains on and keeps the old sha256", async () => {
    const dir = await copyOfBase();
    const csv = join(task, "train.csv");
    const original = await readFile(csv);
    const oldSha = (await json<{ data_files: { path: string; sha256: string }[] }>(join(dir, "manifest.json")))
      .data_files;
    try {
      // the first data row's text, edited in place
      await writeFile(csv, original.toString("utf8").replace(/\n([^\n,]*),/, "\n$1 edited,"));
      await expectRefused(
        dir,
        [],
        [`resume: ${csv} changed since the run started (sha256 `, "--accept-changed-inputs"],
      );
      const r = await resume(dir, ["--accept-changed-inputs"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`resume: note: training on with changed inputs (${csv});`);
      const manifest = await json<{
        data_files: { path: string; sha256: string }[];
        input_history: { until_step: number; changed: string[]; data_files: unknown }[];
      }>(join(dir, "manifest.json"));
      expect(manifest.input_history).toHaveLength(1);
      expect(manifest.input_history[0]).toMatchObject({ changed: [csv], data_files: oldSha });
      expect(manifest.data_files.find((f) => f.path === csv)?.sha256).not.toBe(
        oldSha.find((f) => f.path === csv)?.sha256,
      );
    } finally {
      await writeFile(csv, original);
    }
  });

  it("model.safetensors edited in place is refused naming it", async () => {
    const dir = await copyOfBase();
    const weights = join(model, "model.safetensors");
    const original = await readFile(weights);
    try {
      const edited = Buffer.from(original);
      edited[edited.length - 1] = (edited[edited.length - 1] as number) ^ 1; // one bit of the last weight
      await writeFile(weights, edited);
      await expectRefused(dir, [], [`resume: ${weights} changed since the run started`]);
    } finally {
      await writeFile(weights, original);
    }
  });
});

describe("checkpoint and manifest messages", () => {
  it("a deleted checkpoint is named and the run does not silently restart from step 0", async () => {
    const dir = await copyOfBase();
    await rm(join(dir, "checkpoint.safetensors"));
    await expectRefused(
      dir,
      [],
      [`resume: ${join(dir, "checkpoint.safetensors")} is missing, but the run had reached step `, "restore the file"],
    );
  });

  it("a checkpoint of a newer format says to upgrade tfew", async () => {
    const dir = await copyOfBase();
    await rewriteCheckpoint(dir, (metadata) => ({ ...metadata, format: "tfew-checkpoint-2" }));
    await expectRefused(dir, [], ["was written by a newer tfew (format 2, this one reads 1); upgrade tfew"]);
  });

  it("a NaN in a checkpoint is named, with advice that works (not the settings a resume refuses)", async () => {
    const dir = await copyOfBase();
    await rewriteCheckpoint(dir, (metadata, tensors) => {
      const name = Object.keys(tensors).find((n) => n.startsWith("vector/")) as string;
      (tensors[name]?.data as Float32Array)[0] = Number.NaN;
      return metadata;
    });
    const line = await expectRefused(
      dir,
      [],
      ["holds a non-finite value (NaN in vector/", "start over with tfew train --out NEW"],
    );
    expect(line).not.toContain("train.lr");
  });

  it("a truncated checkpoint says what to do (a checkpoint is not downloaded)", async () => {
    const dir = await copyOfBase();
    const file = join(dir, "checkpoint.safetensors");
    await truncate(file, (await stat(file)).size - 10);
    const line = await expectRefused(
      dir,
      [],
      [`checkpoint: ${file} is damaged (`, "start over with tfew train --out NEW"],
    );
    expect(line).not.toContain("download");
  });

  it("a manifest from another tfew version is one warning line; the resume goes on", async () => {
    const dir = await copyOfBase();
    const manifest = await json<Record<string, unknown>>(join(dir, "manifest.json"));
    await writeFile(join(dir, "manifest.json"), JSON.stringify({ ...manifest, tfew_version: "0.0.9" }));
    const r = await resume(dir);
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stderr.split("\n").filter((l) => l.includes("0.0.9"));
    expect(warnings).toEqual([
      `resume: warning: ${join(dir, "manifest.json")} was written by tfew 0.0.9, this is 0.1.0; continuing with this one (the manifest will say 0.1.0)`,
    ]);
    expect(await json<{ tfew_version: string }>(join(dir, "manifest.json"))).toMatchObject({ tfew_version: "0.1.0" });
  });
});

type Tensors = Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }>;

/** Rewrites a run's checkpoint with edited metadata or tensors (what a damaged or foreign file looks like). */
async function rewriteCheckpoint(
  dir: string,
  edit: (metadata: Record<string, string>, tensors: Tensors) => Record<string, string>,
): Promise<void> {
  const file = join(dir, "checkpoint.safetensors");
  const { tensors, metadata } = await readSafetensors(file);
  const out: Tensors = {};
  for (const [name, t] of tensors)
    out[name] = { dtype: "F32", shape: [...t.shape], data: Float32Array.from(t.data as Float32Array) };
  await writeSafetensors(file, out, edit({ ...metadata }, out));
}
