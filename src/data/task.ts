// A classification task in memory (examples, label names, text fields, instruction) and `loadTask`, which picks the
// loader from the path: a RAFT-layout folder, `raft:<task>` from the HF hub (ought/raft), or a .csv/.jsonl file.
import { existsSync, statSync } from "node:fs";
import { extname, resolve } from "node:path";
import { TfewError } from "../errors.js";
import type { LabelIndexBase } from "./labels.js";
import { loadRaftFromHub, loadRaftTask } from "./raft.js";
import { loadTabularTask } from "./tabular.js";

export interface Example {
  id: string;
  /** Text field name → value (every field of TaskData.textFields is present, possibly ""). */
  fields: Record<string, string>;
  /** Index into TaskData.labelNames; absent for unlabeled (test) examples. */
  label?: number;
}

export interface TaskData {
  name: string;
  labelNames: string[];
  textFields: string[];
  instruction: string;
  train: Example[];
  test: Example[];
  /** Absolute paths of every file read, for sha256 in the run manifest. */
  files: string[];
}

/** What to load; the fields mirror the run config's data.* keys (data.text_fields → textFields, ...). */
export interface TaskSpec {
  /** A RAFT-layout folder, `raft:<task>`, or a .csv / .jsonl file. */
  path: string;
  /** Label names in order; overrides task.json / the built-in RAFT table; for .csv/.jsonl default: inferred. */
  labels?: string[];
  /** Prompt instruction; overrides task.json's description and the built-in default. */
  instruction?: string;
  /** How integers in the label column are read (see LabelIndexBase); default 0, and 1 for raft:<task>. */
  labelIndexBase?: LabelIndexBase;
  /** The columns that make up the prompt, in order; default: the task's text columns (RAFT) or all but ID/label. */
  textFields?: string[];
  /** .csv/.jsonl only: the label column (default "Label"; RAFT takes it from task.json). */
  labelField?: string;
  /** .csv/.jsonl only: the ID column (default: the 1-based row number; RAFT uses "ID"). */
  idField?: string;
  /** A test file to use instead of the task's own test split (RAFT: test_unlabeled.csv); labels optional. */
  testPath?: string;
}

export interface TaskDeps {
  /** Downloads files of a hub dataset repo (src/io); returns the local folder that mirrors the repo layout. */
  resolveDataset?: (repoId: string, files: string[]) => Promise<{ dir: string }>;
}

const RAFT_PREFIX = "raft:";

export async function loadTask(spec: TaskSpec, deps: TaskDeps = {}): Promise<TaskData> {
  const { path, labels, instruction, labelIndexBase, textFields, testPath } = spec;
  if (path.startsWith(RAFT_PREFIX)) {
    const options = { labels, instruction, labelIndexBase, textFields, testPath };
    return loadRaftFromHub(path.slice(RAFT_PREFIX.length), deps.resolveDataset, options);
  }
  const full = resolve(path);
  if (existsSync(full) && statSync(full).isDirectory()) {
    return loadRaftTask(full, { labels, instruction, labelIndexBase, textFields, testPath });
  }
  const ext = extname(full).toLowerCase();
  if (ext === ".csv" || ext === ".jsonl") {
    const { labelField, idField } = spec;
    return loadTabularTask(full, { textFields, labelField, labels, idField, instruction, testPath, labelIndexBase });
  }
  if (!existsSync(full)) {
    throw new TfewError(`task path ${path} does not exist; give a RAFT folder, raft:<task>, or a .csv/.jsonl file`);
  }
  throw new TfewError(`task path ${path} is not a folder, raft:<task>, .csv or .jsonl; convert the data to one of those`);
}
