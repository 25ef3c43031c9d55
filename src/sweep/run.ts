// `tfew sweep run` and `tfew sweep status`: read the sweep file, make or reuse the sweep folder, then hand the
// unfinished cells to the engine the file names (local pool, Slurm job array, Kubernetes Indexed Job).
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { TfewError } from "../errors.js";
import type { SweepCell } from "./cells.js";
import { writeKubernetesJob } from "./kubernetes.js";
import { countGpus, defaultParallel, runLocal, type LocalSummary } from "./local.js";
import { loadSweepFile } from "./schema.js";
import { slurmTaskStates, submitSlurm } from "./slurm.js";
import { tfewCommand, type RunningChild } from "./spawn.js";
import { cellState, type CellState } from "./state.js";
import { prepareSweepDir, readPlan, type SweepPlan } from "./sweep-dir.js";

export interface SweepRunOptions {
  sweepFile: string;
  out: string;
  cwd: string;
  parallel?: number; // local: cells at once (default: one per GPU, else cores / workers)
  dryRun: boolean; // slurm: write sweep.sbatch without submitting
  apply: boolean; // kubernetes: kubectl apply -f job.yaml
  progress: (line: string) => void;
  onChild?: (child: RunningChild) => void;
  stopRequested?: () => boolean;
}

export type SweepRunReport = { dir: string; plan: SweepPlan } & (
  | { engine: "local"; parallel: number; summary: LocalSummary }
  | { engine: "slurm"; script: string; jobId: string | null; indices: number[] }
  | { engine: "kubernetes"; file: string; podDir: string; applied: string | null }
);

export async function runSweep(options: SweepRunOptions): Promise<SweepRunReport> {
  if (options.parallel !== undefined && (!Number.isInteger(options.parallel) || options.parallel < 1)) {
    throw new TfewError(`--parallel ${options.parallel} must be a positive integer`);
  }
  const loaded = loadSweepFile(resolve(options.cwd, options.sweepFile));
  const { sweep } = loaded;
  const dir = resolve(options.cwd, options.out);
  const { plan, cells } = await prepareSweepDir(dir, loaded, { cwd: options.cwd, warn: options.progress });
  if (sweep.engine === "local") {
    const gpus = countGpus();
    const workers = cells.map((c) => c.config.workers);
    const parallel =
      options.parallel ??
      defaultParallel({ gpus, cores: availableParallelism(), workers, maxParallel: sweep.max_parallel });
    const summary = await runLocal(dir, plan, {
      parallel,
      gpus,
      progress: options.progress,
      onChild: options.onChild,
      stopRequested: options.stopRequested,
    });
    return { engine: "local", dir, plan, parallel, summary };
  }
  if (sweep.engine === "slurm") {
    const indices = await unfinished(dir, plan.cells);
    if (indices.length === 0) return { engine: "slurm", dir, plan, script: "", jobId: null, indices };
    const r = await submitSlurm(dir, plan, {
      indices,
      slurm: sweep.slurm,
      maxParallel: sweep.max_parallel,
      tfew: tfewCommand(),
      dryRun: options.dryRun,
    });
    return { engine: "slurm", dir, plan, ...r, indices };
  }
  const r = await writeKubernetesJob(dir, plan, {
    k8s: sweep.kubernetes,
    maxParallel: sweep.max_parallel,
    apply: options.apply,
  });
  return { engine: "kubernetes", dir, plan, ...r };
}

/** Cells neither complete nor running: what a (re)submission runs. */
async function unfinished(dir: string, cells: readonly SweepCell[]): Promise<number[]> {
  const states = await Promise.all(cells.map((c) => cellState(dir, c)));
  return states.filter((s) => s.status === "pending" || s.status === "failed").map((s) => s.index);
}

/** Each cell's state; a pending cell of a submitted Slurm job says its queue state (squeue), running once Slurm runs it. */
export async function sweepStatus(sweepDir: string): Promise<{ plan: SweepPlan; states: CellState[] }> {
  const plan = await readPlan(sweepDir);
  const states = await Promise.all(plan.cells.map((c) => cellState(sweepDir, c)));
  const slurm =
    plan.engine === "slurm" ? await slurmTaskStates(sweepDir) : { jobId: null, states: new Map<number, string>() };
  for (const state of states) {
    const queued = slurm.states.get(state.index);
    if (state.status !== "pending" || queued === undefined) continue;
    if (queued === "RUNNING") state.status = "running"; // started, before its cell took the lock
    state.detail = `Slurm job ${slurm.jobId}_${state.index} ${queued}${state.detail === null ? "" : `; ${state.detail}`}`;
  }
  return { plan, states };
}
