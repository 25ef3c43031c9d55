// `tfew eval`: rank-classify a labelled split and write metrics.json (accuracy, macro-F1, confusion), or on a
// generative task (data.target_field) generate and score (exact match, chrF, BLEU, ROUGE-L); with --folds K,
// K-fold cross-validation; with --run of a multi-task run, every task (or --task) on its adapter.
import { readdirSync, type Dirent } from "node:fs";
import { join } from "node:path";
import type { RunConfig } from "../config/schema.js";
import type { TaskData } from "../data/task-types.js";
import type { EvalContext } from "../eval/evaluate.js";
import { isTfewError, TfewError } from "../errors.js";
import { checkOutputs, type InputSource, type OutputTarget } from "../io/outputs.js";
import { readJson, runPaths } from "../io/run-dir.js";
import { configOptions, dataOption, defineCommand, flagValue, inputPaths, sourceOptions } from "./command.js";
import { evalRunTasks, selectTasks } from "./eval-tasks.js";
import type { CommandContext } from "./io.js";
import { resolveSources, type SourceArgs } from "./sources.js";

export const evalOptions = {
  ...configOptions,
  ...sourceOptions,
  ...dataOption,
  overwrite: {
    type: "boolean",
    default: false,
    describe: "replace an existing output (metrics.json, predictions file)",
  },
} as const;

/** eval / predict: the config and adapter from --run / --adapter / --model, --data and --backend as values. */
export async function evalSources(
  ctx: CommandContext,
  command: string,
  args: SourceArgs & { data?: string; backend?: string },
) {
  if (args.run === undefined && args.adapter === undefined && args.model === undefined)
    throw new TfewError(`${command}: give one of --run DIR, --adapter DIR or --model M`);
  const flags = [...flagValue("data", "data.path", args.data), ...flagValue("backend", "backend", args.backend)];
  return resolveSources(ctx, command, args, flags);
}

/** What eval and predict read (an output is never one of them). */
export function evalInputs(args: Record<string, unknown>): InputSource[] {
  return inputPaths(args, ["data", "run", "adapter", "model", "config"]);
}

/** The loaded model and task of one evaluation. */
export async function evalContext(config: RunConfig, ctx: CommandContext): Promise<EvalContext> {
  const { prepareModel, prepareTask } = await import("../engine/workspace.js");
  const workspace = await prepareModel(config, { log: ctx.log });
  const task = await prepareTask(config);
  return { config, workspace, task, log: ctx.log };
}

export const evalCommand = defineCommand({
  command: "eval",
  describe:
    "rank-classify a labelled split (accuracy, macro-F1, confusion), or generate on a generative task " +
    "(exact match, chrF, BLEU, ROUGE-L); write metrics.json",
  options: {
    ...evalOptions,
    split: { type: "string", choices: ["train", "test"] as const, default: "train", describe: "which split" },
    folds: { type: "number", describe: "K-fold cross-validation on the labelled split" },
    task: {
      type: "string",
      describe: "with --run of a multi-task run: evaluate only this task (default: every task, into <out>/<task>/)",
    },
    predictions: {
      type: "boolean",
      default: false,
      describe: "also write predictions.csv beside metrics.json: ID, gold, predicted, p(label | x) per label",
    },
  },
  async run(args, ctx) {
    const { config, adapterDir } = await evalSources(ctx, "eval", args);
    const split = args.split as "train" | "test";
    const outDir = args.out ?? join("runs", "eval");
    const check = async (outputs: OutputTarget[]) =>
      checkOutputs({ command: "eval", outputs, inputs: evalInputs(args), overwrite: args.overwrite });
    const outputs = (dir: string): OutputTarget[] => [
      { flag: "--out", path: join(dir, "metrics.json"), kind: "file", flagNames: "folder" },
      ...(args.predictions
        ? [{ flag: "--out", path: join(dir, "predictions.csv"), kind: "file", flagNames: "folder" } as OutputTarget]
        : []),
    ];
    if (args.run !== undefined && config.data.tasks !== null && args.folds === undefined) {
      const names = selectTasks(config, args.task).map((t) => t.name);
      await check(names.flatMap((name) => outputs(join(outDir, name))));
      const taskArgs = { run: args.run, task: args.task, split, out: outDir, predictions: args.predictions };
      return evalRunTasks(config, taskArgs, ctx);
    }
    if (args.task !== undefined)
      throw new TfewError("eval: --task needs --run of a multi-task run (one with data.tasks)");
    if (config.data.target_field !== null && args.folds !== undefined)
      throw new TfewError(
        `eval: --folds cross-validates a classification task; this task is generative ` +
          `(data.target_field "${config.data.target_field}"): evaluate it without --folds`,
      );
    if (config.data.tasks !== null && args.folds !== undefined)
      throw new TfewError(
        "eval: --folds cross-validates one task; for a task of data.tasks pass --set data.tasks=null --set data.path=<its path>",
      );
    // cross-validation also trains a run into each fold-K folder: earlier ones are outputs too
    const folds = args.folds === undefined ? [] : foldDirs(outDir);
    const foldTargets = folds.map((path): OutputTarget => ({ flag: "--out", path, kind: "folder" }));
    await check([...outputs(outDir), ...foldTargets]);
    const evalCtx = await evalContext(config, ctx);
    const predictions = args.predictions;
    if (evalCtx.task.targetField !== undefined) {
      const { evaluateGenerative, generationSummary } = await import("../generate/task-eval.js");
      const m = await evaluateGenerative(evalCtx, { adapterDir, split, outDir, predictions });
      const written = outputs(outDir).map((o) => o.path);
      ctx.out(`${evalCtx.task.name} (${split}, n=${m.n}): ${generationSummary(m)}; ${written.join(", ")}`);
      return 0;
    }
    if (args.folds !== undefined) return crossValidateCommand(evalCtx, { folds: args.folds, outDir, predictions }, ctx);
    const { evaluate } = await import("../eval/evaluate.js");
    const m = await evaluate(evalCtx, { adapterDir, split, outDir, predictions });
    // TensorBoard scalars: into the --run folder (beside its training curves) unless --out names another folder
    const eventsDir = args.run !== undefined && args.out === undefined ? args.run : outDir;
    const { writeEvalEvents } = await import("../train/run-events.js");
    const step = args.run !== undefined ? await runStep(args.run) : 0;
    await writeEvalEvents(eventsDir, { step, metrics: m }).catch((error: unknown) => {
      if (!isTfewError(error) && typeof (error as NodeJS.ErrnoException).code !== "string") throw error;
      // e.g. a read-only run folder
      ctx.log(
        `warning: eval scalars not added to ${eventsDir}'s TensorBoard events (${(error as Error).message}); metrics.json is written`,
      );
    });
    const scores = `accuracy ${m.accuracy.toFixed(4)}, macro-F1 ${m.macro_f1.toFixed(4)}`;
    ctx.out(
      `${evalCtx.task.name} (${split}, n=${m.n}): ${scores}; ${outputs(outDir)
        .map((o) => o.path)
        .join(", ")}`,
    );
    return 0;
  },
});

async function crossValidateCommand(
  evalCtx: EvalContext,
  options: { folds: number; outDir: string; predictions: boolean },
  ctx: CommandContext,
): Promise<number> {
  const { crossValidate } = await import("../eval/evaluate.js");
  const { runTraining } = await import("../train/run.js");
  const { writeEvalEvents } = await import("../train/run-events.js");
  const { config, workspace } = evalCtx;
  const trainFold = async (fold: { task: TaskData; runDir: string }) =>
    (await runTraining({ config, runDir: fold.runDir, resume: false, log: ctx.log, workspace, task: fold.task }))
      .adapter_dir;
  const report = await crossValidate(evalCtx, { ...options, trainFold });
  for (const [i, metrics] of report.folds.entries()) {
    const foldDir = join(options.outDir, `fold-${i + 1}`);
    await writeEvalEvents(foldDir, { step: await runStep(foldDir), metrics });
  }
  const { mean, std } = report;
  const accuracy = `accuracy ${mean.accuracy.toFixed(4)} ± ${std.accuracy.toFixed(4)}`;
  const macroF1 = `macro-F1 ${mean.macro_f1.toFixed(4)} ± ${std.macro_f1.toFixed(4)}`;
  ctx.out(`${options.folds}-fold: ${accuracy}, ${macroF1}; ${join(options.outDir, "metrics.json")}`);
  return 0;
}

/** The fold-K run folders of an earlier cross-validation in `outDir` ([] when there is none). */
function foldDirs(outDir: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(outDir, { withFileTypes: true });
  } catch {
    return []; // no folder yet (or not a folder: the write reports that)
  }
  return entries.filter((e) => e.isDirectory() && /^fold-\d+$/.test(e.name)).map((e) => join(outDir, e.name));
}

/** The last step a run folder's summary.json records (0 when there is none): eval's TensorBoard step. */
async function runStep(runDir: string): Promise<number> {
  const summary = await readJson<{ steps?: unknown }>(runPaths(runDir).summary).catch(() => ({ steps: 0 }));
  return typeof summary.steps === "number" ? summary.steps : 0;
}
