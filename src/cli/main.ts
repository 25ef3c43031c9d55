// tfew's command line (yargs): train, eval, predict, score, inspect, make-demo. The only module that reads
// argv, prints usage, or decides the exit code; everything else throws TfewError.
import yargs from "yargs";
import { BACKEND_NAMES } from "../backend/select.js";
import { evalCommand, inspectCommand, predictCommand, scoreCommand, trainCommand, type EvalArgs } from "./commands.js";
import { PACKAGE_ROOT, reportError } from "./common.js";
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
  data: { type: "string", describe: "task: RAFT folder, raft:<task>, .csv or .jsonl" },
  split: { type: "string", choices: ["train", "test"] as const, describe: "which split" },
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
      (y) => y.options({ ...configOptions, resume: { type: "string", describe: "continue a killed run from its folder" } }),
      (a) => run(() => trainCommand({ config: a.config, set: a.set, backend: a.backend, out: a.out, resume: a.resume }))(),
    )
    .command(
      "eval",
      "rank-classify a labelled split; write metrics.json (accuracy, macro-F1, confusion)",
      (y) => y.options({ ...evalOptions, folds: { type: "number", describe: "K-fold cross-validation on the labelled split" } }),
      (a) => run(() => evalCommand({ ...(a as unknown as EvalArgs), split: (a.split as "train" | "test" | undefined) ?? "train" }))(),
    )
    .command(
      "predict",
      "predict labels; write a RAFT submission CSV (ID,Label)",
      (y) => y.options({ ...evalOptions, output: { type: "string", describe: "CSV file to write (default preds.csv)" } }).option("out", { type: "string", describe: "same as --output" }),
      (a) => run(() => predictCommand({ ...(a as unknown as EvalArgs), output: a.output ?? a.out, split: (a.split as "train" | "test" | undefined) ?? "test" }))(),
    )
    .command(
      "score",
      "log-likelihood of targets given sources (JSONL in, JSONL out)",
      (y) =>
        y.options({
          model: { type: "string", demandOption: true, describe: "model folder or hub id" },
          input: { type: "string", demandOption: true, describe: 'JSONL with {"source", "target"} per line' },
          output: { type: "string", demandOption: true, describe: 'JSONL to write: {"logprob", "tokens"} per line' },
          adapter: { type: "string", describe: "apply an (IA)³ adapter" },
          tokenizer: { type: "string", describe: "folder with tokenizer.json (default: the model folder)" },
          backend: configOptions.backend,
          "batch-size": { type: "number", default: 16 },
          verbose: configOptions.verbose,
        }),
      (a) => run(() => scoreCommand({ model: a.model, input: a.input, output: a.output, adapter: a.adapter, tokenizer: a.tokenizer, backend: a.backend, batchSize: a["batch-size"] }))(),
    )
    .command(
      "inspect",
      "print a model's config, parameter counts and (IA)³ parameter count",
      (y) => y.options({ model: { type: "string", demandOption: true }, revision: { type: "string" }, verbose: configOptions.verbose }),
      (a) => run(() => inspectCommand({ model: a.model, revision: a.revision }))(),
    )
    .command(
      "make-demo",
      "regenerate the embedded demo model, tokenizer and task (data/)",
      (y) => y.options({ out: { type: "string", default: `${PACKAGE_ROOT}/data`, describe: "folder to write demo-model/ and demo-task/ into" } }),
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
    .demandCommand(1, "give a command: train, eval, predict, score, inspect, gold-check or make-demo")
    .strict()
    .fail((message, error) => {
      if (error) throw error;
      process.stderr.write(`tfew: error: ${message} (see tfew --help)\n`);
      code = 2;
    })
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns ?? 110));
  await parser.parseAsync();
  verbose = false;
  return code;
}
