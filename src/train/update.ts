// The optimizer update of one training step with its non-finite guard: a NaN/Inf loss, gradient or updated
// vector stops the run (train.skip_nonfinite: false) or skips the step, leaving vectors and optimizer state as
// they were before it.
import { TfewError } from "../errors.js";
import type { Training } from "./setup.js";

/** The optimizer update, undone when it would make a vector non-finite; returns what went wrong, or null. */
export function applyUpdate(
  t: Training,
  result: { losses: { total: number }; grads: Map<string, Float32Array> },
  lr: number,
): string | null {
  if (!Number.isFinite(result.losses.total)) return `the loss is ${result.losses.total}`;
  if (!allFinite(result.grads)) return "a gradient is not finite";
  const before = t.config.train.skip_nonfinite ? { params: copyVectors(t.params), state: t.optimizer.state() } : null;
  t.optimizer.step(t.params, result.grads, lr);
  if (allFinite(t.params)) return null;
  if (before !== null) {
    for (const [path, v] of before.params) t.params.set(path, v);
    t.optimizer.loadState(before.state);
  }
  return "the update made an (IA)³ vector non-finite";
}

/** A step applyUpdate refused: counted and logged with train.skip_nonfinite, else the run stops in one line. */
export function skipStep(t: Training, problem: string, log: (line: string) => void): void {
  if (!t.config.train.skip_nonfinite) {
    throw new TfewError(
      `training: non-finite values at step ${t.step + 1} (${problem}); stopped, ${t.lastCheckpointStep === null ? "no checkpoint had been written yet" : `the last good checkpoint (step ${t.lastCheckpointStep}) is kept in ${t.runDir}`}; start a new run (--out) with a lower train.lr or train.skip_nonfinite: true (a resume would repeat this step)`,
    );
  }
  t.nonfiniteSkipped++;
  log(`warning: step ${t.step + 1} skipped: ${problem} (${t.nonfiniteSkipped} skipped so far)`);
}

function allFinite(values: ReadonlyMap<string, Float32Array>): boolean {
  for (const v of values.values())
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i] as number)) return false;
  return true;
}

function copyVectors(values: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  return new Map([...values].map(([path, v]) => [path, Float32Array.from(v)]));
}
