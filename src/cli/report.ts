// `tfew report RUN_OR_SWEEP... --out report.html`: the thin CLI over src/report's writeReport.
import type { Argv } from "yargs";
import { writeReport } from "../report/report.js";

export const reportOptions = {
  out: {
    type: "string",
    default: "report.html",
    describe: "HTML file to write (self-contained; never overwrites a file that is not a tfew report)",
  },
  smoothing: {
    type: "number",
    default: 0.6,
    describe: "EMA weight of the smoothed curves (TensorBoard's default 0.6; 0 = none)",
  },
  verbose: { type: "boolean", default: false, describe: "print stack traces on errors" },
} as const;

export function reportBuilder(y: Argv): Argv {
  return y
    .positional("folders", {
      type: "string",
      array: true,
      describe: "run folders (tfew train), sweep folders (tfew sweep), or folders of runs",
    })
    .options(reportOptions);
}

export async function reportCommand(args: { folders: string[]; out: string; smoothing: number }): Promise<number> {
  const r = await writeReport({ inputs: args.folders, out: args.out, smoothing: args.smoothing });
  process.stdout.write(
    `wrote ${r.out}: ${r.runs} run${r.runs === 1 ? "" : "s"}, ${r.charts} charts, ${(r.bytes / 1024).toFixed(0)} KiB (open it in a browser; no network needed)\n`,
  );
  return 0;
}
