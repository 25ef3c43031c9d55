// The multi-task sampler: draws follow weight × examples, are seeded, and resume exactly from a snapshot.
import { describe, expect, it } from "vitest";
import { TaskSampler } from "./task-sampler.js";

describe("TaskSampler", () => {
  it("draws tasks in proportion to weight × examples, each task's examples epoch by epoch", () => {
    const s = new TaskSampler([10, 30], [1, 1], 5);
    const draws = s.next(4000);
    const first = draws.filter((i) => i < 10).length / draws.length;
    expect(Math.abs(first - 0.25)).toBeLessThan(0.03);
    const weighted = new TaskSampler([10, 30], [3, 1], 5).next(4000).filter((i) => i < 10).length / 4000;
    expect(Math.abs(weighted - 0.5)).toBeLessThan(0.03);
    const firstTen = draws.filter((i) => i < 10).slice(0, 10);
    expect([...firstTen].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // one epoch of task 0
  });

  it("is seeded and resumes from a snapshot", () => {
    const a = new TaskSampler([5, 7], [1, 2], 3);
    const b = new TaskSampler([5, 7], [1, 2], 3);
    a.next(13);
    const resumed = new TaskSampler([5, 7], [1, 2], 3, JSON.parse(JSON.stringify(a.snapshot())));
    b.next(13);
    expect(resumed.next(20)).toEqual(b.next(20));
    expect(new TaskSampler([5, 7], [1, 2], 4).next(20)).not.toEqual(new TaskSampler([5, 7], [1, 2], 3).next(20));
  });
});
