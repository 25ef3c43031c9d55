// A task from one file of any format data/sources.ts reads (.csv, .jsonl, .parquet, .arrow, Label Studio .json) and
// an optional test file. Column and label settings mirror the run config's data.* keys; labels are names, 0-based
// indices (see labels.ts), or Hugging Face ClassLabel ids (mapped to names by the reader).
import { basename, extname, resolve } from "node:path";
import { TfewError } from "../errors.js";
import { checkLabelNames, checkUniqueIds, genericInstruction, parseLabel, type LabelIndexBase } from "./labels.js";
import { readTable } from "./sources.js";
import { where, type Table } from "./table.js";
import { DEFAULT_ID_FIELD, type Example, type TaskData } from "./task-types.js";

export interface TabularOptions {
  /** Columns that make up the prompt, in order (data.text_fields). Default: every column but the ID and label. */
  textFields?: string[];
  /** Column holding the label (data.label_field). Default "Label". */
  labelField?: string;
  /**
   * Label names in order (data.labels). Default: the ClassLabel names of a Hugging Face Parquet/Arrow file, else the
   * distinct label values of the train file, sorted (numerically if all are integers); set it when a class may be
   * missing from train or the order matters.
   */
  labels?: string[];
  /** Column with a unique example ID (data.id_field); when the file has no such column, rows are numbered from 1. */
  idField?: string;
  /** Prompt instruction; default built from the label names. */
  instruction?: string;
  /** Test examples (any task-file format; data.test_path); their labels are optional. Default: no test split. */
  testPath?: string;
  /** Integers in the label column: 0-based (default) or 1-based with 0 = unlabeled. */
  labelIndexBase?: LabelIndexBase;
  /** A generative task's column of free-text targets (data.target_field): no labels are read then. */
  targetField?: string;
}

interface Resolved {
  textFields: string[];
  labelField: string;
  labels: string[];
  idField: string | undefined;
  base: LabelIndexBase;
  targetField: string | undefined;
}

/** The config key that names a column, for messages. */
function keyOf(column: string, spec: { labelField: string; targetField?: string }): string {
  if (column === spec.targetField) return "data.target_field";
  return column === spec.labelField ? "data.label_field" : "data.text_fields";
}

/** Distinct non-empty label values of the train table, sorted (numerically when all are integers). */
function inferLabels(table: Table, labelField: string): string[] {
  const values = [...new Set(table.rows.map((r) => (r.values[labelField] ?? "").trim()).filter((v) => v !== ""))];
  const numeric = values.every((v) => /^\d+$/.test(v));
  return numeric ? values.sort((a, b) => Number(a) - Number(b)) : values.sort();
}

/** Column checks a columnar file (Parquet, Arrow) can make once for all rows: present, and readable as text. */
function checkColumns(table: Table, required: string[], spec: { labelField: string; targetField?: string }): void {
  for (const column of required) {
    const key = keyOf(column, spec);
    const type = table.unsupported?.[column];
    if (type !== undefined) {
      throw new TfewError(`${table.file} column "${column}" is ${type}; tfew reads text, number and boolean columns, so leave it out of ${key} (or flatten it)`);
    }
    if (table.format !== "jsonl" && table.format !== "label-studio" && !table.columns.includes(column)) {
      const has = table.columns.map((c) => `"${c}"`).join(", ");
      throw new TfewError(`${table.file} has no column "${column}" (its columns: ${has}); fix the data or ${key}`);
    }
  }
}

/**
 * The ID column: data.id_field when the table has it. The default name ("ID") may be absent (rows are then
 * numbered from 1); any other name must exist, or a typo would turn the real ID column into prompt text and
 * number the predictions 1..N.
 */
function idColumn(table: Table, idField: string | undefined): string | undefined {
  if (idField === undefined) return undefined;
  if (table.columns.includes(idField)) return idField;
  if (idField === DEFAULT_ID_FIELD) return undefined; // a JSONL file's columns are every key of every row
  const has = table.columns.map((c) => `"${c}"`).join(", ");
  throw new TfewError(`${table.file} has no ID column "${idField}" (its columns: ${has}); fix data.id_field`);
}

function toExamples(table: Table, spec: Resolved, labeled: boolean): Example[] {
  if (table.rows.length === 0) throw new TfewError(`${table.file} has no rows; add examples`);
  const idField = idColumn(table, spec.idField);
  const answer = spec.targetField ?? spec.labelField;
  const required = [...spec.textFields, ...(labeled ? [answer] : [])];
  if (table.format !== undefined) checkColumns(table, required, spec);
  const examples = table.rows.map((row): Example => {
    for (const column of required) {
      if (row.values[column] === undefined) {
        const has = table.columns.map((c) => `"${c}"`).join(", ");
        const key = keyOf(column, spec);
        throw new TfewError(`${where(table.file, row)} has no column "${column}" (file columns: ${has}); fix the data or ${key}`);
      }
    }
    const id = idField === undefined ? String(row.row) : (row.values[idField] ?? "").trim();
    if (id === "") throw new TfewError(`${where(table.file, row)} has no value in ID column "${idField}"; give every row an ID`);
    const fields = Object.fromEntries(spec.textFields.map((f) => [f, row.values[f] ?? ""]));
    if (spec.targetField !== undefined) {
      const at = `${where(table.file, row)}, column "${spec.targetField}"`;
      return withTarget({ id, fields }, row.values[spec.targetField], labeled, at);
    }
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

/** A generative example with its target; a training row needs a non-empty one (named by data.target_field). */
function withTarget(example: Example, raw: string | undefined, labeled: boolean, at: string): Example {
  if (raw === undefined || raw.trim() === "") {
    if (labeled) throw new TfewError(`${at} is empty; training rows of a generative task need a target text (data.target_field)`);
    return example;
  }
  return { ...example, target: raw.trim() };
}

/** Loads train examples from `path` (any format of data/sources.ts) and test examples from `options.testPath`. */
export async function loadTabularTask(path: string, options: TabularOptions = {}): Promise<TaskData> {
  const trainFile = resolve(path);
  const read = { labelField: options.labelField ?? "Label", idField: options.idField };
  const train = await readTable(trainFile, "train file", read);
  const testFile = options.testPath === undefined ? undefined : resolve(options.testPath);
  const test = testFile === undefined ? undefined : await readTable(testFile, "test file", read);
  const files = testFile === undefined ? [trainFile] : [trainFile, testFile];
  return taskFromTables({ name: basename(trainFile, extname(trainFile)), train, test, files }, options);
}

/** The tables of a task (read from files, or gathered from a dataset's Parquet shards) and where they came from. */
export interface TaskTables {
  name: string;
  train: Table;
  test: Table | undefined;
  files: string[];
}

/**
 * Builds the task from its tables. Unlabelled rows of a Label Studio export (tasks with no annotation) are the
 * test split when no test file is given, and are left out when one is.
 */
export function taskFromTables(src: TaskTables, options: TabularOptions = {}): TaskData {
  const labelField = options.labelField ?? "Label";
  let { train, test } = src;
  if (train.unlabeledToTest) {
    const unlabeled = train.rows.filter((r) => (r.values[labelField] ?? "") === "");
    if (test === undefined && unlabeled.length > 0) test = { ...train, rows: unlabeled };
    train = { ...train, rows: train.rows.filter((r) => (r.values[labelField] ?? "") !== "") };
  }
  if (options.targetField !== undefined) return generativeTask({ ...src, train, test }, options, options.targetField);
  const textFields = options.textFields ?? train.columns.filter((c) => c !== labelField && c !== options.idField);
  if (textFields.length === 0) throw new TfewError(`no text columns in ${train.file}; set data.text_fields to the input columns`);
  if (train.format !== undefined) checkColumns(train, [...textFields, labelField], { labelField });
  const defaultLabels = train.classLabels?.[labelField] ?? inferLabels(train, labelField);
  const labelsFrom = options.labels ? "data.labels" : train.classLabels?.[labelField] ? `the ClassLabel feature "${labelField}" of ${train.file}` : `column "${labelField}" of ${train.file}`;
  const labels = checkLabelNames(options.labels ?? defaultLabels, labelsFrom);
  const base = options.labelIndexBase ?? 0;
  const spec: Resolved = { textFields, labelField, labels, idField: options.idField, base, targetField: undefined };
  return {
    name: src.name,
    labelNames: labels,
    textFields: [...textFields],
    instruction: options.instruction?.trim() || genericInstruction(labels),
    train: toExamples(train, spec, true),
    test: test === undefined ? [] : toExamples(test, spec, false),
    files: src.files,
  };
}

/**
 * A generative task (data.target_field): the target column holds free text, so there are no labels; the prompt's
 * columns default to every column but the ID and the target.
 */
function generativeTask(src: TaskTables, options: TabularOptions, targetField: string): TaskData {
  const { train, test } = src;
  if (options.labels !== undefined) {
    throw new TfewError(`data.labels does not apply to a generative task (data.target_field "${targetField}" holds free text); remove data.labels`);
  }
  const textFields = options.textFields ?? train.columns.filter((c) => c !== targetField && c !== options.idField);
  if (textFields.length === 0) throw new TfewError(`no text columns in ${train.file} besides the target; set data.text_fields to the input columns`);
  const { idField } = options;
  const spec: Resolved = { textFields, labelField: targetField, labels: [], idField, base: 0, targetField };
  if (train.format !== undefined) checkColumns(train, [...textFields, targetField], spec);
  return {
    name: src.name,
    labelNames: [],
    targetField,
    textFields: [...textFields],
    instruction: options.instruction?.trim() ?? "",
    train: toExamples(train, spec, true),
    test: test === undefined ? [] : toExamples(test, spec, false),
    files: src.files,
  };
}
