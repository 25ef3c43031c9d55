// `tfew predict`: predict labels for a split (default test) and write a RAFT submission CSV (ID,Label); with
// --probabilities, one p(<label>) column per label after them. A generative task (data.target_field): ID,generation.
import { TfewError } from "../errors.js";
import { checkOutputs } from "../io/outputs.js";
import { defineCommand, deprecatedAlias } from "./command.js";
import { evalContext, evalInputs, evalOptions, evalSources } from "./eval.js";

export const predictCommand = defineCommand({
  command: "predict",
  describe: "predict labels; write a RAFT submission CSV (ID,Label), or ID,generation for a generative task",
  options: {
    ...evalOptions,
    split: { type: "string", choices: ["train", "test"] as const, default: "test", describe: "which split" },
    output: { type: "string", describe: "CSV file to write (default preds.csv)" },
    out: { type: "string", describe: "deprecated spelling of --output", hidden: true },
    probabilities: {
      type: "boolean",
      default: false,
      describe: "add one p(<label>) column per label: p(label | x), the softmax of the length-normalized scores",
    },
  },
  async run(args, ctx) {
    const { config, adapterDir } = await evalSources(ctx, "predict", args);
    const use = { command: "predict", old: "out", now: "output" };
    const outFile = deprecatedAlias(ctx, use, args.output, args.out) ?? "preds.csv";
    const generative = config.data.target_field !== null;
    if (generative && args.probabilities)
      throw new TfewError(
        `predict: --probabilities gives p(label | x) per label; this task is generative ` +
          `(data.target_field "${config.data.target_field}") and has no labels: drop --probabilities`,
      );
    await checkOutputs({
      command: "predict",
      outputs: [{ flag: "--output", path: outFile, kind: "file" }],
      inputs: evalInputs(args),
      overwrite: args.overwrite,
    });
    const evalCtx = await evalContext(config, ctx);
    const split = args.split as "train" | "test";
    if (evalCtx.task.targetField !== undefined) {
      const { predictGenerative } = await import("../generate/task-eval.js");
      const n = await predictGenerative(evalCtx, { adapterDir, split, outFile });
      ctx.out(`wrote ${n} generations to ${outFile}`);
      return 0;
    }
    const { predict } = await import("../eval/evaluate.js");
    const n = await predict(evalCtx, { adapterDir, split, outFile, probabilities: args.probabilities });
    ctx.out(`wrote ${n} predictions to ${outFile}`);
    return 0;
  },
});
