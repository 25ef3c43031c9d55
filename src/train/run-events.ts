// The TensorBoard event files of a run folder over its life: a resume trims them to the checkpoint's step (the
// continued run then writes a new file, so no step appears twice), and eval adds its scalars at the run's step.
import { readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.js";
import {
  createEventWriter,
  evalScalars,
  listEventFiles,
  type EventWriterOptions,
  type EvalScalarsInput,
} from "../monitor/event-writer.js";
import { filterEventRecords, type TbEvent } from "../monitor/tfevents.js";

/**
 * Rewrites (atomically) each event file in `dir` with only the events `keep` accepts; a file left with no
 * summary event is removed. A cut-off last record (a killed writer) is dropped as well.
 */
export async function filterEventFiles(dir: string, keep: (event: TbEvent) => boolean): Promise<void> {
  for (const name of listEventFiles(dir)) {
    const path = join(dir, name);
    const bytes = await readFile(path);
    const filtered = filterEventRecords(bytes, keep, path);
    if (filtered.events === 0) await unlink(path);
    else if (filtered.changed) await writeFileAtomic(path, filtered.bytes);
  }
}

/** Keeps the events of steps <= keepThroughStep; 0 (a fresh run) removes every event file of the folder. */
export async function trimEventFiles(dir: string, options: { keepThroughStep: number }): Promise<void> {
  await filterEventFiles(dir, (event) => options.keepThroughStep > 0 && event.step <= options.keepThroughStep);
}

/**
 * Writes eval/accuracy, eval/macro_f1 and eval/f1/<label> at `step` into a new event file in `dir`, after
 * dropping the eval events an earlier eval wrote at the same step (evaluating again replaces, never duplicates).
 */
export async function writeEvalEvents(
  dir: string,
  options: { step: number; metrics: EvalScalarsInput; writer?: EventWriterOptions },
): Promise<string> {
  const isEval = (event: TbEvent) => Object.keys(event.scalars ?? {}).some((tag) => tag.startsWith("eval/"));
  await filterEventFiles(dir, (event) => !(event.step === options.step && isEval(event)));
  const writer = createEventWriter(dir, options.writer);
  try {
    writer.write(options.step, evalScalars(options.metrics));
  } finally {
    writer.close();
  }
  return writer.path;
}
