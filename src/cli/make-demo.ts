// `tfew make-demo`: regenerate the embedded demo model, tokenizer and task (data/demo-model, data/demo-task).
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { checkOutputs, type OutputTarget } from "../io/outputs.js";
import { defineCommand, overwriteOption, verboseOption } from "./command.js";
import { PACKAGE_ROOT } from "./common.js";

export const makeDemoCommand = defineCommand({
  command: "make-demo",
  describe: "regenerate the embedded demo model, tokenizer and task (data/)",
  options: {
    out: {
      type: "string",
      default: join(PACKAGE_ROOT, "data"),
      describe: "folder to write demo-model/ and demo-task/ into",
    },
    ...overwriteOption,
    ...verboseOption,
  },
  async run(args, ctx) {
    const { DEMO_MODEL_DIR, DEMO_TASK_DIR, makeDemo } = await import("../demo/make-demo.js");
    const outputs = [DEMO_MODEL_DIR, DEMO_TASK_DIR].map((name): OutputTarget => ({
      flag: "--out",
      path: join(args.out, name),
      kind: "folder",
      isOwn: { test: (dir) => readme(join(dir, "README.md")).startsWith(`# ${name}:`), not: "is not a tfew demo" },
    }));
    await checkOutputs({ command: "make-demo", outputs, inputs: [], overwrite: args.overwrite });
    const r = await makeDemo({ outDir: args.out });
    ctx.out(`wrote ${r.modelDir} and ${r.taskDir}`);
    return 0;
  },
});

function readme(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
