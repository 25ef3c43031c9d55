// `tfew make-demo`: regenerate the embedded demo model, tokenizer and task (data/demo-model, data/demo-task).
import { join } from "node:path";
import { defineCommand, verboseOption } from "./command.js";
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
    ...verboseOption,
  },
  async run(args, ctx) {
    const { makeDemo } = await import("../demo/make-demo.js");
    const r = await makeDemo({ outDir: args.out });
    ctx.out(`wrote ${r.modelDir} and ${r.taskDir}`);
    return 0;
  },
});
