// tfew's command line (yargs): train, eval, predict, score, inspect, merge, export, sweep, audit, report, make-demo. The
// only module that reads argv, prints usage, or decides the exit code; everything else throws TfewError.
import yargs from "yargs";
import { BACKEND_NAMES } from "../backend/select.js";
import { MERGE_METHODS } from "../merge/merge.js";
import { auditCommand } from "./audit.js";
import { evalCommand, inspectCommand, predictCommand, scoreCommand, trainCommand, type EvalArgs } from "./commands.js";
import { PACKAGE_ROOT, reportError } from "./common.js";
import { exportCommand } from "./export.js";
import { mergeCommand } from "./merge.js";
import { sweepCommands } from "./sweep.js";
import { reportBuilder, reportCommand } from "./report.js";
import { goldCheckCommand } from "./gold-check.js";

const configOptions = {
  config: { type: "string", array: true, describe: "config file (YAML/JSON); repeat to layer, later wins" },
  set: { type: "string", array: true, describe: "override one key: section.key=value (repeatable)" },
  backend: { type: "string", choices: BACKEND_NAMES, describe: "TF.js backend (also TFEW_BACKEND)" },
  out: { type: "string", describe: "output folder", coerce: lastValue },
  verbose: { type: "boolean", default: false, describe: "print stack traces on errors" },
} as const;

const evalOptions = {
  ...configOptions,
  run: { type: "string", describe: "run folder of tfew train (its config and adapter)" },
  adapter: { type: "string", describe: "adapter folder (tfew or PEFT IA3)" },
  model: { type: "string", describe: "model folder or hub id (zero-shot without --adapter)" },
  data: {
    type: "string",
    describe:
      "task: RAFT folder, raft:<task>, hf:<org>/<dataset>[/<config>], .csv, .jsonl, .parquet, .arrow or Label Studio .json",
  },
  split: { type: "string", choices: ["train", "test"] as const, describe: "which split" },
  overwrite: {
    type: "boolean",
    default: false,
    describe: "replace an existing output (metrics.json, predictions file)",
  },
} as const;

/** A repeated single-value flag (`--out a --out b`): the last one wins, as with --set. */
function lastValue(value: unknown): string | undefined {
  const v = Array.isArray(value) ? value.at(-1) : value;
  return v === undefined ? undefined : String(v);
}

/** Runs the CLI on argv (without node and script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let verbose = argv.includes("--verbose");
  let code = 0;
  const run = (fn: () => Promise<number>) => async () => {
    try {
      code = await fn();
    } catch (error) {
      code = reportError(error, { verbose });
    }
  };
  const parser = yargs(argv)
    .scriptName("tfew")
    .usage("$0 <command> [options]\n\n(IA)³ / T-Few parameter-efficient fine-tuning of T5-family models.")
    .command(
      "train",
      "train (IA)³ vectors with the T-Few recipe (no options: the embedded demo)",
      (y) =>
        y.options({ ...configOptions, resume: { type: "string", describe: "continue a killed run from its folder" } }),
      (a) =>
        run(() => trainCommand({ config: a.config, set: a.set, backend: a.backend, out: a.out, resume: a.resume }))(),
    )
    .command(
      "eval",
      "rank-classify a labelled split; write metrics.json (accuracy, macro-F1, confusion)",
      (y) =>
        y.options({
          ...evalOptions,
          folds: { type: "number", describe: "K-fold cross-validation on the labelled split" },
          task: {
            type: "string",
            describe:
              "with --run of a multi-task run: evaluate only this task (default: every task, into <out>/<task>/)",
          },
        }),
      (a) =>
        run(() =>
          evalCommand({ ...(a as unknown as EvalArgs), split: (a.split as "train" | "test" | undefined) ?? "train" }),
        )(),
    )
    .command(
      "predict",
      "predict labels; write a RAFT submission CSV (ID,Label)",
      (y) =>
        y
          .options({ ...evalOptions, output: { type: "string", describe: "CSV file to write (default preds.csv)" } })
          .option("out", { type: "string", describe: "same as --output" }),
      (a) =>
        run(() =>
          predictCommand({
            ...(a as unknown as EvalArgs),
            output: a.output ?? a.out,
            split: (a.split as "train" | "test" | undefined) ?? "test",
          }),
        )(),
    )
    .command(
      "score",
      "log-likelihood of targets given sources (JSONL in, JSONL out)",
      (y) =>
        y.options({
          model: {
            type: "string",
            describe: "model folder or hub id (default: the --adapter's or --run's base model)",
          },
          run: { type: "string", describe: "run folder of tfew train: its model, tokenizer and adapter/" },
          input: { type: "string", demandOption: true, describe: 'JSONL with {"source", "target"} per line' },
          output: { type: "string", demandOption: true, describe: 'JSONL to write: {"logprob", "tokens"} per line' },
          adapter: { type: "string", describe: "apply an (IA)³ adapter" },
          tokenizer: { type: "string", describe: "folder with tokenizer.json (default: the model folder)" },
          backend: configOptions.backend,
          "batch-size": { type: "number", default: 16 },
          verbose: configOptions.verbose,
        }),
      (a) =>
        run(() =>
          scoreCommand({
            model: a.model,
            run: a.run,
            input: a.input,
            output: a.output,
            adapter: a.adapter,
            tokenizer: a.tokenizer,
            backend: a.backend,
            batchSize: a["batch-size"],
          }),
        )(),
    )
    .command(
      "merge",
      "merge (IA)³ adapters of one model into one PEFT IA3 adapter (average, weighted, Fisher)",
      (y) =>
        y.options({
          adapter: {
            type: "string",
            array: true,
            demandOption: true,
            describe: "adapter folder (repeat: two or more)",
          },
          method: {
            type: "string",
            choices: MERGE_METHODS,
            default: "average" as const,
            describe:
              "average | weighted (one --weight each) | fisher (one --data each, or fisher.safetensors beside each adapter)",
          },
          weight: { type: "number", array: true, describe: "one weight per --adapter, same order (weighted, fisher)" },
          out: { type: "string", demandOption: true, describe: "new folder for the merged adapter", coerce: lastValue },
          data: {
            type: "string",
            array: true,
            describe: "fisher: one task data path per --adapter, same order (its Fisher is computed on it)",
          },
          fisher: {
            type: "string",
            choices: ["model", "empirical"],
            describe: "fisher: expectation over the model's own choice probabilities (default) or the gold labels",
          },
          model: {
            type: "string",
            describe: "fisher: base model (default: the first adapter's base_model_name_or_path)",
          },
          config: configOptions.config,
          set: configOptions.set,
          backend: configOptions.backend,
          verbose: configOptions.verbose,
        }),
      (a) =>
        run(() =>
          mergeCommand({
            adapter: a.adapter,
            method: a.method,
            weight: a.weight,
            out: a.out as string,
            data: a.data,
            fisher: a.fisher,
            model: a.model,
            config: a.config,
            set: a.set,
            backend: a.backend,
          }),
        )(),
    )
    .command(
      "export",
      "fold an (IA)³ adapter into its base model's weights; write a Hugging Face model folder",
      (y) =>
        y.options({
          model: { type: "string", demandOption: true, describe: "base model folder or hub id" },
          adapter: { type: "string", demandOption: true, describe: "adapter folder (tfew or PEFT IA3)" },
          out: { type: "string", demandOption: true, describe: "new folder for the exported model", coerce: lastValue },
          tokenizer: { type: "string", describe: "copy the tokenizer files from here (default: the model folder)" },
          revision: { type: "string", describe: "hub branch, tag or commit of --model" },
          verbose: configOptions.verbose,
        }),
      (a) =>
        run(() =>
          exportCommand({
            model: a.model,
            adapter: a.adapter,
            out: a.out as string,
            tokenizer: a.tokenizer,
            revision: a.revision,
          }),
        )(),
    )
    .command(
      "inspect",
      "print a model's config, parameter counts and (IA)³ parameter count",
      (y) =>
        y.options({
          model: { type: "string", demandOption: true },
          revision: { type: "string" },
          verbose: configOptions.verbose,
        }),
      (a) => run(() => inspectCommand({ model: a.model, revision: a.revision }))(),
    )
    .command(
      "audit",
      "find likely label errors: K-fold out-of-fold probabilities + confident learning; write label_issues.csv, summary.json, Label Studio tasks",
      (y) =>
        y.options({
          ...configOptions,
          model: {
            type: "string",
            describe: "model folder or hub id: audit with the default recipe (configs/default.yaml + --config/--set)",
          },
          run: { type: "string", describe: "run folder of tfew train: audit with its recipe (config.resolved.yaml)" },
          data: evalOptions.data,
          folds: {
            type: "number",
            default: 5,
            describe: "K: fold adapters trained, each scoring the examples it did not see",
          },
        }),
      (a) =>
        run(() =>
          auditCommand({
            config: a.config,
            set: a.set,
            backend: a.backend,
            out: a.out,
            model: a.model,
            run: a.run,
            data: a.data,
            folds: a.folds,
          }),
        )(),
    )
    .command(
      "report <folders..>",
      "one self-contained HTML page of charts (losses, lr, throughput, GPU, eval) from run or sweep folders",
      (y) => reportBuilder(y),
      (a) =>
        run(() =>
          reportCommand({
            folders: (a.folders as string[] | undefined) ?? [],
            out: String(a.out),
            smoothing: Number(a.smoothing),
          }),
        )(),
    )
    .command(
      "make-demo",
      "regenerate the embedded demo model, tokenizer and task (data/)",
      (y) =>
        y.options({
          out: {
            type: "string",
            default: `${PACKAGE_ROOT}/data`,
            describe: "folder to write demo-model/ and demo-task/ into",
          },
        }),
      (a) =>
        run(async () => {
          const { makeDemo } = await import("../demo/make-demo.js");
          const r = await makeDemo({ outDir: a.out });
          process.stdout.write(`wrote ${r.modelDir} and ${r.taskDir}\n`);
          return 0;
        })(),
    )
    .command(
      "gold-check",
      "recompute the HF/PEFT gold fixtures on a backend (logits ≤ 1e-3, (IA)³ gradients ≤ 1e-3 relative); a GPU check",
      (y) =>
        y.options({
          backend: configOptions.backend,
          fixtures: { type: "string", describe: "fixture folder (default: tests/fixtures/hf-reference/t5-tiny-gated)" },
          output: { type: "string", describe: "also write the JSON result to this file" },
          verbose: configOptions.verbose,
        }),
      (a) => run(() => goldCheckCommand({ backend: a.backend, fixtures: a.fixtures, output: a.output }))(),
    )
    .command(
      "sweep",
      "run a grid of runs (tasks × seeds × ...) locally, as a Slurm job array or a Kubernetes Indexed Job",
      (y) => sweepCommands(y, run),
    )
    .demandCommand(
      1,
      "give a command: train, eval, predict, score, inspect, merge, export, sweep, audit, report, gold-check or make-demo",
    )
    .recommendCommands()
    .strictCommands()
    .strict()
    .fail((message, error) => {
      if (error) throw error;
      throw new UsageError(usageMessage(message, argv));
    })
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns ?? 110));
  try {
    await parser.parseAsync();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    // thrown (not printed) so that a command with a bad argument never runs
    process.stderr.write(`tfew: error: ${error.message} (see tfew --help)\n`);
    code = 2;
  }
  verbose = false;
  return code;
}

/** A command-line mistake yargs found (unknown command or option, missing value): exit code 2. */
class UsageError extends Error {}

/** yargs' message; its "Did you mean train?" (recommendCommands) also names the command it did not know. */
function usageMessage(message: string, argv: readonly string[]): string {
  const suggestion = /^Did you mean (\S+)\?$/.exec(message);
  return suggestion
    ? `unknown command ${argv.find((a) => !a.startsWith("-")) ?? ""}; did you mean ${suggestion[1] ?? ""}?`
    : message;
}
