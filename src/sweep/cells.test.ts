// Cell expansion (product order, slugs, folders) and each cell's config resolved through the run-config loader.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TfewError } from "../errors.js";
import { cellSlug, expandGrid, PACKAGE_ROOT, resolveCells } from "./cells.js";
import { parseSweepText } from "./schema.js";

const work = mkdtempSync(join(tmpdir(), "tfew-cells-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cellsOf(text: string, warn?: (line: string) => void) {
  return resolveCells(
    { file: "s.yaml", sha256: "0".repeat(64), sweep: parseSweepText(text, "s.yaml") },
    { cwd: work, warn },
  );
}

function errorOf(text: string): string {
  try {
    cellsOf(text);
  } catch (error) {
    expect(error).toBeInstanceOf(TfewError);
    return (error as Error).message;
  }
  throw new Error("expected a TfewError");
}

describe("expandGrid", () => {
  it("is the product in file order, the last key fastest", () => {
    expect(expandGrid({ a: [1, 2], b: ["x", "y", "z"] })).toEqual([
      { a: 1, b: "x" },
      { a: 1, b: "y" },
      { a: 1, b: "z" },
      { a: 2, b: "x" },
      { a: 2, b: "y" },
      { a: 2, b: "z" },
    ]);
    expect(expandGrid({ seed: [7] })).toEqual([{ seed: 7 }]);
  });
});

describe("cellSlug", () => {
  it("uses the last key segment and a folder-safe value", () => {
    expect(cellSlug({ "data.path": "raft:ade_corpus_v2", seed: 1 })).toBe("path-raft-ade_corpus_v2_seed-1");
    expect(cellSlug({ "data.path": "/home/me/tasks/my task/", "train.lr": 0.003 })).toBe("path-my-task_lr-0.003");
    expect(cellSlug({ "adapter.target_modules": ["k", "v", "wo"] })).toBe("target_modules-k+v+wo");
  });

  it("falls back to the full key when two keys end alike", () => {
    expect(cellSlug({ "train.length_norm": 1, "eval.length_norm": 0 })).toBe("train-length_norm-1_eval-length_norm-0");
  });

  it("stays at most 80 characters", () => {
    expect(cellSlug({ "data.instruction": "x".repeat(200) }).length).toBeLessThanOrEqual(80);
  });
});

describe("resolveCells", () => {
  it("resolves each cell's config: demo base, then set, then the grid", () => {
    const cells = cellsOf("set: {train.steps: 3}\ngrid:\n  train.lr: [0.01, 0.02]\n  seed: [1, 2, 3, 4, 5, 6]\n");
    expect(cells).toHaveLength(12);
    const last = cells[11];
    expect(last?.dir).toBe("cells/11-lr-0.02_seed-6");
    expect(cells[0]?.dir).toBe("cells/00-lr-0.01_seed-1"); // padded so folders sort
    expect(last?.config.train.steps).toBe(3);
    expect(last?.config.train.lr).toBe(0.02);
    expect(last?.config.seed).toBe(6);
    expect(last?.config.model).toBe(join(PACKAGE_ROOT, "data", "demo-model"));
    expect(last?.task).toBe(join(PACKAGE_ROOT, "data", "demo-task"));
  });

  it("layers base files relative to the working folder, and keeps strings as strings", () => {
    writeFileSync(join(work, "b1.yaml"), "train: {steps: 7, batch_size: 4}\nrevision: main\n");
    writeFileSync(join(work, "b2.yaml"), "train: {steps: 9}\n");
    const cells = cellsOf("base: [b1.yaml, b2.yaml]\ngrid:\n  revision: ['1234', 'v2']\n");
    expect(cells.map((c) => c.config.revision)).toEqual(["1234", "v2"]);
    expect(cells[0]?.config.train.steps).toBe(9);
    expect(cells[0]?.config.train.batch_size).toBe(4);
    expect(cells[0]?.config.model).toBe("data/demo-model"); // the schema default: base files replace the demo
  });

  it("names an unknown grid key (with a suggestion) and an unknown set key", () => {
    expect(errorOf("grid: {train.stpes: [1]}\n")).toBe(
      'grid: unknown key "train.stpes" in s.yaml; allowed keys in train: steps, batch_size, micro_batch_size, lr, optimizer, weight_decay, warmup_ratio, max_grad_norm, length_norm, ul_weight, ln_weight, checkpoint_every, log_every, skip_nonfinite; did you mean "steps"?',
    );
    expect(errorOf("set: {trian.steps: 1}\ngrid: {seed: [1]}\n")).toContain(
      'set: unknown key "trian.steps" in s.yaml; allowed top-level keys',
    );
  });

  it("names the cell and the key of a value the run-config schema refuses", () => {
    const m = errorOf("grid:\n  seed: [1, 2]\n  train.steps: [5, -1]\n");
    expect(m).toContain("s.yaml cell 1 (seed=1, train.steps=-1):");
    expect(m).toContain("train.steps");
    expect(m).toContain("must be a positive integer, got -1");
  });

  it("reads the deprecated train.workers (set, grid, base files) as workers, warning once per source", () => {
    const warnings: string[] = [];
    writeFileSync(join(work, "old-base.yaml"), "train: {steps: 2, workers: 2}\n");
    const cells = cellsOf("base: [old-base.yaml]\ngrid:\n  train.workers: [1, 3]\n  seed: [1, 2]\n", (line) =>
      warnings.push(line),
    );
    expect(cells.map((c) => c.config.workers)).toEqual([1, 1, 3, 3]);
    expect(cells.map((c) => c.dir)).toEqual([
      "cells/0-workers-1_seed-1",
      "cells/1-workers-1_seed-2",
      "cells/2-workers-3_seed-1",
      "cells/3-workers-3_seed-2",
    ]);
    const why = "is deprecated: it is now the key workers (it also sets the workers of eval, audit and Fisher merging)";
    expect(warnings).toEqual([
      `warning: train.workers (grid of s.yaml) ${why}; write workers: [1,3]`,
      `warning: train.workers (${join(work, "old-base.yaml")}) ${why}; write workers: 2`,
    ]);
    const fromSet: string[] = [];
    expect(cellsOf("set: {train.workers: 1}\ngrid: {seed: [1]}\n", (l) => fromSet.push(l))[0]?.config.workers).toBe(1);
    expect(fromSet).toEqual([`warning: train.workers (set of s.yaml) ${why}; write workers: 1`]);
    expect(errorOf("set: {workers: 1}\ngrid: {train.workers: [2]}\n")).toBe(
      "grid: train.workers and workers are both given in s.yaml; train.workers is the old name of workers: keep only workers",
    );
  });

  it("names a missing base file", () => {
    expect(errorOf("base: [nope.yaml]\ngrid: {seed: [1]}\n")).toContain(
      `config file not found: ${join(work, "nope.yaml")}`,
    );
  });
});
