// What a cell produced, read from the files tfew writes: run/summary.json (steps, losses, stopped_by) and
// eval/metrics.json (accuracy and macro-F1 of one split, or mean over folds with --folds).
import { join } from "node:path";
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

export async function evalScores(paths: CellPaths): Promise<{ accuracy: number; macro_f1: number } | null> {
  const m = await readJsonOrNull<EvalMetricsFields>(join(paths.eval, "metrics.json"));
  const accuracy = m?.mean?.accuracy ?? m?.accuracy;
  const macroF1 = m?.mean?.macro_f1 ?? m?.macro_f1;
  return typeof accuracy === "number" && typeof macroF1 === "number" ? { accuracy, macro_f1: macroF1 } : null;
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
