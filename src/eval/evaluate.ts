// `tfew eval` and `tfew predict`: rank-classify a task's examples with an adapter (or zero-shot), then
// write metrics.json (accuracy, RAFT's macro-F1, per class, confusion; optionally predictions.csv with p(label | x))
// or a RAFT submission CSV (optionally with p(label | x) per label); and K-fold cross-validation on the labelled
// split (RAFT's test labels are private).
import { join } from "node:path";
import { disposeAdapter, type AdapterVectors } from "../adapters/trainable.js";
import type { RunConfig } from "../config/schema.js";
import { csvField } from "../data/table.js";
import type { Example, TaskData } from "../data/task-types.js";
import { softmaxOfNegated } from "../engine/choice-probabilities.js";
import { rankExamples } from "../engine/inference.js";
import type { RankResult } from "../engine/rank.js";
import { permutation } from "../engine/rng.js";
import { buildExamples, loadAdapter, type Workspace } from "../engine/workspace.js";
import { TfewError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { ensureRunDir, writeJson } from "../io/run-dir.js";
import { startGpuSampler } from "../monitor/gpu-sampler.js";
import { createProgress } from "../monitor/progress.js";
import { classificationMetrics, type ClassificationMetrics } from "./metrics.js";

export interface EvalContext {
  config: RunConfig;
  workspace: Workspace;
  task: TaskData;
  log: (line: string) => void;
  progressStream?: NodeJS.WriteStream;
}

/** The file `tfew eval --predictions` writes beside metrics.json. */
export const PREDICTIONS_FILE = "predictions.csv";

/** Rank classification of each example: its choice scores and predicted label index. */
export async function rankRows(
  ctx: EvalContext,
  adapter: AdapterVectors | null,
  rows: readonly Example[],
  label: string,
): Promise<RankResult> {
  const { examples, truncated } = buildExamples(ctx.task, rows, ctx.workspace.tokenizer, ctx.config);
  if (truncated > 0)
    ctx.log(
      `warning: ${truncated} of ${rows.length} prompts were cut to data.max_seq_len=${ctx.config.data.max_seq_len} tokens`,
    );
  const progress = createProgress({ total: examples.length, label, stream: ctx.progressStream });
  // GPU utilization and memory on the progress line while evaluating, as in training
  const gpu =
    ctx.config.monitor.gpu === "auto"
      ? await startGpuSampler({ intervalMs: ctx.config.monitor.interval_ms, onWarning: ctx.log })
      : null;
  const t0 = performance.now();
  const onBatch = (done: number) => {
    const g = gpu?.latest()[0];
    progress.update(done, {
      examples_per_s: done / ((performance.now() - t0) / 1000),
      ...(g?.utilizationPct != null ? { gpu_util_pct: g.utilizationPct } : {}),
      ...(g?.memoryUsedMiB != null ? { gpu_mem_mib: g.memoryUsedMiB } : {}),
    });
  };
  try {
    const { eval: e, workers } = ctx.config;
    const options = {
      lengthNorm: e.length_norm,
      choiceChunk: e.choice_chunk,
      batchSize: e.batch_size,
      workers,
      onProgress: onBatch,
      what: label,
    };
    return await rankExamples(ctx.workspace, adapter, examples, options);
  } finally {
    progress.stop();
    await gpu?.stop();
  }
}

function labelled(rows: readonly Example[], where: string): { rows: Example[]; gold: number[] } {
  const withLabels = rows.filter((r) => r.label !== undefined);
  if (withLabels.length === 0)
    throw new TfewError(
      `eval: the ${where} split has no labelled examples; evaluate --split train (RAFT test labels are private) or use tfew predict`,
    );
  return { rows: withLabels, gold: withLabels.map((r) => r.label as number) };
}

export interface EvaluateOptions {
  adapterDir: string | null;
  split: "train" | "test";
  outDir: string;
  /** also write predictions.csv (ID, gold, predicted, p per label) beside metrics.json */
  predictions?: boolean;
}

export async function evaluate(ctx: EvalContext, options: EvaluateOptions): Promise<ClassificationMetrics> {
  const { rows, gold } = labelled(options.split === "train" ? ctx.task.train : ctx.task.test, options.split);
  const adapter = await loadAdapter(ctx.workspace, options.adapterDir);
  try {
    const ranked = await rankRows(ctx, adapter, rows, "eval");
    const predicted = ranked.predictions;
    const metrics = classificationMetrics(gold, predicted, ctx.task.labelNames);
    const dir = await ensureRunDir(options.outDir);
    if (options.predictions === true) {
      const probs = ranked.scores.map((s) => softmaxOfNegated(s));
      await writeFileAtomic(
        join(dir, PREDICTIONS_FILE),
        predictionsCsv(rows, gold, predicted, probs, ctx.task.labelNames),
      );
    }
    await writeJson(dir, "metrics.json", {
      task: ctx.task.name,
      split: options.split,
      adapter: options.adapterDir,
      ...metrics,
    });
    return metrics;
  } finally {
    if (adapter) disposeAdapter(adapter);
  }
}

/** The header of the probability columns: `p(<label>)` per label, in label order. */
export const probabilityHeader = (labelNames: readonly string[]) => labelNames.map((n) => csvField(`p(${n})`));

/** p(label | x) as CSV fields: every digit of the float64 (String round-trips), so a row sums to 1 within 1e-15. */
const probabilityFields = (probs: readonly number[]) => probs.map((p) => String(p));

/**
 * RAFT submission: `ID,Label` with one row per example in input order, Label as the label name; with probs,
 * one `p(<label>)` column per label after them (p = softmax of the negated length-normalized scores).
 */
export function submissionCsv(
  rows: readonly Example[],
  predicted: readonly number[],
  labelNames: readonly string[],
  probs: readonly (readonly number[])[] | null = null,
): string {
  const lines = rows.map((r, i) =>
    [
      csvField(r.id),
      csvField(labelNames[predicted[i] as number] as string),
      ...(probs === null ? [] : probabilityFields(probs[i] as number[])),
    ].join(","),
  );
  const header = ["ID", "Label", ...(probs === null ? [] : probabilityHeader(labelNames))].join(",");
  return `${header}\n${lines.join("\n")}\n`;
}

/** predictions.csv: `ID,gold,predicted,p(<label>)...`, one row per evaluated example in input order. */
export function predictionsCsv(
  rows: readonly Example[],
  gold: readonly number[],
  predicted: readonly number[],
  probs: readonly (readonly number[])[],
  labelNames: readonly string[],
): string {
  const name = (k: number | undefined) => csvField(labelNames[k as number] as string);
  const lines = rows.map((r, i) =>
    [csvField(r.id), name(gold[i]), name(predicted[i]), ...probabilityFields(probs[i] as number[])].join(","),
  );
  return `${["ID", "gold", "predicted", ...probabilityHeader(labelNames)].join(",")}\n${lines.join("\n")}\n`;
}

export async function predict(
  ctx: EvalContext,
  options: { adapterDir: string | null; split: "train" | "test"; outFile: string; probabilities?: boolean },
): Promise<number> {
  const rows = options.split === "train" ? ctx.task.train : ctx.task.test;
  if (rows.length === 0)
    throw new TfewError(`predict: the ${options.split} split of ${ctx.config.data.path} has no rows`);
  const adapter = await loadAdapter(ctx.workspace, options.adapterDir);
  try {
    const ranked = await rankRows(ctx, adapter, rows, "predict");
    const probs = options.probabilities === true ? ranked.scores.map((s) => softmaxOfNegated(s)) : null;
    await writeFileAtomic(options.outFile, submissionCsv(rows, ranked.predictions, ctx.task.labelNames, probs));
    return rows.length;
  } finally {
    if (adapter) disposeAdapter(adapter);
  }
}

/** Splits indices 0..n-1 into k folds after a seeded shuffle (fold sizes differ by at most one). */
export function kFolds(n: number, k: number, seed: number): number[][] {
  if (!Number.isInteger(k) || k < 2 || k > n)
    throw new TfewError(`eval: --folds ${k} must be an integer from 2 to the number of labelled examples (${n})`);
  const order = permutation(n, seed ^ 0x5eed);
  return Array.from({ length: k }, (_, f) => order.filter((_, i) => i % k === f));
}

export interface FoldReport {
  folds: ClassificationMetrics[];
  mean: { accuracy: number; macro_f1: number };
  std: { accuracy: number; macro_f1: number };
}

/** Trains one fold's adapter on `task` into `runDir` and returns the adapter folder (the caller's trainer). */
export type TrainFold = (fold: { task: TaskData; runDir: string }) => Promise<string>;

/** K-fold cross-validation: for each fold, train a fresh adapter on the others with the run's config, evaluate the held fold. */
export async function crossValidate(
  ctx: EvalContext,
  options: { folds: number; outDir: string; trainFold: TrainFold; predictions?: boolean },
): Promise<FoldReport> {
  const { rows } = labelled(ctx.task.train, "train");
  const folds = kFolds(rows.length, options.folds, ctx.config.seed);
  const results: ClassificationMetrics[] = [];
  const outDir = await ensureRunDir(options.outDir);
  for (let f = 0; f < folds.length; f++) {
    const held = new Set(folds[f]);
    const trainRows = rows.filter((_, i) => !held.has(i));
    const testRows = rows.filter((_, i) => held.has(i));
    ctx.log(`fold ${f + 1}/${folds.length}: train on ${trainRows.length}, evaluate on ${testRows.length}`);
    const foldDir = join(outDir, `fold-${f + 1}`);
    const adapterDir = await options.trainFold({ task: { ...ctx.task, train: trainRows }, runDir: foldDir });
    const foldTask = { ...ctx.task, train: testRows };
    const fold = { adapterDir, split: "train" as const, outDir: foldDir, predictions: options.predictions ?? false };
    const metrics = await evaluate({ ...ctx, task: foldTask }, fold);
    results.push(metrics);
  }
  const stat = (key: "accuracy" | "macro_f1") => {
    const values = results.map((r) => r[key]);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    return { mean, std: Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length) };
  };
  const acc = stat("accuracy");
  const f1 = stat("macro_f1");
  const report: FoldReport = {
    folds: results,
    mean: { accuracy: acc.mean, macro_f1: f1.mean },
    std: { accuracy: acc.std, macro_f1: f1.std },
  };
  await writeJson(outDir, "metrics.json", {
    task: ctx.task.name,
    folds: options.folds,
    mean: report.mean,
    std: report.std,
    per_fold: results,
  });
  return report;
}
