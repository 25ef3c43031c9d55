// `tfew export`: fold an (IA)³ adapter into its base model and write a plain Hugging Face model folder
// (src/merge/export.ts).
import { checkOutputs } from "../io/outputs.js";
import { defineCommand, inputPaths, lastValue, overwriteOption, verboseOption } from "./command.js";
import { ownFolder } from "./merge.js";

export const exportCommand = defineCommand({
  command: "export",
  describe: "fold an (IA)³ adapter into its base model's weights; write a Hugging Face model folder",
  options: {
    model: { type: "string", demandOption: true, describe: "base model folder or hub id" },
    adapter: { type: "string", demandOption: true, describe: "adapter folder (tfew or PEFT IA3)" },
    out: { type: "string", demandOption: true, describe: "new folder for the exported model", coerce: lastValue },
    tokenizer: { type: "string", describe: "copy the tokenizer files from here (default: the model folder)" },
    revision: { type: "string", describe: "hub branch, tag or commit of --model" },
    ...overwriteOption,
    ...verboseOption,
  },
  async run(args, ctx) {
    const { EXPORT_RECORD_FILE, exportModel } = await import("../merge/export.js");
    await checkOutputs({
      command: "export",
      outputs: [
        { flag: "--out", path: args.out as string, kind: "folder", isOwn: ownFolder(EXPORT_RECORD_FILE, "export") },
      ],
      inputs: inputPaths(args, ["model", "adapter", "tokenizer"]),
      overwrite: args.overwrite,
    });
    const summary = await exportModel({
      model: args.model,
      revision: args.revision,
      adapterDir: args.adapter,
      outDir: args.out as string,
      tokenizerDir: args.tokenizer ?? null,
      overwrite: args.overwrite,
      log: ctx.log,
    });
    const files = `${summary.weightFiles.length} weight file${summary.weightFiles.length === 1 ? "" : "s"}`;
    const folded = `${summary.folded} (IA)³ vectors folded in (${summary.dtypes.join(", ")}, ${files})`;
    ctx.out(`exported ${args.model} with ${folded} → ${summary.outDir}`);
    return 0;
  },
});
