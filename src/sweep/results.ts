// What a cell produced, read from the files tfew writes: run/summary.json (steps, losses, stopped_by) and
// eval/metrics.json (accuracy and macro-F1 of one split, or mean over folds with --folds); a multi-task cell
// (data.tasks) has eval/<task>/metrics.json per task and scores the unweighted mean over its tasks.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readConfigFile } from "../config/load.js";
import { finishedSummary as finishedRunSummary, readJsonOrNull, runPaths } from "../io/run-dir.js";
import type { CellPaths } from "./sweep-dir.js";

/** The fields of tfew train's summary.json that a sweep reads. */
export interface TrainSummaryFields {
  steps: number;
  first_loss: number | null;
  final_loss: number | null;
  stopped_by: string | null;
}

/** tfew eval's metrics.json: one split ({accuracy, macro_f1}) or K folds ({mean: {accuracy, macro_f1}}). */
interface EvalMetricsFields {
  accuracy?: number;
  macro_f1?: number;
  mean?: { accuracy?: number; macro_f1?: number };
}

export interface CellResults {
  steps: number | null;
  first_loss: number | null;
  final_loss: number | null;
  accuracy: number | null;
  macro_f1: number | null;
}

/** The run's summary when training finished (all steps, its adapter written in any layout), else null. */
export async function finishedSummary(paths: CellPaths): Promise<TrainSummaryFields | null> {
  return finishedRunSummary<TrainSummaryFields>(paths.run);
}

type Scores = { accuracy: number; macro_f1: number };

/** The cell's eval scores; null until every metrics.json it needs is there (one, or one per task). */
export async function evalScores(paths: CellPaths): Promise<Scores | null> {
  const tasks = runTasks(paths);
  if (tasks === null) return metricsScores(join(paths.eval, "metrics.json"));
  const each = await Promise.all(tasks.map((task) => metricsScores(join(paths.eval, task, "metrics.json"))));
  if (each.some((s) => s === null)) return null; // a task not evaluated yet (or an eval killed half-way)
  const mean = (key: keyof Scores) => each.reduce((sum, s) => sum + (s as Scores)[key], 0) / each.length;
  return { accuracy: mean("accuracy"), macro_f1: mean("macro_f1") };
}

async function metricsScores(file: string): Promise<Scores | null> {
  const m = await readJsonOrNull<EvalMetricsFields>(file);
  const accuracy = m?.mean?.accuracy ?? m?.accuracy;
  const macroF1 = m?.mean?.macro_f1 ?? m?.macro_f1;
  return typeof accuracy === "number" && typeof macroF1 === "number" ? { accuracy, macro_f1: macroF1 } : null;
}

/** The task names of a multi-task run (its config.resolved.yaml's data.tasks), else null. */
function runTasks(paths: CellPaths): string[] | null {
  const file = runPaths(paths.run).config;
  if (!existsSync(file)) return null;
  const tasks = (readConfigFile(file) as { data?: { tasks?: unknown } }).data?.tasks;
  if (!Array.isArray(tasks) || tasks.length === 0) return null;
  return tasks.map((t) => String((t as { name?: unknown }).name));
}

/** Whatever the cell folder holds so far (a summary of a stopped run still gives its steps and loss). */
export async function readCellResults(paths: CellPaths): Promise<CellResults> {
  const summary = await readJsonOrNull<TrainSummaryFields>(runPaths(paths.run).summary);
  const scores = await evalScores(paths);
  return {
    steps: summary?.steps ?? null,
    first_loss: summary?.first_loss ?? null,
    final_loss: summary?.final_loss ?? null,
    accuracy: scores?.accuracy ?? null,
    macro_f1: scores?.macro_f1 ?? null,
  };
}
