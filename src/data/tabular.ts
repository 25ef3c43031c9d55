// A task from a plain .csv or .jsonl file (and an optional test file of the same kind). Column and label settings
// mirror the run config's data.* keys; labels are names or 0-based indices (see labels.ts).
import { basename, extname, resolve } from "node:path";
import { TfewError } from "../errors.js";
import { checkLabelNames, checkUniqueIds, genericInstruction, parseLabel, type LabelIndexBase } from "./labels.js";
import { readCsv, readJsonl, where, type Table } from "./table.js";
import type { Example, TaskData } from "./task.js";

export interface TabularOptions {
  /** Columns that make up the prompt, in order (data.text_fields). Default: every column but the ID and label. */
  textFields?: string[];
  /** Column holding the label (data.label_field). Default "Label". */
  labelField?: string;
  /**
   * Label names in order (data.labels). Default: the distinct label values of the train file, sorted (numerically
   * if all are integers); set it when a class may be missing from train or the order matters.
   */
  labels?: string[];
  /** Column with a unique example ID (data.id_field); when the file has no such column, rows are numbered from 1. */
  idField?: string;
  /** Prompt instruction; default built from the label names. */
  instruction?: string;
  /** Test examples (.csv or .jsonl; data.test_path); their labels are optional. Default: no test split. */
  testPath?: string;
  /** Integers in the label column: 0-based (default) or 1-based with 0 = unlabeled. */
  labelIndexBase?: LabelIndexBase;
}

interface Resolved {
  textFields: string[];
  labelField: string;
  labels: string[];
  idField: string | undefined;
  base: LabelIndexBase;
}

async function readTable(path: string, what: string): Promise<Table> {
  const ext = extname(path).toLowerCase();
  if (ext === ".csv") return readCsv(path, what);
  if (ext === ".jsonl") return readJsonl(path, what);
  throw new TfewError(`${what} ${path} is neither .csv nor .jsonl; convert it to one of those`);
}

/** Distinct non-empty label values of the train table, sorted (numerically when all are integers). */
function inferLabels(table: Table, labelField: string): string[] {
  const values = [...new Set(table.rows.map((r) => (r.values[labelField] ?? "").trim()).filter((v) => v !== ""))];
  const numeric = values.every((v) => /^\d+$/.test(v));
  return numeric ? values.sort((a, b) => Number(a) - Number(b)) : values.sort();
}

function toExamples(table: Table, spec: Resolved, labeled: boolean): Example[] {
  if (table.rows.length === 0) throw new TfewError(`${table.file} has no rows; add examples`);
  const idField = spec.idField !== undefined && table.columns.includes(spec.idField) ? spec.idField : undefined;
  const required = [...spec.textFields, ...(labeled ? [spec.labelField] : [])];
  const examples = table.rows.map((row): Example => {
    for (const column of required) {
      if (row.values[column] === undefined) {
        const has = table.columns.map((c) => `"${c}"`).join(", ");
        const key = column === spec.labelField ? "data.label_field" : "data.text_fields";
        throw new TfewError(`${where(table.file, row)} has no column "${column}" (file columns: ${has}); fix the data or ${key}`);
      }
    }
    const id = idField === undefined ? String(row.row) : (row.values[idField] ?? "").trim();
    if (id === "") throw new TfewError(`${where(table.file, row)} has no value in ID column "${idField}"; give every row an ID`);
    const fields = Object.fromEntries(spec.textFields.map((f) => [f, row.values[f] ?? ""]));
    const raw = row.values[spec.labelField];
    const at = `${where(table.file, row)}, column "${spec.labelField}"`;
    const label = raw === undefined ? undefined : parseLabel(raw, spec.labels, spec.base, at);
    if (labeled && label === undefined) {
      throw new TfewError(`${at} is empty; training rows need one of the labels ${spec.labels.map((l) => `"${l}"`).join(", ")}`);
    }
    return label === undefined ? { id, fields } : { id, fields, label };
  });
  checkUniqueIds(examples.map((e, i) => ({ id: e.id, where: `row ${i + 1}` })), table.file);
  return examples;
}

/** Loads train examples from `path` (.csv with a header, or .jsonl) and test examples from `options.testPath`. */
export async function loadTabularTask(path: string, options: TabularOptions = {}): Promise<TaskData> {
  const trainFile = resolve(path);
  const trainTable = await readTable(trainFile, "train file");
  const labelField = options.labelField ?? "Label";
  const textFields = options.textFields ?? trainTable.columns.filter((c) => c !== labelField && c !== options.idField);
  if (textFields.length === 0) throw new TfewError(`no text columns in ${trainFile}; set data.text_fields to the input columns`);
  const labels = checkLabelNames(options.labels ?? inferLabels(trainTable, labelField), options.labels ? "data.labels" : `column "${labelField}" of ${trainFile}`);
  const spec: Resolved = { textFields, labelField, labels, idField: options.idField, base: options.labelIndexBase ?? 0 };
  const train = toExamples(trainTable, spec, true);
  const testFile = options.testPath === undefined ? undefined : resolve(options.testPath);
  const test = testFile === undefined ? [] : toExamples(await readTable(testFile, "test file"), spec, false);
  return {
    name: basename(trainFile, extname(trainFile)),
    labelNames: labels,
    textFields: [...textFields],
    instruction: options.instruction?.trim() || genericInstruction(labels),
    train,
    test,
    files: testFile === undefined ? [trainFile] : [trainFile, testFile],
  };
}
