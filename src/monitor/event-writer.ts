// Writes TensorBoard event files (`events.out.tfevents.<unix time>.<host>`) beside metrics.jsonl, from the same
// records, under TensorBoard's tag names. Each event reaches the OS when written (as metrics.jsonl's lines do).
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { TfewError } from "../errors.js";
import { writeFailure } from "../io/atomic.js";
import { testFault } from "../io/temp-files.js";
import { EVENT_FILE_PREFIX, FILE_VERSION, encodeEvent, frameRecord } from "./tfevents.js";

/** fsync then close an append log's descriptor (null: already closed): its lines survive a crash after close. */
export function syncAndClose(fd: number | null, after?: () => void): void {
  if (fd === null) return;
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
    after?.();
  }
}

/** metrics.jsonl field → TensorBoard tag (the gpu/* ones only appear on GPU hosts). */
export const TRAIN_TAGS: Readonly<Record<string, string>> = {
  loss: "train/loss",
  lm_loss: "train/lm_loss",
  ul_loss: "train/ul_loss",
  ln_loss: "train/ln_loss",
  lr: "train/lr",
  grad_norm: "train/grad_norm",
  examples_per_s: "train/examples_per_s",
  tokens_per_s: "train/tokens_per_s",
  gpu_util_pct: "gpu/util_pct",
  gpu_mem_mib: "gpu/mem_mib",
  mfu: "gpu/mfu",
};

/** The scalars of one metrics.jsonl record under their tags; fields that are absent or not finite are left out. */
export function recordScalars(record: Readonly<Record<string, unknown>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [field, tag] of Object.entries(TRAIN_TAGS)) {
    const value = record[field];
    if (typeof value === "number" && Number.isFinite(value)) out[tag] = value;
  }
  return out;
}

/** What eval writes: accuracy, macro-F1 and one F1 per label (the fields of eval's metrics.json). */
export interface EvalScalarsInput {
  accuracy: number;
  macro_f1: number;
  per_class: readonly { label: string; f1: number }[];
}

export function evalScalars(metrics: EvalScalarsInput): Record<string, number> {
  const out: Record<string, number> = { "eval/accuracy": metrics.accuracy, "eval/macro_f1": metrics.macro_f1 };
  for (const c of metrics.per_class) out[`eval/f1/${c.label}`] = c.f1;
  return out;
}

export interface EventWriter {
  readonly path: string;
  /** Appends one event with these scalars at `step` (nothing when `scalars` is empty). */
  write(step: number, scalars: Readonly<Record<string, number>>): void;
  /** fsyncs and closes; later writes throw. Safe to call twice. */
  close(): void;
}

export interface EventWriterOptions {
  /** wall clock in ms (tests fix it); default Date.now */
  now?: () => number;
  /** host name in the file name; default os.hostname() */
  host?: string;
}

/** The event files in `dir`, sorted by name (TensorBoard's reading order). */
export function listEventFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.startsWith(EVENT_FILE_PREFIX) && !n.startsWith(".")).sort();
}

/**
 * Creates a new event file in `dir` (never reusing a name: a second file in the same second gets `.1`, `.2` ...,
 * which sorts after the first) and writes the file-version event.
 */
export function createEventWriter(dir: string, options: EventWriterOptions = {}): EventWriter {
  const now = options.now ?? Date.now;
  const base = join(
    dir,
    `${EVENT_FILE_PREFIX}${Math.floor(now() / 1000)}.${(options.host ?? hostname()).replace(/[/\\]/g, "_")}`,
  );
  let fd: number | null = null;
  let path = base;
  try {
    mkdirSync(dir, { recursive: true });
    for (let n = 1; fd === null; n++) {
      try {
        fd = openSync(path, "wx");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        path = `${base}.${n}`;
      }
    }
  } catch (error) {
    throw new TfewError(
      `cannot create event file ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}); check that the run folder is writable`,
      { cause: error },
    );
  }
  const append = (data: Uint8Array) => {
    if (fd === null) throw new TfewError(`event file ${path} is closed; write before close()`);
    try {
      testFault(path.replace(/\.[^/]*$/, "")); // TFEW_TEST_FAIL_WRITE=events:N matches events.out.tfevents.*
      writeSync(fd, frameRecord(data));
    } catch (error) {
      throw writeFailure(path, error);
    }
  };
  append(encodeEvent({ wallTime: now() / 1000, step: 0, fileVersion: FILE_VERSION }));
  return {
    path,
    write(step, scalars) {
      if (Object.keys(scalars).length === 0) return;
      append(encodeEvent({ wallTime: now() / 1000, step, scalars }));
    },
    close() {
      const open = fd;
      fd = null;
      syncAndClose(open);
    },
  };
}
