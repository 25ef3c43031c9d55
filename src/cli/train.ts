// `tfew train`: train (IA)³ vectors with the T-Few recipe; no options trains the embedded demo. The run folder
// is claimed before anything loads; --resume continues a killed run from its folder.
import { dirname, join, resolve } from "node:path";
import type { RunConfig } from "../config/schema.js";
import { DISK_CODES, WriteFailure, writeFailure } from "../io/atomic.js";
import { claimRunDir, defaultRunDir, finishedRun } from "../io/run-dir.js";
import { defineCommand, configOptions, flagValue } from "./command.js";
import { shownPath, trapSignals } from "./common.js";
import { configFromArgs, loadConfig, runConfigFile } from "./sources.js";
import type { CommandContext } from "./io.js";

export const trainCommand = defineCommand({
  command: "train",
  describe: "train (IA)³ vectors with the T-Few recipe (no options: the embedded demo)",
  options: { ...configOptions, resume: { type: "string", describe: "continue a killed run from its folder" } },
  async run(args, ctx) {
    let config: RunConfig;
    let runDir: string;
    if (args.resume !== undefined) {
      const hint = "the run stopped before writing it, or the path is wrong; start a new run or fix the path";
      config = loadConfig(ctx, { files: [runConfigFile("resume", args.resume, hint)], sets: [] });
      runDir = args.resume;
      const finished = await finishedRun(runDir, { steps: config.train.steps });
      if (finished !== null) {
        const done = `${finished.steps} of ${config.train.steps} steps`;
        ctx.out(`resume: ${runDir} already finished ${done}; nothing to do (adapter: ${finished.adapterDir})`);
        return 0;
      }
    } else {
      const flags = [...flagValue("backend", "backend", args.backend), ...flagValue("out", "out", args.out)];
      config = configFromArgs(ctx, args, { flags });
      runDir = config.out ?? defaultRunDir();
      await claimRunDir(runDir); // before anything loads: a run is never overwritten
    }
    return train(config, runDir, args.resume !== undefined, ctx);
  },
});

async function train(config: RunConfig, runDir: string, resume: boolean, ctx: CommandContext): Promise<number> {
  const { runTraining } = await import("../train/run.js");
  const signals = trapSignals(ctx.io);
  try {
    const summary = await runTraining({ config, runDir, resume, log: ctx.log, stopRequested: signals.requested }).catch(
      (error: unknown) => Promise.reject(resumable(error, runDir)),
    );
    if (summary.stopped_by !== null) {
      ctx.log(
        `stopped by ${summary.stopped_by} after step ${summary.steps}; resume with: tfew train --resume ${summary.run_dir}`,
      );
      return summary.stopped_by === "SIGINT" ? 130 : 143;
    }
    const parts = [`${summary.steps} steps in ${summary.wall_s.toFixed(1)} s on ${summary.backend}`];
    if (summary.first_loss !== null && summary.final_loss !== null)
      parts.push(`loss ${summary.first_loss.toFixed(4)} → ${summary.final_loss.toFixed(4)}`);
    if (summary.examples_per_s !== null) parts.push(`${summary.examples_per_s.toFixed(1)} examples/s`);
    ctx.out(`done: ${parts.join(", ")}; adapter: ${summary.adapter_dir}`);
    const shownRun = shownPath(summary.run_dir);
    ctx.out(`curves: tensorboard --logdir ${shownPath(dirname(resolve(summary.run_dir)))}`);
    ctx.out(`        tfew report ${shownRun} --output ${join(shownRun, "report.html")}`);
    return 0;
  } finally {
    signals.release();
  }
}

/** A full (or failing, read-only) disk during training: one line that says how to resume once it is fixed. */
function resumable(error: unknown, runDir: string): unknown {
  if (!(error instanceof WriteFailure) || !DISK_CODES.has(error.code)) return error;
  return writeFailure(error.path, error.cause, `run \`tfew train --resume ${runDir}\``);
}
