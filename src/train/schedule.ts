// Learning-rate schedule: linear warmup then linear decay to 0, as transformers'
// get_linear_schedule_with_warmup (and T-Few's "linear_decay_with_warmup") computes it per optimizer step.
import { TfewError } from "../errors.js";

export interface LinearScheduleOptions {
  /** peak learning rate, reached at the end of warmup */
  lr: number;
  /** optimizer steps in the whole run; the rate reaches 0 there */
  totalSteps: number;
  /** fraction of totalSteps spent warming up; warmup steps = round(warmupRatio * totalSteps) */
  warmupRatio: number;
}

/**
 * The learning rate of 0-based optimizer step `step`: lr * step / warmup while step < warmup (so step 0 uses
 * 0 when there is warmup, as in transformers), then lr * max(0, (total - step) / (total - warmup)).
 * Note: T-Few passes warmup = warmupRatio * totalSteps unrounded; we round it to whole steps.
 */
export function learningRateAt(step: number, options: LinearScheduleOptions): number {
  const { lr, totalSteps, warmupRatio } = options;
  if (!Number.isInteger(step) || step < 0) {
    throw new TfewError(`learning-rate schedule: step ${step} is not an integer >= 0; steps count from 0`);
  }
  if (!Number.isInteger(totalSteps) || totalSteps < 1) {
    throw new TfewError(`learning-rate schedule: total steps ${totalSteps} is not an integer >= 1; set num_steps`);
  }
  if (!Number.isFinite(warmupRatio) || warmupRatio < 0 || warmupRatio > 1) {
    throw new TfewError(`learning-rate schedule: warmup ratio ${warmupRatio} is outside [0, 1]; set warmup_ratio`);
  }
  if (!Number.isFinite(lr) || lr < 0) {
    throw new TfewError(`learning-rate schedule: lr ${lr} is not a finite number >= 0; set lr`);
  }
  const warmup = Math.round(warmupRatio * totalSteps);
  if (step < warmup) return (lr * step) / Math.max(1, warmup);
  return lr * Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmup));
}
