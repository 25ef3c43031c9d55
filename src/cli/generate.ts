// `tfew generate`: text from a model (with an adapter, or a run's): JSONL of {"source", ...} in, the same lines
// with generation, ids, logprob (and candidates) out. Strategies and settings: the config's generate: section.
import { readFile } from "node:fs/promises";
import type { ConfigValue } from "../config/load.js";
import { TfewError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { checkOutputs } from "../io/outputs.js";
import { backendOption, defineCommand, flagValue, inputPaths, verboseOption } from "./command.js";
import { resolveSources } from "./sources.js";

/** Each flag of the generate: section: --flag-name ↔ generate.flag_name. */
const SETTING_FLAGS = {
  strategy: { type: "string", choices: ["greedy", "beam", "sample", "mbr"], describe: "decoding strategy" },
  "max-new-tokens": { type: "number", describe: "tokens to generate at most (default: transformers' 19)" },
  "min-new-tokens": { type: "number", describe: "</s> is blocked until this many tokens" },
  "num-beams": { type: "number", describe: "beams per input (beam; mbr from beam)" },
  "length-penalty": { type: "number", describe: "beam score = Σ log p / length^this" },
  "early-stopping": { type: "string", choices: ["true", "false", "never"], describe: "beam search stop rule" },
  "num-return-sequences": { type: "number", describe: "hypotheses per input (beam, sample)" },
  temperature: { type: "number", describe: "sample: logits / temperature" },
  "top-k": { type: "number", describe: "sample: keep the k most likely tokens (0 = off)" },
  "top-p": { type: "number", describe: "sample: nucleus probability mass (1 = off)" },
  "repetition-penalty": { type: "number", describe: "penalty on tokens already present (1 = off)" },
  "no-repeat-ngram-size": { type: "number", describe: "n-grams of this size never repeat (0 = off)" },
  "mbr-candidates": { type: "number", describe: "mbr: candidates per input" },
  "mbr-candidates-from": { type: "string", choices: ["sample", "beam"], describe: "mbr: where candidates come from" },
  "mbr-utility": { type: "string", choices: ["chrf", "bleu", "rouge-l"], describe: "mbr: utility function" },
  "batch-size": { type: "number", describe: "inputs per decoder session" },
  "eos-token-id": { type: "number", describe: "stop token (default: the model's eos_token_id)" },
} as const;

export const generateCommand = defineCommand({
  command: "generate",
  describe: "generate text for each input (greedy, beam, sample or MBR); JSONL in, JSONL out",
  options: {
    run: { type: "string", describe: "run folder of tfew train: its model, tokenizer and adapter/" },
    adapter: { type: "string", describe: "apply an (IA)³ adapter (its base model unless --model)" },
    model: { type: "string", describe: "model folder or hub id" },
    config: { type: "string", array: true, describe: "config file(s) with a generate: section" },
    set: { type: "string", array: true, describe: "override one key, e.g. generate.top_p=0.9 (repeatable)" },
    input: { type: "string", demandOption: true, describe: 'JSONL with {"source": ...} per line' },
    output: { type: "string", demandOption: true, describe: "JSONL to write: each input line plus its generation" },
    overwrite: { type: "boolean", default: false, describe: "replace an existing --output" },
    tokenizer: { type: "string", describe: "folder with tokenizer.json (default: the model folder)" },
    seed: { type: "number", describe: "seed of sampling (the config key seed)" },
    ...SETTING_FLAGS,
    ...backendOption,
    ...verboseOption,
  },
  async run(args, ctx) {
    if (args.run === undefined && args.model === undefined && args.adapter === undefined)
      throw new TfewError("generate: give --model M, --adapter DIR or --run DIR");
    await checkOutputs({
      command: "generate",
      outputs: [{ flag: "--output", path: args.output, kind: "file" }],
      inputs: inputPaths(args, ["input", "run", "adapter", "model", "tokenizer"]),
      overwrite: args.overwrite,
    });
    const flags: ConfigValue[] = [
      ...flagValue("tokenizer", "tokenizer", args.tokenizer),
      ...flagValue("backend", "backend", args.backend),
      ...flagValue("seed", "seed", args.seed),
      ...Object.keys(SETTING_FLAGS).flatMap((flag) =>
        flagValue(flag, `generate.${flag.replaceAll("-", "_")}`, value(args, flag)),
      ),
    ];
    const { config, adapterDir } = await resolveSources(ctx, "generate", args, flags);
    const { generateSettings, outputRow, textDecoder } = await import("../generate/settings.js");
    const settings = generateSettings(config);
    const rows = await readSources(args.input);
    const { prepareModel, loadAdapter } = await import("../engine/workspace.js");
    const { generate } = await import("../generate/generate.js");
    const ws = await prepareModel(config, { log: ctx.log });
    const adapter = await loadAdapter(ws, adapterDir);
    const decode = textDecoder(ws.tokenizer);
    const prompts = rows.map((r) => ws.tokenizer.encode(r.source as string)); // not truncated, as generate()
    const { generations, stats } = await generate(ws.model, adapter, prompts, settings, { decode });
    const lines = generations.map((g, i) => JSON.stringify(outputRow(rows[i] ?? {}, g, settings.strategy, decode)));
    await writeFileAtomic(args.output, lines.join("\n") + (lines.length > 0 ? "\n" : ""));
    const perStep = stats.steps > 0 ? (1000 * stats.seconds) / stats.steps : 0;
    ctx.log(
      `generate: ${stats.inputs} inputs, ${stats.newTokens} tokens in ${stats.seconds.toFixed(2)} s: ` +
        `${(stats.newTokens / Math.max(stats.seconds, 1e-9)).toFixed(1)} tokens/s, ${perStep.toFixed(2)} ms/token ` +
        `(${settings.strategy} on ${ws.backend.name})`,
    );
    ctx.out(`generated ${generations.length} lines → ${args.output}`);
    return 0;
  },
});

/** A flag's value; --early-stopping's "true"/"false" become booleans. */
function value(args: Record<string, unknown>, flag: string): unknown {
  const v = args[flag];
  if (flag === "early-stopping" && (v === "true" || v === "false")) return v === "true";
  return v;
}

/** The --input JSONL's lines, each an object with a string "source"; one line naming the line that is not. */
async function readSources(input: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await readFile(input, "utf8");
  } catch {
    throw new TfewError(`generate: cannot read --input ${input}; give a JSONL file of {"source": ...} lines`);
  }
  const rows: Record<string, unknown>[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      throw new TfewError(`generate: line ${i + 1} of ${input} is not valid JSON; each line must be {"source": "..."}`);
    }
    if (typeof row !== "object" || row === null || typeof (row as { source?: unknown }).source !== "string")
      throw new TfewError(`generate: line ${i + 1} of ${input} needs a string field "source"`);
    rows.push(row as Record<string, unknown>);
  });
  return rows;
}
