import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { TfewError } from "../errors.js";
import { WriteFailure } from "../io/atomic.js";
import { createMetricsLog, mean, percentile, summarizeSeries } from "./metrics-log.js";

const dir = mkdtempSync(join(tmpdir(), "tfew-metrics-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("createMetricsLog", () => {
  it("appends one JSON object per line, readable before close, and creates the directory", () => {
    const path = join(dir, "run", "metrics.jsonl");
    const log = createMetricsLog(path);
    log.write({ step: 1, loss: 2.5, lr: 0.003 });
    expect(readFileSync(path, "utf8")).toBe('{"step":1,"loss":2.5,"lr":0.003}\n'); // on disk before close
    log.write({ step: 2, loss: Number.NaN, gpu: { util: 87 } });
    log.close();
    log.close();
    expect(() => log.write({ step: 3 })).toThrow(/closed/);
    const lines = readFileSync(path, "utf8")
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as unknown);
    expect(lines).toEqual([
      { step: 1, loss: 2.5, lr: 0.003 },
      { step: 2, loss: null, gpu: { util: 87 } },
    ]);
  });

  it("appends to an existing log (a resumed run)", () => {
    const path = join(dir, "resume.jsonl");
    const first = createMetricsLog(path);
    first.write({ step: 1 });
    first.close();
    const second = createMetricsLog(path);
    second.write({ step: 2 });
    second.close();
    expect(readFileSync(path, "utf8")).toBe('{"step":1}\n{"step":2}\n');
  });

  it("fails with one line naming the path when it cannot open the file", () => {
    const file = join(dir, "a-file");
    writeFileSync(file, "not a directory");
    expect(() => createMetricsLog(join(file, "metrics.jsonl"))).toThrow(
      /^cannot open metrics log .*a-file\/metrics\.jsonl \(E[A-Z]+\); check/,
    );
  });
});

describe("summarizeSeries", () => {
  it("gives mean, nearest-rank p95, min, max", () => {
    const values = Array.from({ length: 20 }, (_, i) => 20 - i); // 20..1
    // mean 10.5; p95 rank ceil(0.95 · 20) = 19 → 19.
    expect(summarizeSeries(values)).toEqual({ count: 20, mean: 10.5, p95: 19, min: 1, max: 20 });
    expect(summarizeSeries([7])).toEqual({ count: 1, mean: 7, p95: 7, min: 7, max: 7 });
    expect(summarizeSeries([])).toBeNull();
  });

  it("percentile picks an actual value and handles the edges", () => {
    expect(percentile([3, 1, 2], 100)).toBe(3);
    expect(percentile([3, 1, 2], 1)).toBe(1);
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([], 95)).toBeNaN();
    expect(() => percentile([1], 0)).toThrow(/out of range/);
    expect(mean([1, 2, 3, 4])).toBe(2.5);
  });
});

describe("a disk that fails while appending (TFEW_TEST_FAIL_WRITE)", () => {
  afterEach(() => {
    delete process.env.TFEW_TEST_FAIL_WRITE;
  });

  it("ENOSPC on metrics.jsonl is one line naming the file (not an internal error); close does not throw again", () => {
    const path = join(dir, "full", "metrics.jsonl");
    process.env.TFEW_TEST_FAIL_WRITE = "metrics.jsonl:2";
    const log = createMetricsLog(path, { events: true });
    log.write({ step: 1, loss: 2 });
    const error = (() => {
      try {
        log.write({ step: 2, loss: 1 });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(WriteFailure);
    expect((error as WriteFailure).code).toBe("ENOSPC");
    expect((error as TfewError).message).toBe(`disk full while writing ${path}; free space and re-run`);
    expect(() => log.close()).not.toThrow();
    expect(readFileSync(path, "utf8")).toBe('{"step":1,"loss":2}\n'); // the rows before stay whole
  });

  it("EIO on the TensorBoard event file is one line naming the event file", () => {
    const path = join(dir, "eio", "metrics.jsonl");
    process.env.TFEW_TEST_FAIL_WRITE = "events:3:EIO"; // the file-version event, step 1, then step 2 fails
    const log = createMetricsLog(path, { events: true });
    log.write({ step: 1, loss: 2 });
    expect(() => log.write({ step: 2, loss: 1 })).toThrow(
      /^I\/O error while writing \S+\/eio\/events\.out\.tfevents\.\S+ \(EIO\); check the disk, then re-run$/,
    );
    expect(() => log.close()).not.toThrow();
  });
});
