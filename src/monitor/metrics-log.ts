// metrics.jsonl: one JSON object per line, appended as training runs (each line reaches the OS at once; fsync at
// close), plus the mean / p95 helpers the summaries use. Mirrors the JSON-lines logs of nanoGPT-style trainers.
// With `events`, the same records also go to a TensorBoard event file in the same folder (event-writer.ts).
import { mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { TfewError } from "../errors.js";
import { writeFailure } from "../io/atomic.js";
import { testFault } from "../io/temp-files.js";
import {
  createEventWriter,
  recordScalars,
  syncAndClose,
  type EventWriter,
  type EventWriterOptions,
} from "./event-writer.js";

export interface MetricsLog {
  readonly path: string;
  /** Appends `record` as one JSON line. NaN / Infinity become null (JSON has no such numbers). */
  write(record: Record<string, unknown>): void;
  /** fsyncs and closes the file; later writes throw. Safe to call twice. */
  close(): void;
}

export interface MetricsLogOptions {
  /** also write each record's scalars (by `step`) to a new TensorBoard event file beside the log */
  events?: boolean | EventWriterOptions;
}

/** Opens (creating it and its directory) `path` for appending. */
export function createMetricsLog(path: string, options: MetricsLogOptions = {}): MetricsLog {
  let fd: number | null;
  try {
    mkdirSync(dirname(path), { recursive: true });
    fd = openSync(path, "a");
  } catch (error) {
    throw new TfewError(
      `cannot open metrics log ${path} (${errorCode(error)}); check that the run's --out directory is writable`,
      { cause: error },
    );
  }
  const events: EventWriter | null = options.events
    ? createEventWriter(dirname(path), options.events === true ? {} : options.events)
    : null;
  let failed = false; // after a failed write, close() does not throw again (the first failure is the one to tell)
  return {
    path,
    write(record) {
      if (fd === null) throw new TfewError(`metrics log ${path} is closed; write before close()`);
      try {
        // writeSync hands the whole line to the OS now: a crash loses no logged step, and lines never interleave.
        testFault(path);
        writeSync(fd, `${JSON.stringify(record)}\n`);
      } catch (error) {
        failed = true;
        throw writeFailure(path, error);
      }
      try {
        if (events !== null && typeof record.step === "number") events.write(record.step, recordScalars(record));
      } catch (error) {
        failed = true;
        throw error;
      }
    },
    close() {
      const open = fd;
      fd = null;
      try {
        syncAndClose(open, () => events?.close());
      } catch (error) {
        if (!failed) throw writeFailure(path, error);
      }
    },
  };
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : String(error);
}

/** Arithmetic mean; NaN for an empty series. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

/**
 * Nearest-rank percentile (p in (0, 100]): the smallest value with at least p% of the series at or below it,
 * i.e. sorted[ceil(p/100 · n) − 1]. Always one of the values (no interpolation). NaN for an empty series.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new TfewError(`percentile p=${p} is out of range; use 0 < p <= 100`);
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export interface SeriesSummary {
  count: number;
  mean: number;
  p95: number;
  min: number;
  max: number;
}

/** mean, nearest-rank p95, min, max and count of a series; null when it is empty. */
export function summarizeSeries(values: readonly number[]): SeriesSummary | null {
  if (values.length === 0) return null;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const value of values) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return { count: values.length, mean: mean(values), p95: percentile(values, 95), min, max };
}
