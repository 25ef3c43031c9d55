import { describe, expect, it } from "vitest";
import type { GroupData, MetricsRow, RunData } from "./load.js";
import { renderPage, taskBands } from "./page.js";

function run(name: string, losses: number[], extra: Partial<RunData> = {}): RunData {
  const rows = losses.map((loss, i) => ({ step: i + 1, loss, lr: 0.01 * (i + 1) }) as MetricsRow);
  return {
    dir: `/x/${name}`,
    name,
    rows,
    summary: { first_loss: losses[0], final_loss: losses.at(-1) },
    evals: [],
    task: null,
    seed: null,
    ...extra,
  };
}

const charts = (html: string) => [...html.matchAll(/data-chart="([^"]+)"/g)].map((m) => m[1]);

describe("renderPage", () => {
  it("draws a chart per logged field only (no GPU charts without GPU fields), self-contained", () => {
    const html = renderPage(
      { runs: [run("a", [3, 2, 1]), run("b", [4, 3])], groups: [], evals: [] },
      { generatedAt: new Date(0) },
    );
    expect(charts(html)).toEqual(["train/loss", "train/lr"]);
    expect(html).toContain('<meta name="generator" content="tfew report">');
    expect(html).not.toMatch(/<script|<link|src=|href=|@import|url\(/); // nothing to fetch
    expect(html).toContain('data-runs="2"');
  });

  it("adds GPU charts when runs logged GPU fields, and an eval section per eval result", () => {
    const gpu = run("g", [2, 1]);
    gpu.rows.forEach((r, i) => Object.assign(r, { gpu_util_pct: 80 + i, gpu_mem_mib: 1000, mfu: 0.3 }));
    gpu.evals.push({
      file: "/x/g/metrics.json",
      task: "t",
      split: "train",
      n: 4,
      accuracy: 0.5,
      macro_f1: 0.4,
      per_class: [
        { label: "a", f1: 0.8 },
        { label: "b", f1: 0 },
      ],
      confusion: [
        [2, 0],
        [2, 0],
      ],
    });
    const html = renderPage({ runs: [gpu], groups: [], evals: [] }, { generatedAt: new Date(0) });
    expect(charts(html)).toEqual([
      "train/loss",
      "train/lr",
      "gpu/util_pct",
      "gpu/mem_mib",
      "gpu/mfu",
      "eval/confusion",
      "eval/f1",
    ]);
    expect(html).toContain("accuracy 0.5000, macro-F1 0.4000");
  });
});

describe("taskBands", () => {
  it("gives per task the mean ± std over its cells at the steps all of them logged", () => {
    const group: GroupData = {
      dir: "/s",
      name: "s",
      kind: "sweep",
      cells: [
        { index: 0, label: "0", task: "A", run: run("0", [4, 2, 1]) },
        { index: 1, label: "1", task: "A", run: run("1", [2, 2]) },
        { index: 2, label: "2", task: "B", run: run("2", [9]) },
      ],
    };
    const bands = taskBands(group, "loss", () => "#000");
    expect(bands.map((b) => [b.name, b.xs, b.mean, b.std])).toEqual([
      ["A (2 runs)", [1, 2], [3, 2], [1, 0]],
      ["B (1 run)", [1], [9], [0]],
    ]);
  });
});
