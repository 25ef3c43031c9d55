// Per-task losses of a multi-task batch (reported, never trained on: the objective stays the whole batch's):
// each example's loss sums (losses.ts lossSums perExample) grouped by task, each task divided by its own
// examples' counts.
import { batchNormalizers, type TfewExample } from "./batch.js";
import { lossValues, type LossValues } from "./losses.js";

export interface Sums {
  lm: number;
  ul: number;
  ln: number;
}

/** Adds each example's sums into its task's entry. */
export function addByTask(into: Map<number, Sums>, sums: readonly Sums[], tasks: readonly number[]): void {
  sums.forEach((s, b) => {
    const task = tasks[b] ?? 0;
    const acc = into.get(task) ?? { lm: 0, ul: 0, ln: 0 };
    into.set(task, { lm: acc.lm + s.lm, ul: acc.ul + s.ul, ln: acc.ln + s.ln });
  });
}

/** Each task's losses over its own examples of the batch (keyed by task index). */
export function taskLosses(
  examples: readonly TfewExample[],
  sums: ReadonlyMap<number, Sums>,
  weights: { ul: number; ln: number },
): Map<number, { losses: LossValues; examples: number }> {
  const out = new Map<number, { losses: LossValues; examples: number }>();
  for (const [task, s] of [...sums].sort((a, b) => a[0] - b[0])) {
    const mine = examples.filter((e) => (e.task ?? 0) === task);
    out.set(task, { losses: lossValues(s, batchNormalizers(mine), weights), examples: mine.length });
  }
  return out;
}
