// `tfew convert --from t-few FILE.pt --model M --out DIR`: t-few's (IA)³ checkpoint → a PEFT IA3 adapter folder
// (src/adapters/t-few.ts: which tensor goes where, and why wi_1's output scale is wo's input scale).
import { defineCommand, lastValue, verboseOption } from "./command.js";

export const CONVERT_FORMATS = ["t-few"] as const;

export const convertCommand = defineCommand({
  command: "convert <file>",
  describe: "convert another tool's (IA)³ checkpoint (t-few's FILE.pt) into a PEFT IA3 adapter folder",
  positionals: { file: { type: "string", describe: "the checkpoint file (t-few: finish.pt, t03b_ia3_finish.pt)" } },
  options: {
    from: { type: "string", choices: CONVERT_FORMATS, demandOption: true, describe: "the checkpoint's format" },
    model: { type: "string", demandOption: true, describe: "the base model it was trained on (folder or hub id)" },
    revision: { type: "string", describe: "hub branch, tag or commit of --model" },
    out: { type: "string", demandOption: true, describe: "new folder for the adapter", coerce: lastValue },
    ...verboseOption,
  },
  async run(args, ctx) {
    const { convertTfewFile } = await import("../adapters/t-few.js");
    const file = String(args.file);
    const out = args.out as string;
    const a = await convertTfewFile({ file, model: args.model, revision: args.revision, outDir: out });
    const parameters = [...a.values.values()].reduce((n, v) => n + v.length, 0).toLocaleString("en-US");
    const targets = JSON.stringify(a.config.targetModules);
    ctx.out(
      `converted ${file} (t-few): ${a.values.size} vectors, ${parameters} parameters, targets ${targets} → ${out}`,
    );
    return 0;
  },
});
