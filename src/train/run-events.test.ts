import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readEventFile, type ReadEvent } from "../../tests/helpers/tfevents-reader.js";
import { createEventWriter, listEventFiles } from "../monitor/event-writer.js";
import { resetMetricsLog } from "../io/run-dir.js";
import { trimEventFiles, writeEvalEvents } from "./run-events.js";

const root = mkdtempSync(join(tmpdir(), "tfew-run-events-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every event of every file in `dir`, in TensorBoard's reading order (file names sorted). */
function allEvents(dir: string): ReadEvent[] {
  return listEventFiles(dir).flatMap((name) => readEventFile(readFileSync(join(dir, name))));
}

function steps(dir: string, tag: string): number[] {
  return allEvents(dir)
    .filter((e) => e.values.some((v) => v.tag === tag))
    .map((e) => e.step);
}

function writeSteps(dir: string, from: number, to: number, now: number): string {
  const w = createEventWriter(dir, { now: () => now, host: "h" });
  for (let s = from; s <= to; s++) w.write(s, { "train/loss": 10 - s });
  w.close();
  return w.path;
}

describe("trimEventFiles / resetMetricsLog", () => {
  it("a resume keeps the steps up to the checkpoint; the continued run's new file holds each later step once", async () => {
    const dir = join(root, "resume");
    const first = writeSteps(dir, 1, 7, 1_000_000); // killed after step 7; its checkpoint is step 4
    appendFileSync(first, Buffer.from([1, 2, 3])); // and a record cut off by the kill
    writeFileSync(join(dir, "metrics.jsonl"), [1, 2, 3, 4, 5, 6, 7].map((s) => `{"step":${s}}\n`).join(""));
    await resetMetricsLog(join(dir, "metrics.jsonl"), { keepThroughStep: 4 });
    await trimEventFiles(dir, { keepThroughStep: 4 }); // what runTraining does on resume
    expect(steps(dir, "train/loss")).toEqual([1, 2, 3, 4]);
    writeSteps(dir, 5, 9, 1_000_000); // same second: the new file sorts after the first
    expect(steps(dir, "train/loss")).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(listEventFiles(dir)).toEqual(["events.out.tfevents.1000.h", "events.out.tfevents.1000.h.1"]);
  });

  it("removes a file left with no step to keep, and every file on a fresh run (0)", async () => {
    const dir = join(root, "drop");
    writeSteps(dir, 1, 3, 1_000_000);
    writeSteps(dir, 4, 6, 2_000_000);
    await trimEventFiles(dir, { keepThroughStep: 3 });
    expect(listEventFiles(dir)).toEqual(["events.out.tfevents.1000.h"]);
    await trimEventFiles(dir, { keepThroughStep: 0 });
    expect(listEventFiles(dir)).toEqual([]);
  });
});

describe("writeEvalEvents", () => {
  const metrics = (accuracy: number) => ({
    accuracy,
    macro_f1: accuracy / 2,
    per_class: [
      { label: "yes", f1: accuracy },
      { label: "no", f1: 0 },
    ],
  });

  it("adds eval scalars at the step; evaluating again at that step replaces them, another step adds", async () => {
    const dir = join(root, "eval");
    writeSteps(dir, 1, 5, 1_000_000);
    await writeEvalEvents(dir, { step: 5, metrics: metrics(0.5), writer: { now: () => 2_000_000, host: "h" } });
    await writeEvalEvents(dir, { step: 5, metrics: metrics(0.75), writer: { now: () => 3_000_000, host: "h" } });
    await writeEvalEvents(dir, { step: 9, metrics: metrics(1), writer: { now: () => 4_000_000, host: "h" } });
    const evals = allEvents(dir).filter((e) => e.values.some((v) => v.tag.startsWith("eval/")));
    expect(evals.map((e) => [e.step, e.values])).toEqual([
      [
        5,
        [
          { tag: "eval/accuracy", value: 0.75 },
          { tag: "eval/macro_f1", value: 0.375 },
          { tag: "eval/f1/yes", value: 0.75 },
          { tag: "eval/f1/no", value: 0 },
        ],
      ],
      [
        9,
        [
          { tag: "eval/accuracy", value: 1 },
          { tag: "eval/macro_f1", value: 0.5 },
          { tag: "eval/f1/yes", value: 1 },
          { tag: "eval/f1/no", value: 0 },
        ],
      ],
    ]);
    expect(steps(dir, "train/loss")).toEqual([1, 2, 3, 4, 5]); // training events untouched
    expect(listEventFiles(dir)).toEqual([
      "events.out.tfevents.1000.h",
      "events.out.tfevents.3000.h",
      "events.out.tfevents.4000.h",
    ]);
  });
});
