// `tfew merge`: several (IA)³ adapters of one model → one PEFT IA3 adapter folder (src/merge/merge-files.ts).
import { mergeAdapterFolders } from "../merge/merge-files.js";
import type { MergeMethod } from "../merge/merge.js";

export interface MergeArgs {
  adapter: string[];
  method: MergeMethod;
  weight?: number[];
  out: string;
}

export async function mergeCommand(args: MergeArgs): Promise<number> {
  const summary = await mergeAdapterFolders({ adapterDirs: args.adapter, method: args.method, weights: args.weight ?? null, outDir: args.out });
  const weights = summary.weights.map((w) => w.toFixed(4)).join(", ");
  process.stdout.write(`merged ${args.adapter.length} adapters (${args.method}, weights ${weights}): ${summary.vectors} vectors, ${summary.parameters.toLocaleString("en-US")} parameters → ${summary.outDir}\n`);
  return 0;
}
