// The local engine: the sweep's cells on this machine with a bounded pool (one cell per GPU, each child seeing
// only its GPU; on CPU, cores / workers at once), one progress line per cell.
import { spawnSync } from "node:child_process";
import { isTfewError } from "../errors.js";
import { describeOverrides } from "./cells.js";
import { runCell, type CellOutcome } from "./cell.js";
import type { RunningChild } from "./spawn.js";
import type { CellComplete } from "./state.js";
import type { SweepPlan } from "./sweep-dir.js";

/** GPUs `nvidia-smi -L` lists (0 without nvidia-smi). */
export function countGpus(): number {
  const r = spawnSync("nvidia-smi", ["-L"], { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0 || typeof r.stdout !== "string") return 0;
  return r.stdout.split("\n").filter((line) => line.startsWith("GPU ")).length;
}

/** Default pool size: one cell per GPU; on CPU max(1, floor(cores / workers)), auto workers = all cores. */
export function defaultParallel(options: {
  gpus: number;
  cores: number;
  workers: readonly (number | "auto")[];
  maxParallel: number | null;
}): number {
  const widest = Math.max(1, ...options.workers.map((w) => (w === "auto" ? options.cores : w)));
  const n = options.gpus > 0 ? options.gpus : Math.max(1, Math.floor(options.cores / widest));
  return options.maxParallel === null ? n : Math.min(n, options.maxParallel);
}

export interface LocalOptions {
  parallel: number;
  gpus: number; // > 0: slot s runs its cells with CUDA_VISIBLE_DEVICES = s % gpus
  progress: (line: string) => void; // one line per cell
  onChild?: (child: RunningChild) => void;
  stopRequested?: () => boolean;
}

export interface LocalSummary {
  complete: number;
  failed: number;
  skipped: number; // complete before this run
  stopped: number; // not finished because a stop was requested
}

export async function runLocal(sweepDir: string, plan: SweepPlan, options: LocalOptions): Promise<LocalSummary> {
  const queue = plan.cells.map((c) => c.index);
  const total = queue.length;
  const summary: LocalSummary = { complete: 0, failed: 0, skipped: 0, stopped: 0 };
  let finished = 0;
  const slot = async (s: number) => {
    const env = options.gpus > 0 ? { CUDA_VISIBLE_DEVICES: String(s % options.gpus) } : undefined;
    for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
      if (options.stopRequested?.()) {
        summary.stopped += 1;
        continue;
      }
      const outcome = await runCell(sweepDir, index, {
        log: () => undefined,
        env,
        onChild: options.onChild,
        stopRequested: options.stopRequested,
      }).catch((error: unknown): CellOutcome => {
        if (!isTfewError(error)) throw error;
        return { index, status: "failed", skipped: false, error: error.message, log: null, wall_s: 0, result: null };
      });
      finished += 1;
      if (outcome.skipped) summary.skipped += 1;
      else summary[outcome.status] += 1;
      options.progress(progressLine(plan, outcome, { finished, total }));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.parallel, total)) }, (_, s) => slot(s)));
  return summary;
}

/** `, final loss 0.1234, accuracy 0.812, macro-F1 0.790` (what complete.json holds). */
export function scoresText(result: CellComplete | null): string {
  if (result === null) return "";
  const parts = [
    ...(result.final_loss !== null ? [`final loss ${result.final_loss.toFixed(4)}`] : []),
    ...(result.accuracy !== null ? [`accuracy ${result.accuracy.toFixed(3)}`] : []),
    ...(result.macro_f1 !== null ? [`macro-F1 ${result.macro_f1.toFixed(3)}`] : []),
  ];
  return parts.length === 0 ? "" : `: ${parts.join(", ")}`;
}

/** `[3/8] cell 2 (seed=1): complete in 12.3 s` / `... failed: train: tfew: error: ...; log: DIR/.../train.log`. */
export function progressLine(plan: SweepPlan, outcome: CellOutcome, at: { finished: number; total: number }): string {
  const cell = plan.cells[outcome.index];
  const head = `[${at.finished}/${at.total}] cell ${outcome.index}${cell === undefined ? "" : ` (${describeOverrides(cell.overrides)})`}`;
  if (outcome.skipped) return `${head}: complete (skipped)`;
  if (outcome.status === "complete")
    return `${head}: complete in ${outcome.wall_s.toFixed(1)} s${scoresText(outcome.result)}`;
  if (outcome.status === "stopped") return `${head}: stopped; rerun tfew sweep run to resume it`;
  return `${head}: failed: ${outcome.error ?? "unknown error"}${outcome.log === null ? "" : `; log: ${outcome.log}`}`;
}
