// `tfew eval --run R` on a multi-task run (data.tasks): every task (or --task NAME) evaluated with its own
// adapter (adapter/<task>/, or the one shared adapter/), metrics written to <out>/<task>/metrics.json; a generative
// task (data.target_field) is generated and scored (generate/task-eval.ts), the others rank-classified.
import { join } from "node:path";
import type { RunConfig } from "../config/schema.js";
import { TfewError } from "../errors.js";
import { runPaths, taskAdapterDir } from "../io/run-dir.js";
import type { CommandContext } from "./io.js";

export interface TaskEvalArgs {
  run: string;
  task?: string; // one task's name; absent = every task
  split: "train" | "test";
  out: string;
  predictions?: boolean; // also <out>/<task>/predictions.csv
}

/** The tasks to evaluate: all of data.tasks, or the one --task names (a clear line when it names none). */
export function selectTasks(config: RunConfig, name: string | undefined): NonNullable<RunConfig["data"]["tasks"]> {
  const tasks = config.data.tasks ?? [];
  if (name === undefined) return tasks;
  const picked = tasks.filter((t) => t.name === name);
  if (picked.length === 0)
    throw new TfewError(
      `eval: --task ${name} is not a task of this run; its tasks are ${tasks.map((t) => t.name).join(", ")}`,
    );
  return picked;
}

/** Evaluates the run's tasks one by one on one loaded model; prints one line per task. */
export async function evalRunTasks(config: RunConfig, args: TaskEvalArgs, ctx: CommandContext): Promise<number> {
  const { evaluate } = await import("../eval/evaluate.js");
  const { prepareModel, prepareTask } = await import("../engine/workspace.js");
  const { taskConfig } = await import("../train/tasks.js");
  const log = ctx.log;
  const tasks = selectTasks(config, args.task);
  const workspace = await prepareModel(config, { log });
  for (const entry of tasks) {
    const own = taskConfig(config, entry);
    const task = await prepareTask(own);
    const adapterDir =
      config.adapter.routing === "task" ? taskAdapterDir(args.run, entry.name) : runPaths(args.run).adapter;
    const outDir = join(args.out, entry.name);
    const options = { adapterDir, split: args.split, outDir, predictions: args.predictions ?? false };
    const taskCtx = { config: own, workspace, task, log };
    let scores: string;
    let n: number;
    if (task.targetField !== undefined) {
      const { evaluateGenerative, generationSummary } = await import("../generate/task-eval.js");
      const m = await evaluateGenerative(taskCtx, options);
      [scores, n] = [generationSummary(m), m.n];
    } else {
      const m = await evaluate(taskCtx, options);
      [scores, n] = [`accuracy ${m.accuracy.toFixed(4)}, macro-F1 ${m.macro_f1.toFixed(4)}`, m.n];
    }
    ctx.out(`${entry.name} (${args.split}, n=${n}): ${scores}; ${join(outDir, "metrics.json")}`);
  }
  return 0;
}
