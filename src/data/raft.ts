// RAFT tasks: a folder with train.csv, test_unlabeled.csv and task.json (the raft-baselines layout; labels.json may
// add or replace task.json's facts), or the CSVs of HF `ought/raft` (data/<task>/) with the built-in RAFT_TASKS table.
import { existsSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { TfewError } from "../errors.js";
import { checkLabelNames, checkUniqueIds, genericInstruction, parseLabel, type LabelIndexBase } from "./labels.js";
import { RAFT_TASKS, type RaftTaskInfo } from "./raft-tasks.js";
import { readCsv, readUtf8File, where, type Table } from "./table.js";
import type { Example, TaskData } from "./task-types.js";

export interface RaftOptions {
  /** Label names in order; overrides task.json / labels.json / the built-in table. */
  labels?: string[];
  /** Prompt instruction; overrides task.json's description and the built-in default. */
  instruction?: string;
  /** Integers in the Label column: 0-based (default for folders) or HF ClassLabel, 0 = Unlabeled (raft:<task>). */
  labelIndexBase?: LabelIndexBase;
  /** Text columns for the prompt, in order (data.text_fields); default: task.json data_columns minus ID. */
  textFields?: string[];
  /** Test CSV to read instead of test_unlabeled.csv (data.test_path); labels optional. */
  testPath?: string;
}

const ID_COLUMN = "ID";

/** What a task folder says about itself, merged from task.json, labels.json and RAFT_TASKS. */
interface RaftMeta {
  name: string;
  description: string;
  textFields: string[];
  labelColumn: string;
  labelNames: string[] | undefined;
  files: string[];
}

async function readJsonObject(file: string): Promise<Record<string, unknown>> {
  const text = await readUtf8File(file, "task file");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new TfewError(`${file} is not valid JSON (${String(error).split("\n")[0]}); fix or remove it`, { cause: error });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new TfewError(`${file} is not a JSON object; expected {"name", "data_columns", "label_columns"}`);
  }
  return parsed as Record<string, unknown>;
}

function stringList(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    throw new TfewError(`${what} is not a list of strings; fix the file`);
  }
  return value as string[];
}

async function readMeta(dir: string): Promise<RaftMeta> {
  const taskFile = join(dir, "task.json");
  const labelsFile = join(dir, "labels.json");
  const builtin: RaftTaskInfo | undefined = RAFT_TASKS[basename(dir)];
  const meta: RaftMeta = { name: basename(dir), description: "", textFields: [], labelColumn: "Label", labelNames: undefined, files: [] };
  let hasFields = false;
  if (existsSync(labelsFile)) {
    const json = await readJsonObject(labelsFile);
    meta.files.push(labelsFile);
    if (json.labels !== undefined) meta.labelNames = checkLabelNames(json.labels, labelsFile);
    if (json.text_columns !== undefined) {
      meta.textFields = stringList(json.text_columns, `${labelsFile} "text_columns"`);
      hasFields = true;
    }
    if (typeof json.label_column === "string") meta.labelColumn = json.label_column;
    if (typeof json.task === "string" && json.task.trim() !== "") meta.name = json.task;
  }
  if (existsSync(taskFile)) {
    const json = await readJsonObject(taskFile);
    meta.files.unshift(taskFile);
    if (typeof json.name === "string" && json.name.trim() !== "") meta.name = json.name;
    if (typeof json.description === "string") meta.description = json.description.trim();
    if (json.data_columns !== undefined) {
      meta.textFields = stringList(json.data_columns, `${taskFile} "data_columns"`).filter((c) => c !== ID_COLUMN);
      hasFields = true;
    }
    const labelColumns = json.label_columns;
    if (labelColumns !== undefined) {
      const entries = labelColumns !== null && typeof labelColumns === "object" ? Object.entries(labelColumns) : [];
      const [entry] = entries;
      if (entries.length !== 1 || entry === undefined) {
        throw new TfewError(`${taskFile} "label_columns" must hold exactly one column, e.g. {"Label": [names...]}; fix the file`);
      }
      const names = checkLabelNames(entry[1], `${taskFile} "label_columns.${entry[0]}"`);
      if (meta.labelNames !== undefined && JSON.stringify(meta.labelNames) !== JSON.stringify(names)) {
        throw new TfewError(`label lists differ between ${taskFile} and ${labelsFile}; make them the same or remove labels.json`);
      }
      meta.labelColumn = entry[0];
      meta.labelNames = names;
    }
  }
  if (meta.files.length === 0 && builtin === undefined) {
    throw new TfewError(`RAFT folder ${dir} has no task.json or labels.json; add task.json with "data_columns" and "label_columns"`);
  }
  if (builtin !== undefined) {
    meta.labelNames ??= builtin.labelNames;
    if (!hasFields) meta.textFields = builtin.textFields;
  }
  return meta;
}

/** Checks that a CSV has the columns the task needs. */
function requireColumns(table: Table, columns: string[]): void {
  for (const column of columns) {
    if (!table.columns.includes(column)) {
      throw new TfewError(`${table.file} has no column "${column}" (it has ${table.columns.map((c) => `"${c}"`).join(", ")}); fix the header or the task's columns`);
    }
  }
}

interface SplitSpec {
  textFields: string[];
  labelColumn: string;
  labelNames: string[];
  base: LabelIndexBase;
  labeled: boolean;
}

/** Turns CSV rows into examples; train rows must carry a label, test rows may. */
function toExamples(table: Table, spec: SplitSpec): Example[] {
  requireColumns(table, [...spec.textFields, ID_COLUMN, ...(spec.labeled ? [spec.labelColumn] : [])]);
  if (table.rows.length === 0) throw new TfewError(`${table.file} has a header but no rows; add examples`);
  const examples = table.rows.map((row): Example => {
    const id = (row.values[ID_COLUMN] ?? "").trim();
    if (id === "") throw new TfewError(`${where(table.file, row)} has an empty ${ID_COLUMN}; give every row an ID`);
    const fields = Object.fromEntries(spec.textFields.map((f) => [f, row.values[f] ?? ""]));
    const raw = row.values[spec.labelColumn];
    const label = raw === undefined ? undefined : parseLabel(raw, spec.labelNames, spec.base, `${where(table.file, row)}, column "${spec.labelColumn}"`);
    if (spec.labeled && label === undefined) {
      throw new TfewError(`${where(table.file, row)} has no label ("${(raw ?? "").trim() || "empty"}" in column "${spec.labelColumn}"); training rows need one of the task's labels`);
    }
    return label === undefined ? { id, fields } : { id, fields, label };
  });
  checkUniqueIds(examples.map((e, i) => ({ id: e.id, where: `row ${i + 1}` })), table.file);
  return examples;
}

interface RaftSources {
  name: string;
  trainFile: string;
  testFile: string | undefined;
  metaFiles: string[];
  description: string;
  textFields: string[];
  labelColumn: string;
  labelNames: string[] | undefined;
}

async function loadRaftSources(src: RaftSources, options: RaftOptions, defaultBase: LabelIndexBase): Promise<TaskData> {
  const labelNames = checkLabelNames(options.labels ?? src.labelNames ?? [], options.labels ? "data.labels" : `task ${src.name}`);
  const textFields = options.textFields ?? src.textFields;
  if (textFields.length === 0) throw new TfewError(`task ${src.name} has no text columns; list them in task.json "data_columns"`);
  const base = options.labelIndexBase ?? defaultBase;
  const split = { textFields, labelColumn: src.labelColumn, labelNames, base };
  const train = toExamples(await readCsv(src.trainFile, "train file"), { ...split, labeled: true });
  const testFile = options.testPath === undefined ? src.testFile : resolve(options.testPath);
  const test = testFile === undefined ? [] : toExamples(await readCsv(testFile, "test file"), { ...split, labeled: false });
  const instruction =
    options.instruction?.trim() || src.description || RAFT_TASKS[src.name]?.instruction || genericInstruction(labelNames);
  const files = [...src.metaFiles, src.trainFile, ...(testFile === undefined ? [] : [testFile])].map((f) => resolve(f));
  return { name: src.name, labelNames, textFields, instruction, train, test, files };
}

/**
 * Loads a RAFT-layout folder: train.csv (required), test_unlabeled.csv (optional; test is [] without it), and
 * task.json and/or labels.json (or, with neither, a folder named after a RAFT task uses the built-in table).
 * Label values are names, or integers read per `labelIndexBase` (default 0: 0-based indices into the label list).
 */
export async function loadRaftTask(dir: string, options: RaftOptions = {}): Promise<TaskData> {
  const full = resolve(dir);
  if (!existsSync(full) || !statSync(full).isDirectory()) {
    throw new TfewError(`RAFT task folder ${dir} does not exist; give a folder holding train.csv and task.json`);
  }
  const meta = await readMeta(full);
  const testFile = join(full, "test_unlabeled.csv");
  return loadRaftSources(
    {
      name: meta.name,
      trainFile: join(full, "train.csv"),
      testFile: existsSync(testFile) ? testFile : undefined,
      metaFiles: meta.files,
      description: meta.description,
      textFields: meta.textFields,
      labelColumn: meta.labelColumn,
      labelNames: meta.labelNames,
    },
    options,
    0,
  );
}

/**
 * `raft:<task>`: fetches data/<task>/{train,test_unlabeled}.csv of HF `ought/raft` through resolveDataset and
 * reads them with the built-in label list and columns. Integer labels default to HF ClassLabel indices (base 1).
 */
export async function loadRaftFromHub(
  task: string,
  resolveDataset: ((repoId: string, files: string[]) => Promise<{ dir: string }>) | undefined,
  options: RaftOptions = {},
): Promise<TaskData> {
  const info = RAFT_TASKS[task];
  if (info === undefined) {
    throw new TfewError(`raft:${task} is not a RAFT task; use one of ${Object.keys(RAFT_TASKS).join(", ")}`);
  }
  if (resolveDataset === undefined) {
    throw new TfewError(`raft:${task} needs the hub dataset resolver (loadTask deps.resolveDataset); pass it, or give a local RAFT folder`);
  }
  const trainPath = `data/${task}/train.csv`;
  const testPath = `data/${task}/test_unlabeled.csv`;
  const { dir } = await resolveDataset("ought/raft", [trainPath, testPath]);
  return loadRaftSources(
    {
      name: task,
      trainFile: join(dir, trainPath),
      testFile: join(dir, testPath),
      metaFiles: [],
      description: "",
      textFields: info.textFields,
      labelColumn: "Label",
      labelNames: info.labelNames,
    },
    options,
    1,
  );
}
