// `tfew report RUN_OR_SWEEP... --output report.html`: one self-contained HTML page of charts (src/report).
import { checkOutputs } from "../io/outputs.js";
import { defineCommand, deprecatedAlias, lastValue, overwriteOption, verboseOption } from "./command.js";

export const reportCommand = defineCommand({
  command: "report <folders..>",
  describe: "one self-contained HTML page of charts (losses, lr, throughput, GPU, eval) from run or sweep folders",
  positionals: {
    folders: {
      type: "string",
      array: true,
      describe: "run folders (tfew train), sweep folders (tfew sweep), or folders of runs",
    },
  },
  options: {
    output: {
      type: "string",
      describe: "HTML file to write (default report.html; --overwrite replaces an earlier tfew report, nothing else)",
      coerce: lastValue,
    },
    out: { type: "string", describe: "deprecated spelling of --output", hidden: true, coerce: lastValue },
    smoothing: {
      type: "number",
      default: 0.6,
      describe: "EMA weight of the smoothed curves (TensorBoard's default 0.6; 0 = none)",
    },
    ...overwriteOption,
    ...verboseOption,
  },
  async run(args, ctx) {
    const out = deprecatedAlias(ctx, { command: "report", old: "out", now: "output" }, args.output, args.out);
    const { isReport, writeReport } = await import("../report/report.js");
    const folders = (args.folders as string[] | undefined) ?? [];
    const file = out ?? "report.html";
    await checkOutputs({
      command: "report",
      outputs: [
        {
          flag: "--output",
          path: file,
          kind: "file",
          isOwn: { test: isReport, not: "exists and is not a tfew report" },
        },
      ],
      inputs: folders.map((path) => ({ flag: "the folder", path })),
      overwrite: args.overwrite,
    });
    const r = await writeReport({ inputs: folders, out: file, smoothing: args.smoothing });
    const runs = `${r.runs} run${r.runs === 1 ? "" : "s"}`;
    const size = `${(r.bytes / 1024).toFixed(0)} KiB`;
    ctx.out(`wrote ${r.out}: ${runs}, ${r.charts} charts, ${size} (open it in a browser; no network needed)`);
    return 0;
  },
});
