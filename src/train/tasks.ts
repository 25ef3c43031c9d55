// The tasks of a multi-task run (data.tasks): each entry's data config (the run's data.* with the entry's
// overrides), its loaded task and tokenized examples tagged with the task's index, all examples task-major.
import type { RunConfig, TaskEntry } from "../config/schema.js";
import type { TaskData } from "../data/task-types.js";
import type { TfewExample } from "../engine/batch.js";
import { buildExamples, prepareTask, type Workspace } from "../engine/workspace.js";
import { TfewError } from "../errors.js";

export interface TrainingTasks {
  names: string[]; // data.tasks names, in config order
  weights: number[]; // sampling weights
  configs: RunConfig[]; // each task's config: data.* with its overrides
  tasks: TaskData[];
}

/** The config one task of data.tasks runs with: its overrides over data.*, no tasks list. */
export function taskConfig(config: RunConfig, entry: TaskEntry): RunConfig {
  const overrides = Object.fromEntries(
    Object.entries(entry).filter(([key, value]) => key !== "name" && key !== "weight" && value !== undefined),
  );
  return { ...config, data: { ...config.data, ...overrides, tasks: null } };
}

/** Loads every task's data (before the model: bad data fails fast). */
export async function prepareTasks(config: RunConfig): Promise<TrainingTasks> {
  const entries = config.data.tasks ?? [];
  const configs = entries.map((entry) => taskConfig(config, entry));
  const tasks: TaskData[] = [];
  for (const [i, c] of configs.entries()) {
    const task = await prepareTask(c);
    if (task.train.length === 0)
      throw new TfewError(
        `data.tasks: task ${JSON.stringify(entries[i]?.name)} (${c.data.path}) has no labelled training examples`,
      );
    tasks.push(task);
  }
  return { names: entries.map((e) => e.name), weights: entries.map((e) => e.weight), configs, tasks };
}

/** Tokenized training examples of every task, task-major, each tagged with its task index. */
export function taskExamples(
  t: TrainingTasks,
  ws: Workspace,
  log: (line: string) => void,
): { examples: TfewExample[]; sizes: number[] } {
  const examples: TfewExample[] = [];
  const sizes: number[] = [];
  t.tasks.forEach((task, index) => {
    const config = t.configs[index] as RunConfig;
    const built = buildExamples(task, task.train, ws.tokenizer, config);
    if (built.truncated > 0)
      log(
        `warning: task ${t.names[index]}: ${built.truncated} of ${built.examples.length} training prompts were cut to data.max_seq_len=${config.data.max_seq_len} tokens`,
      );
    examples.push(...built.examples.map((e) => ({ ...e, task: index })));
    sizes.push(built.examples.length);
  });
  return { examples, sizes };
}
