// Label lists and label values: checks shared by the RAFT and tabular loaders, and the label-index rule.
import { TfewError } from "../errors.js";

/**
 * How an integer in a label column is read.
 * - 0: a 0-based index into the label list (local RAFT folders, .csv/.jsonl files).
 * - 1: a Hugging Face `ought/raft` ClassLabel index: 0 is "Unlabeled", k >= 1 is labels[k - 1] (raft:<task>).
 * A value equal to a label name is always that label, even if it looks like a number.
 */
export type LabelIndexBase = 0 | 1;

/** RAFT's name for "no label" (HF raft.py DEFAULT_LABEL_NAME; test rows carry it). */
export const UNLABELED = "Unlabeled";

/** Throws unless names is a list of at least two distinct, non-empty strings. */
export function checkLabelNames(names: unknown, where: string): string[] {
  if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) {
    throw new TfewError(`label list in ${where} is not a list of strings; give the label names as a JSON/YAML list`);
  }
  const list = names as string[];
  if (list.length < 2) {
    throw new TfewError(`label list in ${where} has ${list.length} label(s); a classification task needs at least 2`);
  }
  list.forEach((name, i) => {
    if (name.trim() === "") throw new TfewError(`label ${i} in ${where} is empty; give every label a name`);
    if (list.indexOf(name) !== i) throw new TfewError(`label "${name}" appears twice in ${where}; make the names distinct`);
  });
  return list;
}

/**
 * Index of `value` in labelNames: by name first, else as an integer under `base` (see LabelIndexBase).
 * Returns undefined for an unlabeled value ("", "Unlabeled", or 0 under base 1); `where` is "file row N, column X".
 */
export function parseLabel(value: string, labelNames: string[], base: LabelIndexBase, where: string): number | undefined {
  const text = value.trim();
  const byName = labelNames.indexOf(text);
  if (byName >= 0) return byName;
  if (text === "" || text === UNLABELED) return undefined;
  if (/^\d+$/.test(text)) {
    const k = Number(text);
    if (base === 1 && k === 0) return undefined;
    const index = k - base;
    if (index >= 0 && index < labelNames.length) return index;
    const range = base === 1 ? `1..${labelNames.length} (HF ought/raft indices, 0 = Unlabeled)` : `0..${labelNames.length - 1}`;
    throw new TfewError(`label ${k} at ${where} is outside ${range}; use a label name or a valid index`);
  }
  const shown = labelNames.length <= 8 ? labelNames.map((n) => `"${n}"`).join(", ") : `${labelNames.length} labels`;
  throw new TfewError(`label "${text}" at ${where} is not in the label list (${shown}); fix the row or the label list`);
}

/** A fallback instruction for a task with no description and no built-in one. */
export function genericInstruction(labelNames: string[]): string {
  if (labelNames.length <= 4) {
    const quoted = labelNames.map((n) => `"${n}"`);
    return `Is this ${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1) ?? ""}?`;
  }
  return "Which of the possible labels fits this example?";
}

/** Throws on a repeated example ID within one split. */
export function checkUniqueIds(ids: { id: string; where: string }[], file: string): void {
  const seen = new Map<string, string>();
  for (const { id, where } of ids) {
    const first = seen.get(id);
    if (first !== undefined) throw new TfewError(`duplicate ID "${id}" at ${where} (first at ${first}) in ${file}; IDs must be unique`);
    seen.set(id, where);
  }
}
