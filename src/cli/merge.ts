// `tfew merge`: several (IA)³ adapters of one model → one PEFT IA3 adapter folder (src/merge/merge-files.ts);
// with --method fisher --data: each adapter's Fisher on its own data first (src/merge/fisher-merge.ts).
import { existsSync } from "node:fs";
import { FISHER_KINDS, type FisherKind } from "../engine/fisher-settings.js";
import { TfewError } from "../errors.js";
import { peftFiles, readJson } from "../io/run-dir.js";
import { fisherMerge } from "../merge/fisher-merge.js";
import { mergeAdapterFolders } from "../merge/merge-files.js";
import type { MergeMethod } from "../merge/merge.js";
import { configFromArgs, log } from "./common.js";

export interface MergeArgs {
  adapter: string[];
  method: MergeMethod;
  weight?: number[];
  out: string;
  data?: string[]; // fisher: one per --adapter
  fisher?: string; // model | empirical
  set?: string[];
  config?: string[];
  model?: string;
  backend?: string;
}

export async function mergeCommand(args: MergeArgs): Promise<number> {
  const data = args.data ?? [];
  const fisherOnly = (flag: string) =>
    new TfewError(
      `merge: ${flag} is for --method fisher (it computes each adapter's Fisher on its data); drop it or use --method fisher`,
    );
  if (args.method !== "fisher" && data.length > 0) throw fisherOnly("--data");
  if (args.method !== "fisher" && args.fisher !== undefined) throw fisherOnly("--fisher");
  if (data.length > 0 && data.length !== args.adapter.length) {
    throw new TfewError(
      `merge: ${data.length} --data for ${args.adapter.length} --adapter folders; give one --data per adapter (its own task's data), in the same order`,
    );
  }
  if (args.fisher !== undefined && !(FISHER_KINDS as readonly string[]).includes(args.fisher))
    throw new TfewError(`merge: --fisher ${args.fisher} is not one of ${FISHER_KINDS.join(", ")}`);
  if (data.length > 0 || args.fisher !== undefined) {
    if (data.length === 0)
      throw new TfewError(`merge: --fisher needs one --data per --adapter to compute the Fisher on`);
    const model = args.model ?? (await baseModelOf(args.adapter[0] as string));
    const inputs = args.adapter.map((adapterDir, i) => ({
      adapterDir,
      config: configFromArgs({
        config: args.config,
        set: [`model=${model}`, ...(args.set ?? []), `data.path=${data[i] as string}`],
        backend: args.backend,
      }).config,
    }));
    const summary = await fisherMerge({
      inputs,
      kind: (args.fisher ?? "model") as FisherKind,
      weights: args.weight ?? null,
      outDir: args.out,
      log,
    });
    log(`fisher: ${summary.computed} computed, ${summary.reused} reused`);
    printSummary(args, summary);
    return 0;
  }
  printSummary(
    args,
    await mergeAdapterFolders({
      adapterDirs: args.adapter,
      method: args.method,
      weights: args.weight ?? null,
      outDir: args.out,
    }),
  );
  return 0;
}

function printSummary(
  args: MergeArgs,
  summary: { vectors: number; parameters: number; weights: number[]; outDir: string },
): void {
  const weights = summary.weights.map((w) => w.toFixed(4)).join(", ");
  process.stdout.write(
    `merged ${args.adapter.length} adapters (${args.method}, weights ${weights}): ${summary.vectors} vectors, ${summary.parameters.toLocaleString("en-US")} parameters → ${summary.outDir}\n`,
  );
}

/** The base model recorded in an adapter's adapter_config.json (the model the Fisher runs on). */
async function baseModelOf(adapterDir: string): Promise<string> {
  const file = peftFiles(adapterDir).config;
  if (!existsSync(file))
    throw new TfewError(
      `merge: adapter folder ${adapterDir} has no adapter_config.json; give folders written by tfew train (run/adapter), tfew merge or PEFT`,
    );
  const config = await readJson<{ base_model_name_or_path?: string }>(file);
  if (!config.base_model_name_or_path)
    throw new TfewError(`merge: ${file} names no base model; add --model M for the Fisher's forward passes`);
  return config.base_model_name_or_path;
}
