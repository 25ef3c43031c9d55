// `tfew eval` and `tfew predict` on a generative task (data.target_field): each example's prompt (the task's
// template) is decoded with the config's generate: settings (greedy by default); eval scores the generations
// against the targets (task-metrics.ts) into metrics.json, predict writes them as a CSV (ID, generation).
import { join } from "node:path";
import { disposeAdapter } from "../adapters/trainable.js";
import type { RunConfig } from "../config/schema.js";
import { csvField } from "../data/table.js";
import type { Example, TaskData } from "../data/task-types.js";
import { buildExamples, loadAdapter, type Workspace } from "../engine/workspace.js";
import { TfewError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { ensureRunDir, writeJson } from "../io/run-dir.js";
import { generate } from "./generate.js";
import { generateSettings, textDecoder } from "./settings.js";
import { generationMetrics, type GenerationMetrics } from "./task-metrics.js";

/** What eval / predict load for one task (the same fields as eval's EvalContext). */
export interface GenerativeContext {
  config: RunConfig;
  workspace: Workspace;
  task: TaskData;
  log: (line: string) => void;
}

/** The file `tfew eval --predictions` writes beside metrics.json (as for classification). */
const PREDICTIONS_FILE = "predictions.csv";

/** The best generation of each row, as text, with the config's generate: settings. */
export async function generateRows(
  ctx: GenerativeContext,
  adapterDir: string | null,
  rows: readonly Example[],
): Promise<string[]> {
  const settings = generateSettings(ctx.config); // a bad generate: setting fails before the adapter loads
  const { tokenizer, model, backend } = ctx.workspace;
  const { examples, truncated } = buildExamples(ctx.task, rows, tokenizer, ctx.config);
  if (truncated > 0)
    ctx.log(
      `warning: ${truncated} of ${rows.length} prompts were cut to data.max_seq_len=${ctx.config.data.max_seq_len}`,
    );
  const adapter = await loadAdapter(ctx.workspace, adapterDir);
  try {
    const decode = textDecoder(tokenizer);
    const prompts = examples.map((e) => e.inputIds);
    const { generations, stats } = await generate(model, adapter, prompts, settings, { decode });
    ctx.log(
      `generate: ${stats.inputs} inputs, ${stats.newTokens} tokens in ${stats.seconds.toFixed(2)} s ` +
        `(${settings.strategy} on ${backend.name})`,
    );
    return generations.map((g) => decode(g.candidates[0]?.ids ?? []));
  } finally {
    if (adapter) disposeAdapter(adapter);
  }
}

export interface GenerativeEvalOptions {
  adapterDir: string | null;
  split: "train" | "test";
  outDir: string;
  /** also write predictions.csv (ID, target, generation) beside metrics.json */
  predictions?: boolean;
}

/** Generates for the split's rows that have a target and writes metrics.json (exact match, chrF, BLEU, ROUGE-L). */
export async function evaluateGenerative(
  ctx: GenerativeContext,
  options: GenerativeEvalOptions,
): Promise<GenerationMetrics> {
  const all = options.split === "train" ? ctx.task.train : ctx.task.test;
  const rows = all.filter((r) => r.target !== undefined);
  if (rows.length === 0)
    throw new TfewError(
      `eval: the ${options.split} split has no rows with a target (data.target_field "${ctx.task.targetField}"); ` +
        `evaluate --split train or use tfew predict`,
    );
  const generations = await generateRows(ctx, options.adapterDir, rows);
  const targets = rows.map((r) => r.target as string);
  const metrics = generationMetrics(targets, generations);
  const dir = await ensureRunDir(options.outDir);
  if (options.predictions === true) {
    const lines = rows.map((r, i) => [r.id, targets[i] as string, generations[i] as string].map(csvField).join(","));
    await writeFileAtomic(join(dir, PREDICTIONS_FILE), `ID,target,generation\n${lines.join("\n")}\n`);
  }
  const g = ctx.config.generate;
  await writeJson(dir, "metrics.json", {
    task: ctx.task.name,
    split: options.split,
    adapter: options.adapterDir,
    target_field: ctx.task.targetField,
    strategy: g.strategy,
    ...metrics,
  });
  return metrics;
}

/** Generates for every row of the split and writes `ID,generation` (one row per example, input order). */
export async function predictGenerative(
  ctx: GenerativeContext,
  options: { adapterDir: string | null; split: "train" | "test"; outFile: string },
): Promise<number> {
  const rows = options.split === "train" ? ctx.task.train : ctx.task.test;
  if (rows.length === 0)
    throw new TfewError(`predict: the ${options.split} split of ${ctx.config.data.path} has no rows`);
  const generations = await generateRows(ctx, options.adapterDir, rows);
  const lines = rows.map((r, i) => `${csvField(r.id)},${csvField(generations[i] as string)}`);
  await writeFileAtomic(options.outFile, `ID,generation\n${lines.join("\n")}\n`);
  return rows.length;
}

/** The one line eval prints for a generative task. */
export function generationSummary(m: GenerationMetrics): string {
  const f = (v: number, digits: number) => v.toFixed(digits);
  return `exact match ${f(m.exact_match, 4)}, chrF ${f(m.chrf, 2)}, BLEU ${f(m.bleu, 2)}, ROUGE-L ${f(m.rouge_l, 4)}`;
}
