// TensorBoard event files of real demo runs through the built CLI, read back by an independent reader
// (tests/helpers/tfevents-reader.ts: framing, both CRCs of every record, field numbers and wire types):
// the values equal metrics.jsonl's at float32; a killed and resumed run has each step once across its files;
// eval adds eval/* scalars at the run's last step; a (fake) nvidia-smi's readings appear as gpu/* tags.
// Spawns dist/ (`npm run build` first; `npm test` does).
import { chmod, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readEventFile, type ReadEvent } from "./helpers/tfevents-reader.js";
import { QUICK, requireBuild, runCli, scratch, startCli, type CliResult } from "./helpers/spawn-tfew.js";

const TAGS: Record<string, string> = {
  loss: "train/loss",
  lm_loss: "train/lm_loss",
  ul_loss: "train/ul_loss",
  ln_loss: "train/ln_loss",
  lr: "train/lr",
  grad_norm: "train/grad_norm",
  examples_per_s: "train/examples_per_s",
  tokens_per_s: "train/tokens_per_s",
};

let work: string;
beforeAll(async () => {
  requireBuild();
  work = await scratch("tfevents");
});
afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

function expectOk(r: CliResult): void {
  expect(r.code, `tfew failed:\n${r.stderr}`).toBe(0);
}

async function eventFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith("events.out.tfevents.")).sort();
}

/** Every event of every file in `dir`, in TensorBoard's order (file names sorted). */
async function allEvents(dir: string): Promise<ReadEvent[]> {
  const out: ReadEvent[] = [];
  for (const name of await eventFiles(dir)) out.push(...readEventFile(await readFile(join(dir, name))));
  return out;
}

async function metricsRows(dir: string): Promise<Record<string, number | null>[]> {
  return (await readFile(join(dir, "metrics.jsonl"), "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, number | null>);
}

const trainArgs = (out: string, steps: number, extra: string[] = []) => [
  "train",
  "--backend",
  "wasm",
  "--out",
  out,
  ...QUICK,
  "--set",
  `train.steps=${steps}`,
  ...extra,
];

describe("event files of tfew train", () => {
  it("hold the metrics.jsonl values under TensorBoard tags, one event per logged step, in one events.out.tfevents.<time>.<host>", async () => {
    const run = join(work, "run");
    const t0 = Date.now() / 1000;
    const r = await runCli(trainArgs(run, 10), { cwd: work });
    expectOk(r);
    expect(r.stdout).toMatch(/curves: tensorboard --logdir \S+\n\s+tfew report \S*run --output \S*run\/report\.html/);
    const names = await eventFiles(run);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^events\.out\.tfevents\.\d{10}\.\S+$/);
    const events = readEventFile(await readFile(join(run, names[0] as string)));
    expect(events[0]).toMatchObject({ step: 0, fileVersion: "brain.Event:2", values: [] });
    const rows = await metricsRows(run);
    expect(events.slice(1).map((e) => e.step)).toEqual(rows.map((row) => row.step));
    events.slice(1).forEach((event, i) => {
      const row = rows[i] as Record<string, number | null>;
      const expected = Object.entries(TAGS)
        .filter(([field]) => typeof row[field] === "number" && Number.isFinite(row[field]))
        .map(([field, tag]) => ({ tag, value: Math.fround(row[field] as number) }));
      expect(event.values).toEqual(expected);
      expect(event.wallTime).toBeGreaterThanOrEqual(Math.floor(t0));
      expect(event.wallTime).toBeLessThanOrEqual(Date.now() / 1000);
    });
  });

  it("a run killed after its checkpoint and resumed has each step once across its event files", async () => {
    const run = join(work, "killed");
    const args = trainArgs(run, 8, ["--set", "train.checkpoint_every=3"]);
    const first = startCli(args, { cwd: work });
    await first.waitFor("train step 5/8"); // step 5 is logged; the checkpoint is at step 3 (or 6 if it got there)
    first.child.kill("SIGKILL");
    await first.done;
    expectOk(await runCli(["train", "--resume", run], { cwd: work }));
    const steps = (await allEvents(run)).filter((e) => e.fileVersion === undefined).map((e) => e.step);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect((await eventFiles(run)).length).toBe(2);
    expect((await metricsRows(run)).map((row) => row.step)).toEqual(steps);
  });
});

// Answers tfew's looping query with one fixed H100 line per interval (a one-shot call gets one line).
const FAKE_NVIDIA_SMI = `#!/bin/sh
line="0, NVIDIA H100 80GB HBM3, 87, 1234, 81559, 250.3"
if [ "$3" != "-lms" ]; then echo "$line"; exit 0; fi
while :; do echo "$line" || exit 0; sleep 0.05; done
`;

describe("gpu/* tags", () => {
  it("carry the GPU readings and MFU of the steps that had one, as in metrics.jsonl", async () => {
    const bin = join(work, "fake-bin");
    await mkdir(bin);
    await writeFile(join(bin, "nvidia-smi"), FAKE_NVIDIA_SMI);
    await chmod(join(bin, "nvidia-smi"), 0o755);
    const run = join(work, "gpu");
    const args = [
      "train",
      "--backend",
      "wasm",
      "--out",
      run,
      "--set",
      "workers=1",
      "--set",
      "monitor.gpu=auto",
      "--set",
      "monitor.interval_ms=100",
      "--set",
      "train.steps=12",
    ];
    const saved = process.env.PATH;
    process.env.PATH = `${bin}:${saved ?? ""}`; // the spawned CLI inherits it
    try {
      expectOk(await runCli(args, { cwd: work }));
    } finally {
      process.env.PATH = saved;
    }
    const rows = (await metricsRows(run)).filter((row) => typeof row.gpu_util_pct === "number");
    expect(rows.length).toBeGreaterThan(0);
    const events = (await allEvents(run)).filter((e) => e.values.some((v) => v.tag.startsWith("gpu/")));
    expect(events.map((e) => e.step)).toEqual(rows.map((row) => row.step));
    events.forEach((e, i) => {
      const gpu = e.values.filter((v) => v.tag.startsWith("gpu/"));
      expect(gpu).toEqual([
        { tag: "gpu/util_pct", value: 87 },
        { tag: "gpu/mem_mib", value: 1234 },
        { tag: "gpu/mfu", value: Math.fround(rows[i]?.mfu as number) },
      ]);
    });
  });
});

describe("event files of tfew eval", () => {
  it("adds eval/accuracy, eval/macro_f1 and eval/f1/<label> at the run's last step: in the run folder, or in --out", async () => {
    const run = join(work, "evaluated");
    expectOk(await runCli(trainArgs(run, 4), { cwd: work }));
    const out = join(work, "eval-out");
    expectOk(await runCli(["eval", "--run", run, "--out", out, ...QUICK], { cwd: work }));
    const metrics = JSON.parse(await readFile(join(out, "metrics.json"), "utf8")) as {
      accuracy: number;
      macro_f1: number;
      per_class: { label: string; f1: number }[];
    };
    const expected = [
      { tag: "eval/accuracy", value: Math.fround(metrics.accuracy) },
      { tag: "eval/macro_f1", value: Math.fround(metrics.macro_f1) },
      ...metrics.per_class.map((c) => ({ tag: `eval/f1/${c.label}`, value: Math.fround(c.f1) })),
    ];
    expect((await allEvents(out)).filter((e) => e.fileVersion === undefined).map((e) => [e.step, e.values])).toEqual([
      [4, expected],
    ]);

    expectOk(await runCli(["eval", "--run", run, ...QUICK], { cwd: work })); // no --out: into the run's own events
    expectOk(await runCli(["eval", "--run", run, "--overwrite", ...QUICK], { cwd: work })); // again: replaces, never duplicates
    const evals = (await allEvents(run)).filter((e) => e.values.some((v) => v.tag.startsWith("eval/")));
    expect(evals.map((e) => [e.step, e.values])).toEqual([[4, expected]]);
  });
});
