// `tfew score`: log-likelihood of targets given sources (JSONL of {"source", "target"} in, {"logprob",
// "tokens"} out), with an optional adapter or a run folder's model, tokenizer and adapter/.
import { readFile } from "node:fs/promises";
import { TfewError } from "../errors.js";
import type { ScorePair } from "../eval/score.js";
import { writeFileAtomic } from "../io/atomic.js";
import { checkOutputs } from "../io/outputs.js";
import { backendOption, defineCommand, flagValue, inputPaths, overwriteOption, verboseOption } from "./command.js";
import { resolveSources } from "./sources.js";

export const scoreCommand = defineCommand({
  command: "score",
  describe: "log-likelihood of targets given sources (JSONL in, JSONL out)",
  options: {
    model: { type: "string", describe: "model folder or hub id (default: the --adapter's or --run's base model)" },
    run: { type: "string", describe: "run folder of tfew train: its model, tokenizer and adapter/" },
    input: { type: "string", demandOption: true, describe: 'JSONL with {"source", "target"} per line' },
    output: { type: "string", demandOption: true, describe: 'JSONL to write: {"logprob", "tokens"} per line' },
    adapter: { type: "string", describe: "apply an (IA)³ adapter" },
    tokenizer: { type: "string", describe: "folder with tokenizer.json (default: the model folder)" },
    ...backendOption,
    "batch-size": { type: "number", default: 16 },
    ...overwriteOption,
    ...verboseOption,
  },
  async run(args, ctx) {
    if (args.run !== undefined && args.adapter !== undefined)
      throw new TfewError("score: give --run DIR or --adapter DIR, not both (--run uses the run's adapter/)");
    if (args.run === undefined && args.model === undefined && args.adapter === undefined)
      throw new TfewError("score: give --model M, --adapter DIR or --run DIR");
    await checkOutputs({
      command: "score",
      outputs: [{ flag: "--output", path: args.output, kind: "file" }],
      inputs: inputPaths(args, ["input", "run", "adapter", "model", "tokenizer"]),
      overwrite: args.overwrite,
    });
    const flags = [
      ...flagValue("tokenizer", "tokenizer", args.tokenizer),
      ...flagValue("backend", "backend", args.backend),
    ];
    const { config, adapterDir } = await resolveSources(ctx, "score", args, flags);
    const pairs = await readPairs(args.input);
    const { prepareModel, loadAdapter } = await import("../engine/workspace.js");
    const { scorePairs } = await import("../eval/score.js");
    const { createProgress } = await import("../monitor/progress.js");
    const ws = await prepareModel(config, { log: ctx.log });
    const adapter = await loadAdapter(ws, adapterDir);
    const progress = createProgress({ total: pairs.length, label: "score" });
    const results = await scorePairs(ws, adapter, pairs, {
      batchSize: args["batch-size"],
      onBatch: (done) => progress.update(done, {}),
    });
    progress.stop();
    await writeFileAtomic(
      args.output,
      results.map((r) => JSON.stringify(r)).join("\n") + (results.length > 0 ? "\n" : ""),
    );
    ctx.out(`scored ${results.length} pairs → ${args.output}`);
    return 0;
  },
});

/** The --input JSONL's {"source", "target"} pairs; one line naming the line that is not one. */
async function readPairs(input: string): Promise<ScorePair[]> {
  let text: string;
  try {
    text = await readFile(input, "utf8");
  } catch {
    throw new TfewError(
      `score: cannot read --input ${input}; give a JSONL file of {"source": ..., "target": ...} lines`,
    );
  }
  const pairs: ScorePair[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      throw new TfewError(
        `score: line ${i + 1} of ${input} is not valid JSON; each line must be {"source": "...", "target": "..."}`,
      );
    }
    const r = row as Partial<ScorePair>;
    if (typeof r.source !== "string" || typeof r.target !== "string") {
      throw new TfewError(`score: line ${i + 1} of ${input} needs string fields "source" and "target"`);
    }
    pairs.push({ source: r.source, target: r.target });
  });
  return pairs;
}
