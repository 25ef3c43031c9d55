// The loss weights a run trains with. Generative tasks (data.target_field) have one "choice", their target, so
// only the LM loss applies to them: the unlikelihood and length-normalized losses (T-Few L_UL, L_LN) need answer
// choices to rank. A run of generative tasks alone trains the LM loss only; a mix keeps the weights for the
// classification tasks (a generative example adds nothing to L_UL, and 0 to L_LN: one choice has probability 1).
import type { RunConfig } from "../config/schema.js";
import { RunConfigSchema } from "../config/schema.js";
import type { TaskData } from "../data/task-types.js";
import { TfewError } from "../errors.js";

export interface NamedTask {
  name: string;
  task: TaskData;
}

const RECIPE = RunConfigSchema.parse({}).train; // the T-Few recipe's weights (1 and 1)

/** { ul, ln } for the run; a log line when a generative task changes what is trained, an error when it cannot. */
export function trainLossWeights(
  config: RunConfig,
  tasks: readonly NamedTask[],
  log: (line: string) => void,
): { ul: number; ln: number } {
  const { train } = config;
  const weights = { ul: train.ul_weight, ln: train.ln_weight };
  const generative = tasks.filter((t) => t.task.targetField !== undefined);
  const first = generative[0];
  if (first === undefined) return weights;
  const field = `data.target_field "${first.task.targetField}"`;
  if (generative.length < tasks.length) {
    const names = generative.map((t) => t.name).join(", ");
    log(
      `train: generative task${generative.length > 1 ? "s" : ""} ${names} (data.target_field) train with the LM loss ` +
        `only; train.ul_weight and train.ln_weight apply to the classification tasks`,
    );
    return weights;
  }
  for (const key of ["ul_weight", "ln_weight"] as const) {
    const value = train[key];
    if (value !== 0 && value !== RECIPE[key])
      throw new TfewError(
        `train.${key}=${value} needs answer choices, but task ${first.name} is generative (${field}) and trains ` +
          `with the LM loss only; set train.${key}=0`,
      );
  }
  log(
    `train: task ${first.name} is generative (${field}): the LM loss alone is trained ` +
      `(train.ul_weight and train.ln_weight need answer choices, so 0 is used)`,
  );
  return { ul: 0, ln: 0 };
}
