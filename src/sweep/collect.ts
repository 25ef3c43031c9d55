// `tfew sweep collect`: DIR/results.csv (one row per cell: grid values, status, steps, final loss, eval scores,
// error, run folder) and DIR/results.md (per task: mean ± std over seeds; the mean over tasks, as T-Few's RAFT table).
import { isAbsolute, join, relative } from "node:path";
import { csvField } from "../data/table.js";
import { writeFileAtomic } from "../io/atomic.js";
import { describeOverrides } from "./cells.js";
import { readCellResults, type CellResults } from "./results.js";
import { cellState, type CellStatus } from "./state.js";
import { cellPaths, readPlan, type SweepPlan } from "./sweep-dir.js";

export interface ResultRow extends CellResults {
  index: number;
  overrides: Record<string, unknown>;
  task: string;
  status: CellStatus;
  error: string | null; // failed: the stage and last error line
  log: string | null;
  run_dir: string; // relative to the sweep folder
}

export async function collectRows(sweepDir: string, plan: SweepPlan): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const cell of plan.cells) {
    const paths = cellPaths(sweepDir, cell);
    const state = await cellState(sweepDir, cell);
    const results = await readCellResults(paths);
    const failed = state.status === "failed";
    rows.push({
      index: cell.index,
      overrides: cell.overrides,
      task: cell.task,
      status: state.status,
      ...results,
      error: failed ? state.detail : null,
      log: failed ? state.log : null,
      run_dir: relative(sweepDir, paths.run),
    });
  }
  return rows;
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : JSON.stringify(value);
}

export function resultsCsv(plan: SweepPlan, rows: readonly ResultRow[]): string {
  const header = [
    "index",
    ...plan.grid_keys,
    "status",
    "steps",
    "final_loss",
    "accuracy",
    "macro_f1",
    "error",
    "run_dir",
  ];
  const lines = rows.map((r) =>
    [
      r.index,
      ...plan.grid_keys.map((k) => r.overrides[k]),
      r.status,
      r.steps,
      r.final_loss,
      r.accuracy,
      r.macro_f1,
      r.error,
      r.run_dir,
    ]
      .map((v) => csvField(cellText(v)))
      .join(","),
  );
  return `${[header.join(","), ...lines].join("\n")}\n`;
}

/** Mean and sample standard deviation (n − 1; 0 for one value). */
export function meanStd(values: readonly number[]): { mean: number; std: number } | null {
  if (values.length === 0) return null;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
}

const fmt = (s: { mean: number; std: number } | null, digits: number) =>
  s === null ? "–" : `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}`;
const mean = (values: readonly number[]) => meanStd(values)?.mean ?? null;
const numbers = (rows: readonly ResultRow[], key: "final_loss" | "accuracy" | "macro_f1") =>
  rows.map((r) => r[key]).filter((v): v is number => typeof v === "number");

/** Groups the complete rows by the grid values other than seed and data.path ("setting"), then by task. */
function groupRows(plan: SweepPlan, rows: readonly ResultRow[]): Map<string, Map<string, ResultRow[]>> {
  const settingKeys = plan.grid_keys.filter((k) => k !== "seed" && k !== "data.path");
  const groups = new Map<string, Map<string, ResultRow[]>>();
  for (const row of rows.filter((r) => r.status === "complete")) {
    const setting = describeOverrides(Object.fromEntries(settingKeys.map((k) => [k, row.overrides[k]])));
    const tasks = groups.get(setting) ?? new Map<string, ResultRow[]>();
    tasks.set(row.task, [...(tasks.get(row.task) ?? []), row]);
    groups.set(setting, tasks);
  }
  return groups;
}

/** A task path inside the sweep's working folder is shown relative to it (data/demo-task, not /home/.../data/demo-task). */
function taskName(task: string, cwd: string): string {
  const inside = relative(cwd, task);
  return isAbsolute(task) && inside !== "" && !inside.startsWith("..") && !isAbsolute(inside) ? inside : task;
}

function settingTable(tasks: Map<string, ResultRow[]>, options: { evaluated: boolean; cwd: string }): string[] {
  const { evaluated } = options;
  const head = evaluated
    ? "| task | n | steps | final loss | accuracy | macro-F1 |\n|---|---|---|---|---|---|"
    : "| task | n | steps | final loss |\n|---|---|---|---|";
  const lines = [head];
  const taskMeans: { loss: number | null; accuracy: number | null; f1: number | null }[] = [];
  for (const [task, rows] of tasks) {
    const steps = [...new Set(rows.map((r) => r.steps ?? "?"))].join("/");
    const loss = meanStd(numbers(rows, "final_loss"));
    const accuracy = meanStd(numbers(rows, "accuracy"));
    const f1 = meanStd(numbers(rows, "macro_f1"));
    taskMeans.push({ loss: loss?.mean ?? null, accuracy: accuracy?.mean ?? null, f1: f1?.mean ?? null });
    const cells = [
      taskName(task, options.cwd),
      String(rows.length),
      steps,
      fmt(loss, 4),
      ...(evaluated ? [fmt(accuracy, 3), fmt(f1, 3)] : []),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  const over = (key: "loss" | "accuracy" | "f1", digits: number) => {
    const m = mean(taskMeans.map((t) => t[key]).filter((v): v is number => v !== null));
    return m === null ? "–" : m.toFixed(digits);
  };
  const total = [
    `**mean over ${tasks.size} task${tasks.size === 1 ? "" : "s"}**`,
    "",
    "",
    over("loss", 4),
    ...(evaluated ? [over("accuracy", 3), over("f1", 3)] : []),
  ];
  lines.push(`| ${total.join(" | ")} |`);
  return lines;
}

export function resultsMarkdown(plan: SweepPlan, rows: readonly ResultRow[]): string {
  const count = (s: CellStatus) => rows.filter((r) => r.status === s).length;
  const evaluated = plan.eval !== null;
  const how =
    plan.eval === null
      ? "no eval"
      : plan.eval.folds !== null
        ? `eval: ${plan.eval.folds}-fold cross-validation`
        : `eval: split ${plan.eval.split}`;
  const lines = [
    `# Sweep results: ${plan.sweep_file}`,
    "",
    `${rows.length} cells: ${count("complete")} complete, ${count("failed")} failed, ${count("running")} running, ${count("pending")} pending (${how}).`,
    "Per task: mean ± sample standard deviation (n − 1) over its complete cells (the seeds); n counts them.",
  ];
  for (const [setting, tasks] of groupRows(plan, rows)) {
    lines.push(
      "",
      ...(setting === "" ? [] : [`## ${setting}`, ""]),
      ...settingTable(tasks, { evaluated, cwd: plan.cwd }),
    );
  }
  const failed = rows.filter((r) => r.status === "failed");
  if (failed.length > 0) {
    lines.push("", "## Failed cells", "");
    for (const r of failed)
      lines.push(
        `- cell ${r.index} (${describeOverrides(r.overrides)}): ${r.error ?? "?"}${r.log === null ? "" : ` (log: ${r.log})`}`,
      );
  }
  return `${lines.join("\n")}\n`;
}

/** Writes DIR/results.csv and DIR/results.md; returns the rows and the two paths. */
export async function collectSweep(sweepDir: string): Promise<{ rows: ResultRow[]; csv: string; md: string }> {
  const plan = await readPlan(sweepDir);
  const rows = await collectRows(sweepDir, plan);
  const csv = join(sweepDir, "results.csv");
  const md = join(sweepDir, "results.md");
  await writeFileAtomic(csv, resultsCsv(plan, rows));
  await writeFileAtomic(md, resultsMarkdown(plan, rows));
  return { rows, csv, md };
}
