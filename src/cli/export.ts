// `tfew export`: fold an (IA)³ adapter into its base model and write a plain Hugging Face model folder
// (src/merge/export.ts).
import { exportModel } from "../merge/export.js";
import { log } from "./common.js";

export interface ExportArgs {
  model: string;
  adapter: string;
  out: string;
  tokenizer?: string;
  revision?: string;
}

export async function exportCommand(args: ExportArgs): Promise<number> {
  const summary = await exportModel({
    model: args.model,
    revision: args.revision,
    adapterDir: args.adapter,
    outDir: args.out,
    tokenizerDir: args.tokenizer ?? null,
    log,
  });
  process.stdout.write(
    `exported ${args.model} with ${summary.folded} (IA)³ vectors folded in (${summary.dtypes.join(", ")}, ${summary.weightFiles.length} weight file${summary.weightFiles.length === 1 ? "" : "s"}) → ${summary.outDir}\n`,
  );
  return 0;
}
