import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadInputs, parseMetricsLog } from "./load.js";

const root = mkdtempSync(join(tmpdir(), "tfew-report-load-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const evalJson = (accuracy: number) =>
  JSON.stringify({
    task: "demo",
    split: "train",
    n: 4,
    accuracy,
    macro_f1: accuracy / 2,
    per_class: [
      { label: "a", precision: 1, recall: 1, f1: 1, support: 2 },
      { label: "b", precision: 0, recall: 0, f1: 0, support: 2 },
    ],
    confusion: [
      [2, 0],
      [2, 0],
    ],
  });

/** A run folder with `steps` rows (loss = 10 − step) and optionally config / summary / eval files. */
function makeRun(
  dir: string,
  options: { steps: number; task?: string; seed?: number; evalIn?: string; accuracy?: number },
): void {
  mkdirSync(dir, { recursive: true });
  const rows = Array.from({ length: options.steps }, (_, i) =>
    JSON.stringify({ step: i + 1, loss: 10 - i, lr: 0.01, grad_norm: null }),
  );
  writeFileSync(join(dir, "metrics.jsonl"), `${rows.join("\n")}\n`);
  if (options.task !== undefined)
    writeFileSync(join(dir, "config.resolved.yaml"), `seed: ${options.seed ?? 42}\ndata:\n  path: ${options.task}\n`);
  writeFileSync(join(dir, "summary.json"), JSON.stringify({ steps: options.steps, final_loss: 11 - options.steps }));
  if (options.evalIn !== undefined) {
    mkdirSync(options.evalIn, { recursive: true });
    writeFileSync(join(options.evalIn, "metrics.json"), evalJson(options.accuracy ?? 0.5));
  }
}

describe("parseMetricsLog", () => {
  it("keeps whole rows with a numeric step and skips a cut-off last line", () => {
    expect(parseMetricsLog('{"step":1,"loss":2,"note":"x"}\n{"step":2,"loss":null}\n{"ste')).toEqual([
      { step: 1, loss: 2 },
      { step: 2, loss: null },
    ]);
  });
});

describe("loadInputs", () => {
  it("reads a run folder: rows, summary, config task and seed, and eval metrics in it or a sub-folder", () => {
    const dir = join(root, "run");
    makeRun(dir, { steps: 3, task: "data/demo-task", seed: 7, evalIn: join(dir, "eval"), accuracy: 0.75 });
    const { runs, groups } = loadInputs([dir]);
    expect(groups).toEqual([]);
    expect(runs).toHaveLength(1);
    const run = runs[0];
    expect(run?.rows.map((r) => r.step)).toEqual([1, 2, 3]);
    expect(run?.summary).toEqual({ steps: 3, final_loss: 8 });
    expect([run?.task, run?.seed]).toEqual(["data/demo-task", 7]);
    expect(run?.evals.map((e) => [e.accuracy, e.per_class.map((c) => c.label), e.confusion])).toEqual([
      [
        0.75,
        ["a", "b"],
        [
          [2, 0],
          [2, 0],
        ],
      ],
    ]);
  });

  it("reads a sweep from sweep.json's cells[].run_dir, names cells by their overrides and groups them by data.path", () => {
    const dir = join(root, "sweep");
    const cells = [0, 1, 2].map((i) => ({
      index: i,
      run_dir: `cells/${i}-c/run`,
      overrides: { "data.path": i < 2 ? "raft:a" : "raft:b", seed: i },
    }));
    for (const c of cells)
      makeRun(join(dir, c.run_dir), {
        steps: 4,
        evalIn: join(dir, `cells/${c.index}-c/eval`),
        accuracy: 0.25 * (c.index + 1),
      });
    cells.push({ index: 3, run_dir: "cells/3-c/run", overrides: { "data.path": "raft:b", seed: 3 } }); // not started: skipped
    writeFileSync(join(dir, "sweep.json"), JSON.stringify({ cells }));
    const { groups } = loadInputs([dir]);
    expect(groups).toHaveLength(1);
    expect(groups[0]?.kind).toBe("sweep");
    expect(groups[0]?.cells.map((c) => [c.index, c.label, c.task, c.run.evals[0]?.accuracy])).toEqual([
      [0, "#0 data.path=raft:a, seed=0", "raft:a", 0.25],
      [1, "#1 data.path=raft:a, seed=1", "raft:a", 0.5],
      [2, "#2 data.path=raft:b, seed=2", "raft:b", 0.75],
    ]);
  });

  it("reads tfew sweep's layout: cells[].dir = cells/<i>-<slug> holding run/ and eval/, cells[].task", () => {
    const dir = join(root, "sweep-tfew");
    const cells = [0, 1].map((i) => ({
      index: i,
      slug: `s${i}`,
      dir: `cells/${i}-s${i}`,
      task: "raft:x",
      seed: i,
      overrides: { seed: i },
    }));
    for (const c of cells)
      makeRun(join(dir, c.dir, "run"), {
        steps: 3,
        task: "ignored",
        evalIn: join(dir, c.dir, "eval"),
        accuracy: 0.5 + 0.25 * c.index,
      });
    writeFileSync(join(dir, "sweep.json"), JSON.stringify({ tfew_sweep: 1, grid_keys: ["seed"], cells }));
    const group = loadInputs([dir]).groups[0];
    expect(group?.cells.map((c) => [c.label, c.task, c.run.rows.length, c.run.evals.map((e) => e.accuracy)])).toEqual([
      ["#0 seed=0", "raft:x", 3, [0.5]],
      ["#1 seed=1", "raft:x", 3, [0.75]],
    ]);
  });

  it("reads a sweep folder without cells in sweep.json from DIR/cells/*, and any folder of run folders", () => {
    const sweep = join(root, "sweep-bare");
    makeRun(join(sweep, "cells", "0-x"), { steps: 2, task: "t" });
    writeFileSync(join(sweep, "sweep.json"), "{}");
    expect(loadInputs([sweep]).groups[0]?.cells.map((c) => [c.label, c.task])).toEqual([["cells/0-x", "t"]]);
    const folder = join(root, "runs");
    makeRun(join(folder, "a"), { steps: 2 });
    makeRun(join(folder, "b"), { steps: 3 });
    const group = loadInputs([folder]).groups[0];
    expect([group?.kind, group?.cells.map((c) => [c.label, c.task, c.run.rows.length])]).toEqual([
      "folder",
      [
        ["a", "all", 2],
        ["b", "all", 3],
      ],
    ]);
  });

  it("reads an eval-only folder, and names the path in one line when a folder holds nothing to draw", () => {
    const evalDir = join(root, "eval-only");
    mkdirSync(evalDir);
    writeFileSync(join(evalDir, "metrics.json"), evalJson(1));
    expect(loadInputs([evalDir]).evals.map((e) => e.accuracy)).toEqual([1]);
    const empty = join(root, "empty");
    mkdirSync(empty);
    expect(() => loadInputs([empty])).toThrow(
      /^report: .*empty has no metrics\.jsonl, sweep\.json, run folders or eval metrics\.json; give a folder/,
    );
    expect(() => loadInputs([join(root, "missing")])).toThrow(/^report: .*missing is not a folder;/);
    expect(() => loadInputs([])).toThrow(/give at least one run or sweep folder/);
  });
});
