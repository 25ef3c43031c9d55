import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
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
