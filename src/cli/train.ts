// `tfew train`: train (IA)³ vectors with the T-Few recipe; no options trains the embedded demo. The run folder
// is claimed and locked before anything loads; --resume continues a killed run from its folder (train-resume.ts:
// which flags it honours), under the same lock.
import { dirname, join, resolve } from "node:path";
import type { RunConfig } from "../config/schema.js";
import { DISK_CODES, WriteFailure, writeFailure } from "../io/atomic.js";
import { claimRunDir, defaultRunDir, finishedRun } from "../io/run-dir.js";
import { lockRunDir, type RunLock } from "../io/run-lock.js";
import { defineCommand, configOptions, flagValue } from "./command.js";
import { shownPath, trapSignals } from "./common.js";
import { configFromArgs } from "./sources.js";
import type { TrainSummary } from "../train/summary.js";
import type { CommandContext } from "./io.js";
import { resumeConfig } from "./train-resume.js";

interface TrainPlan {
  config: RunConfig;
  runDir: string;
  recorded: RunConfig | null; // on --resume: the run's config.resolved.yaml
  acceptChangedInputs: boolean;
}

export const trainCommand = defineCommand({
  command: "train",
  describe: "train (IA)³ vectors with the T-Few recipe (no options: the embedded demo)",
  options: {
    ...configOptions,
    resume: { type: "string", describe: "continue a killed run from its folder" },
    "accept-changed-inputs": {
      type: "boolean",
      default: false,
      describe: "--resume: continue although a data or model file changed (recorded in manifest.json)",
    },
  },
  async run(args, ctx) {
    const acceptChangedInputs = args["accept-changed-inputs"] === true;
    if (args.resume !== undefined) {
      const runDir = args.resume;
      const { config, recorded } = resumeConfig(ctx, { ...args, resume: runDir });
      const advice = "wait for it to end (one process at a time trains in a run folder)";
      const lock = await lockRunDir(runDir, { command: "resume", log: ctx.log, advice });
      const finished = await finishedRun(runDir, { steps: config.train.steps }).catch((error: unknown) => {
        lock.release();
        throw error;
      });
      if (finished !== null) {
        lock.release();
        const done = `${finished.steps} of ${config.train.steps} steps`;
        ctx.out(`resume: ${runDir} already finished ${done}; nothing to do (adapter: ${finished.adapterDir})`);
        return 0;
      }
      return train({ config, runDir, recorded, acceptChangedInputs }, lock, ctx);
    }
    const flags = [...flagValue("backend", "backend", args.backend), ...flagValue("out", "out", args.out)];
    const config = configFromArgs(ctx, args, { flags });
    const runDir = config.out ?? defaultRunDir();
    const lock = await claimRunDir(runDir, { log: ctx.log }); // before anything loads: a run is never overwritten
    return train({ config, runDir, recorded: null, acceptChangedInputs }, lock, ctx);
  },
});

/** Trains under the folder's lock, released however it ends (an exit hook covers a second Ctrl-C's exit). */
async function train(plan: TrainPlan, lock: RunLock, ctx: CommandContext): Promise<number> {
  process.on("exit", lock.release);
  try {
    const signals = trapSignals(ctx.io);
    try {
      const { runTraining } = await import("../train/run.js");
      const summary = await runTraining({
        config: plan.config,
        runDir: plan.runDir,
        resume: plan.recorded !== null,
        ...(plan.recorded !== null ? { recordedConfig: plan.recorded } : {}),
        acceptChangedInputs: plan.acceptChangedInputs,
        log: ctx.log,
        stopRequested: signals.requested,
      }).catch((error: unknown) => Promise.reject(resumable(error, plan.runDir)));
      return reportEnd(summary, ctx);
    } finally {
      signals.release();
    }
  } finally {
    process.off("exit", lock.release);
    lock.release();
  }
}

function reportEnd(summary: TrainSummary, ctx: CommandContext): number {
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
}

/** A full (or failing, read-only) disk during training: one line that says how to resume once it is fixed. */
function resumable(error: unknown, runDir: string): unknown {
  if (!(error instanceof WriteFailure) || !DISK_CODES.has(error.code)) return error;
  return writeFailure(error.path, error.cause, `run \`tfew train --resume ${runDir}\``);
}
