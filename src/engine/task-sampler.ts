// Multi-task batches: each draw picks a task with probability ∝ weight × examples (a seeded generator per
// draw, so the state is a counter), then that task's next example from its own epoch-wise permutation.
// Serializable state: an exact resume continues the same draws.
import { EpochSampler, mulberry32, type SamplerState } from "./rng.js";

export interface TaskSamplerState {
  draws: number; // examples drawn so far
  tasks: SamplerState[]; // each task's epoch sampler
}

export class TaskSampler {
  private readonly samplers: EpochSampler[];
  private readonly cumulative: number[]; // [tasks] cumulative probabilities
  private readonly offsets: number[]; // [tasks] first global index of each task's examples
  private draws: number;

  /** sizes: examples per task (global indices are task-major: task 0's examples first). */
  constructor(
    sizes: readonly number[],
    weights: readonly number[],
    private readonly seed: number,
    state?: TaskSamplerState,
  ) {
    this.samplers = sizes.map((n, t) => new EpochSampler(n, (seed + 7919 * (t + 1)) >>> 0, state?.tasks[t]));
    const mass = sizes.map((n, t) => n * (weights[t] ?? 1));
    const total = mass.reduce((a, b) => a + b, 0);
    let acc = 0;
    this.cumulative = mass.map((m) => (acc += m / total));
    let first = 0;
    this.offsets = sizes.map((n) => ((first += n), first - n));
    this.draws = state?.draws ?? 0;
  }

  /** The task of draw number `draw`: a pure function of seed and draw. */
  private taskOf(draw: number): number {
    const u = mulberry32((Math.imul(this.seed + 1, 0x27d4eb2d) ^ Math.imul(draw + 1, 0x165667b1)) >>> 0)();
    const t = this.cumulative.findIndex((c) => u < c);
    return t < 0 ? this.cumulative.length - 1 : t;
  }

  /** Global example indices of the next `count` draws. */
  next(count: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const t = this.taskOf(this.draws++);
      out.push((this.offsets[t] as number) + ((this.samplers[t] as EpochSampler).next(1)[0] as number));
    }
    return out;
  }

  snapshot(): TaskSamplerState {
    return { draws: this.draws, tasks: this.samplers.map((s) => s.snapshot()) };
  }
}
