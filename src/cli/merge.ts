// `tfew merge`: several (IA)³ adapters of one model → one PEFT IA3 adapter folder (src/merge/merge-files.ts);
// with --method fisher --data: each adapter's Fisher on its own data first (src/merge/fisher-merge.ts).
import { FISHER_KINDS, type FisherKind } from "../engine/fisher-settings.js";
import { TfewError } from "../errors.js";
import { MERGE_METHODS } from "../merge/merge.js";
import { checkTaskVectorFlags } from "../merge/task-vectors.js";
import { checkOutputs } from "../io/outputs.js";
import {
  backendOption,
  defineCommand,
  flagValue,
  inputPaths,
  lastValue,
  overwriteOption,
  verboseOption,
} from "./command.js";
import { baseModelOf, configFromArgs } from "./sources.js";

export const mergeCommand = defineCommand({
  command: "merge",
  describe:
    "merge (IA)³ adapters of one model into one PEFT IA3 adapter (average, weighted, Fisher, task arithmetic, TIES, DARE)",
  options: {
    adapter: { type: "string", array: true, demandOption: true, describe: "adapter folder (repeat: two or more)" },
    method: {
      type: "string",
      choices: MERGE_METHODS,
      default: "average" as const,
      describe:
        "average | weighted (one --weight each) | fisher (one --data each, or fisher.safetensors beside each adapter) | task-arithmetic, ties, dare (on τ = l − 1)",
    },
    lambda: { type: "number", describe: "task-arithmetic, ties, dare: l = 1 + λ·(merged τ) (default 1)" },
    density: { type: "number", describe: "ties, dare: fraction of each task vector kept, in (0, 1] (default 0.2)" },
    seed: { type: "number", describe: "dare: seed of the drop draws (default 42)" },
    weight: { type: "number", array: true, describe: "one weight per --adapter, same order (weighted, fisher)" },
    out: { type: "string", demandOption: true, describe: "new folder for the merged adapter", coerce: lastValue },
    data: {
      type: "string",
      array: true,
      describe: "fisher: one task data path per --adapter, same order (its Fisher is computed on it)",
    },
    fisher: {
      type: "string",
      choices: FISHER_KINDS,
      describe: "fisher: expectation over the model's own choice probabilities (default) or the gold labels",
    },
    model: { type: "string", describe: "fisher: base model (default: the first adapter's base_model_name_or_path)" },
    config: { type: "string", array: true, describe: "fisher: config file (YAML/JSON); repeat to layer" },
    set: { type: "string", array: true, describe: "fisher: override one key: section.key=value (repeatable)" },
    ...backendOption,
    ...overwriteOption,
    ...verboseOption,
  },
  async run(args, ctx) {
    const adapters = args.adapter;
    const data = args.data ?? [];
    const taskFlags = { lambda: args.lambda, density: args.density, seed: args.seed };
    checkTaskVectorFlags(args.method, taskFlags);
    const fisherOnly = (flag: string) =>
      new TfewError(
        `merge: ${flag} is for --method fisher (it computes each adapter's Fisher on its data); drop it or use --method fisher`,
      );
    if (args.method !== "fisher" && data.length > 0) throw fisherOnly("--data");
    if (args.method !== "fisher" && args.fisher !== undefined) throw fisherOnly("--fisher");
    if (data.length > 0 && data.length !== adapters.length) {
      throw new TfewError(
        `merge: ${data.length} --data for ${adapters.length} --adapter folders; give one --data per adapter (its own task's data), in the same order`,
      );
    }
    const out = args.out as string;
    const { MERGE_RECORD_FILE } = await import("../merge/merge-files.js");
    await checkOutputs({
      command: "merge",
      outputs: [{ flag: "--out", path: out, kind: "folder", isOwn: ownFolder(MERGE_RECORD_FILE, "merge") }],
      inputs: inputPaths(args, ["adapter", "data", "model", "config"]),
      overwrite: args.overwrite,
    });
    const overwrite = args.overwrite;
    const summary = async () => {
      if (data.length === 0 && args.fisher === undefined) {
        const { mergeAdapterFolders } = await import("../merge/merge-files.js");
        return mergeAdapterFolders({
          adapterDirs: adapters,
          method: args.method,
          weights: args.weight ?? null,
          ...taskFlags,
          outDir: out,
          overwrite,
        });
      }
      if (data.length === 0)
        throw new TfewError(`merge: --fisher needs one --data per --adapter to compute the Fisher on`);
      const model = args.model ?? (await baseModelOf("merge", adapters[0] as string));
      const inputs = adapters.map((adapterDir, i) => {
        const flags = [
          {
            source: args.model !== undefined ? "--model" : `the base model of --adapter ${adapters[0]}`,
            key: "model",
            value: model,
          },
          { source: "--data", key: "data.path", value: data[i] },
          ...flagValue("backend", "backend", args.backend),
        ];
        return { adapterDir, config: configFromArgs(ctx, args, { flags }) };
      });
      const { fisherMerge } = await import("../merge/fisher-merge.js");
      const kind = (args.fisher ?? "model") as FisherKind;
      const s = await fisherMerge({ inputs, kind, weights: args.weight ?? null, outDir: out, overwrite, log: ctx.log });
      ctx.log(`fisher: ${s.computed} computed, ${s.reused} reused`);
      return s;
    };
    const s = await summary();
    const weights = s.weights.map((w) => w.toFixed(4)).join(", ");
    const params = Object.entries(s.methodParameters).map(([k, v]) => `${k} ${v}`);
    const how = s.weights.length > 0 ? `weights ${weights}` : params.join(", ");
    const what = `${s.vectors} vectors, ${s.parameters.toLocaleString("en-US")} parameters`;
    ctx.out(`merged ${adapters.length} adapters (${args.method}, ${how}): ${what} → ${s.outDir}`);
    return 0;
  },
});

/** A folder output that is this command's earlier output when it holds `record` (merge.json, tfew_export.json). */
export function ownFolder(record: string, command: string) {
  return {
    test: (_dir: string, entries: readonly string[]) => entries.includes(record),
    not: `is not empty and holds no ${record} (not a tfew ${command} output)`,
  };
}
