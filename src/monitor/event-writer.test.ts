import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readEventFile } from "../../tests/helpers/tfevents-reader.js";
import { createEventWriter, evalScalars, listEventFiles, recordScalars } from "./event-writer.js";
import { createMetricsLog } from "./metrics-log.js";

const dir = mkdtempSync(join(tmpdir(), "tfew-events-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("recordScalars / evalScalars", () => {
  it("maps metrics.jsonl fields to TensorBoard tags, leaving out absent and non-finite ones", () => {
    const record = {
      step: 3,
      loss: 2,
      lm_loss: 1.5,
      ul_loss: 0.25,
      ln_loss: 0.25,
      lr: 0.01,
      grad_norm: Number.NaN,
      examples_per_s: 80,
      tokens_per_s: 900,
      step_s: 0.1,
      gpu_util_pct: 87,
      gpu_mem_mib: 1234,
      mfu: 0.31,
    };
    expect(recordScalars(record)).toEqual({
      "train/loss": 2,
      "train/lm_loss": 1.5,
      "train/ul_loss": 0.25,
      "train/ln_loss": 0.25,
      "train/lr": 0.01,
      "train/examples_per_s": 80,
      "train/tokens_per_s": 900,
      "gpu/util_pct": 87,
      "gpu/mem_mib": 1234,
      "gpu/mfu": 0.31,
    });
    expect(recordScalars({ step: 1, loss: null })).toEqual({});
  });

  it("names eval's accuracy, macro-F1 and one F1 per label", () => {
    const metrics = {
      accuracy: 0.75,
      macro_f1: 0.5,
      per_class: [
        { label: "billing", f1: 1 },
        { label: "bug report", f1: 0 },
      ],
    };
    expect(evalScalars(metrics)).toEqual({
      "eval/accuracy": 0.75,
      "eval/macro_f1": 0.5,
      "eval/f1/billing": 1,
      "eval/f1/bug report": 0,
    });
  });
});

describe("createEventWriter", () => {
  it("names the file events.out.tfevents.<unix time>.<host>, writes the version first, then one event per write", () => {
    const sub = join(dir, "one");
    const writer = createEventWriter(sub, { now: () => 1_700_000_000_500, host: "box" });
    expect(writer.path).toBe(join(sub, "events.out.tfevents.1700000000.box"));
    writer.write(1, { "train/loss": 3 });
    writer.write(2, {}); // nothing to write
    const before = readEventFile(readFileSync(writer.path)); // on disk before close
    expect(before.map((e) => e.step)).toEqual([0, 1]);
    writer.close();
    writer.close();
    expect(() => writer.write(3, { a: 1 })).toThrow(/closed/);
    const events = readEventFile(readFileSync(writer.path));
    expect(events[0]).toEqual({ wallTime: 1_700_000_000.5, step: 0, fileVersion: "brain.Event:2", values: [] });
    expect(events[1]).toEqual({ wallTime: 1_700_000_000.5, step: 1, values: [{ tag: "train/loss", value: 3 }] });
  });

  it("never reuses a name: writers opened in the same second get .1, .2, sorted after the first", () => {
    const sub = join(dir, "same-second");
    const paths = [0, 1, 2].map(() => {
      const w = createEventWriter(sub, { now: () => 5_000, host: "h" });
      w.close();
      return w.path;
    });
    expect(paths.map((p) => p.slice(sub.length + 1))).toEqual([
      "events.out.tfevents.5.h",
      "events.out.tfevents.5.h.1",
      "events.out.tfevents.5.h.2",
    ]);
    expect(listEventFiles(sub)).toEqual([
      "events.out.tfevents.5.h",
      "events.out.tfevents.5.h.1",
      "events.out.tfevents.5.h.2",
    ]);
    expect(listEventFiles(join(dir, "missing"))).toEqual([]);
  });
});

describe("createMetricsLog with events", () => {
  it("writes each record to metrics.jsonl and its scalars, at its step, to an event file beside it", () => {
    const sub = join(dir, "run");
    const log = createMetricsLog(join(sub, "metrics.jsonl"), { events: { now: () => 9_000, host: "h" } });
    log.write({ step: 1, loss: 4, lr: 0.001, step_s: 0.2 });
    log.write({ step: 2, loss: 3.5, lr: 0.002, step_s: 0.2 });
    log.write({ note: "no step: not an event" });
    log.close();
    expect(readdirSync(sub).sort()).toEqual(["events.out.tfevents.9.h", "metrics.jsonl"]);
    const events = readEventFile(readFileSync(join(sub, "events.out.tfevents.9.h")));
    expect(events.slice(1).map((e) => [e.step, e.values])).toEqual([
      [
        1,
        [
          { tag: "train/loss", value: 4 },
          { tag: "train/lr", value: Math.fround(0.001) },
        ],
      ],
      [
        2,
        [
          { tag: "train/loss", value: 3.5 },
          { tag: "train/lr", value: Math.fround(0.002) },
        ],
      ],
    ]);
  });
});
