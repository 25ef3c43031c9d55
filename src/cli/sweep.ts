// `tfew sweep run|cell|status|collect`: thin commands over src/sweep (the sweep file's cells on a local pool,
// a Slurm job array or a Kubernetes Indexed Job; one cell; the cells' state; the results table).
import type { SweepRunReport } from "../sweep/run.js";
import type { RunningChild } from "../sweep/spawn.js";
import { TfewError } from "../errors.js";
import { defineCommand, verboseOption } from "./command.js";
import { exitOnSignal, signalExitCode, takeOverSignals } from "./common.js";
import type { CommandContext } from "./io.js";

/** Stop requests for a sweep: the first SIGINT/SIGTERM stops new work and reaches the running tfew children. */
function trapSweepSignals(ctx: CommandContext): {
  requested: () => boolean;
  onChild: (child: RunningChild) => void;
  release: () => void;
  code: () => number;
} {
  const children = new Set<RunningChild>();
  let got: NodeJS.Signals | null = null;
  const release = takeOverSignals((signal) => {
    if (got !== null) exitOnSignal(signal);
    got = signal;
    ctx.log(`tfew sweep: ${signal} received; the running cells checkpoint and stop (send again to exit now)`);
    for (const child of children) child.forward(signal);
  });
  return {
    requested: () => got !== null,
    onChild: (child) => {
      children.add(child);
      void child.done.then(() => children.delete(child));
    },
    release,
    code: () => signalExitCode(got ?? "SIGTERM"),
  };
}

async function runCommandLine(
  args: {
    file: string;
    out: string;
    parallel?: number;
    dryRun: boolean;
    apply: boolean;
  },
  ctx: CommandContext,
): Promise<number> {
  const { runSweep } = await import("../sweep/run.js");
  const signals = trapSweepSignals(ctx);
  try {
    const report = await runSweep({
      sweepFile: args.file,
      out: args.out,
      cwd: process.cwd(),
      parallel: args.parallel,
      dryRun: args.dryRun,
      apply: args.apply,
      progress: ctx.out,
      onChild: signals.onChild,
      stopRequested: signals.requested,
    });
    if (signals.requested()) return signals.code();
    return reportRun(report, args.out, ctx);
  } finally {
    signals.release();
  }
}

function reportRun(report: SweepRunReport, dir: string, ctx: CommandContext): number {
  const n = report.plan.cells.length;
  if (report.engine === "local") {
    const s = report.summary;
    const counts = `${s.complete} complete now, ${s.skipped} already complete, ${s.failed} failed`;
    ctx.out(`sweep: ${n} cells (${Math.min(report.parallel, n)} at a time): ${counts}; tfew sweep collect ${dir}`);
    return s.failed > 0 ? 1 : 0;
  }
  if (report.engine === "slurm") {
    if (report.indices.length === 0)
      ctx.out(`sweep: all ${n} cells are complete or running; nothing to submit (tfew sweep status ${dir})`);
    else if (report.jobId === null)
      ctx.out(
        `wrote ${report.script} (${report.indices.length} cells; not submitted: --dry-run); submit with: sbatch ${report.script}`,
      );
    else
      ctx.out(
        `submitted Slurm job ${report.jobId}: ${report.indices.length} of ${n} cells (${report.script}); watch with tfew sweep status ${dir}`,
      );
    return 0;
  }
  if (report.applied !== null)
    ctx.out(
      `${report.applied}\napplied ${report.file} (${n} cells); the pods use the sweep folder ${report.podDir} on the runs volume`,
    );
  else
    ctx.out(
      `wrote ${report.file} (${n} cells); the pods use ${report.podDir} on the runs volume: copy ${dir} there, then kubectl apply -f ${report.file}`,
    );
  return 0;
}

/** The cell index from the argument, else from the scheduler's environment. */
function cellIndex(given: number | undefined): { index: number; scheduler: string | null } {
  const env = process.env;
  const scheduler =
    env.SLURM_ARRAY_TASK_ID !== undefined
      ? `slurm job ${env.SLURM_ARRAY_JOB_ID ?? "?"}_${env.SLURM_ARRAY_TASK_ID}`
      : env.JOB_COMPLETION_INDEX !== undefined
        ? `kubernetes pod ${env.HOSTNAME ?? "?"}`
        : null;
  const raw = given ?? env.SLURM_ARRAY_TASK_ID ?? env.JOB_COMPLETION_INDEX;
  const index = Number(raw);
  if (raw === undefined || !Number.isInteger(index) || index < 0) {
    throw new TfewError(
      `sweep cell: give the cell index (tfew sweep cell DIR I), or run it as a Slurm array task or Indexed Job pod; got ${raw ?? "none"}`,
    );
  }
  return { index, scheduler };
}

async function cellCommandLine(args: { dir: string; index?: number }, ctx: CommandContext): Promise<number> {
  const { runCell } = await import("../sweep/cell.js");
  const { scoresText } = await import("../sweep/local.js");
  const { index, scheduler } = cellIndex(args.index);
  const signals = trapSweepSignals(ctx);
  try {
    const outcome = await runCell(args.dir, index, {
      log: ctx.log,
      scheduler,
      onChild: signals.onChild,
      stopRequested: signals.requested,
    });
    if (outcome.status === "stopped") return signals.code();
    if (outcome.status === "failed") {
      ctx.log(`tfew: error: cell ${index} failed: ${outcome.error ?? "?"}; log: ${outcome.log ?? "-"}`);
      return 1;
    }
    ctx.out(
      `cell ${index}: complete${outcome.skipped ? " (already)" : ` in ${outcome.wall_s.toFixed(1)} s`}${scoresText(outcome.result)}`,
    );
    return 0;
  } finally {
    signals.release();
  }
}

async function statusCommandLine(args: { dir: string }, ctx: CommandContext): Promise<number> {
  const { sweepStatus } = await import("../sweep/run.js");
  const { describeOverrides } = await import("../sweep/cells.js");
  const { plan, states } = await sweepStatus(args.dir);
  const rows = states.map((s) => [
    String(s.index),
    s.status,
    describeOverrides(plan.cells[s.index]?.overrides ?? {}),
    s.detail ?? "",
    s.log ?? "",
  ]);
  const header = ["cell", "status", "grid values", "detail", "log"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  for (const r of [header, ...rows])
    ctx.out(
      r
        .map((v, i) => (i < r.length - 1 ? v.padEnd(widths[i] ?? 0) : v))
        .join("  ")
        .trimEnd(),
    );
  const counts = ["complete", "running", "failed", "pending"].map(
    (k) => `${states.filter((s) => s.status === k).length} ${k}`,
  );
  ctx.out(`${states.length} cells: ${counts.join(", ")}`);
  return 0;
}

async function collectCommandLine(args: { dir: string }, ctx: CommandContext): Promise<number> {
  const { collectSweep } = await import("../sweep/collect.js");
  const { rows, csv, md } = await collectSweep(args.dir);
  const complete = rows.filter((r) => r.status === "complete").length;
  ctx.out(`collected ${rows.length} cells (${complete} complete): ${csv}, ${md}`);
  return 0;
}

const dirPositional = { dir: { type: "string", demandOption: true, describe: "sweep folder" } } as const;

export const sweepCommand = defineCommand({
  command: "sweep",
  describe: "run a grid of runs (tasks × seeds × ...) locally, as a Slurm job array or a Kubernetes Indexed Job",
  options: {},
  subcommands: [
    defineCommand({
      command: "run <file>",
      describe: "make DIR/sweep.json from a sweep file, then run the unfinished cells with its engine",
      positionals: { file: { type: "string", demandOption: true, describe: "sweep file (YAML)" } },
      options: {
        out: { type: "string", demandOption: true, describe: "sweep folder (sweep.json, cells/, results)" },
        parallel: {
          type: "number",
          describe: "local engine: cells at once (default: one per GPU, else cores / workers)",
        },
        "dry-run": { type: "boolean", default: false, describe: "slurm: write DIR/sweep.sbatch without submitting" },
        apply: { type: "boolean", default: false, describe: "kubernetes: kubectl apply -f DIR/job.yaml" },
        ...verboseOption,
      },
      run: (a, ctx) =>
        runCommandLine(
          { file: String(a.file), out: a.out, parallel: a.parallel, dryRun: a["dry-run"], apply: a.apply },
          ctx,
        ),
    }),
    defineCommand({
      command: "cell <dir> [index]",
      describe: "run one cell (train, then the optional eval); the index defaults to the Slurm/Kubernetes task index",
      positionals: { ...dirPositional, index: { type: "number", describe: "cell index" } },
      options: { ...verboseOption },
      run: (a, ctx) => cellCommandLine({ dir: String(a.dir), index: a.index as number | undefined }, ctx),
    }),
    defineCommand({
      command: "status <dir>",
      describe: "table of the cells: pending / running / complete / failed, last error line and log",
      positionals: dirPositional,
      options: { ...verboseOption },
      run: (a, ctx) => statusCommandLine({ dir: String(a.dir) }, ctx),
    }),
    defineCommand({
      command: "collect <dir>",
      describe: "write DIR/results.csv (one row per cell) and DIR/results.md (mean ± std over seeds per task)",
      positionals: dirPositional,
      options: { ...verboseOption },
      run: (a, ctx) => collectCommandLine({ dir: String(a.dir) }, ctx),
    }),
  ],
});
