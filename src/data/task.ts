// `loadTask`, the one entry that loads a task (TaskData, task-types.ts) and picks the loader from the path: a
// RAFT-layout folder, `raft:<task>` from the HF hub (ought/raft), `hf:<org>/<dataset>[/<config>]` from the HF
// cache's Parquet files, or a .csv/.jsonl/.parquet/.arrow/Label Studio .json file.
import { existsSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { TfewError } from "../errors.js";
import { findCachedParquet } from "../io/hub-parquet.js";
import { HF_PREFIX, loadHfTask, type FindParquet } from "./hf-dataset.js";
import type { LabelIndexBase } from "./labels.js";
import { loadRaftFromHub, loadRaftTask } from "./raft.js";
import { formatOf, TASK_FILE_EXTENSIONS } from "./sources.js";
import { loadTabularTask } from "./tabular.js";
import { DEFAULT_ID_FIELD, type TaskData } from "./task-types.js";

/** What to load; the fields mirror the run config's data.* keys (data.text_fields → textFields, ...). */
export interface TaskSpec {
  /** A RAFT-layout folder, `raft:<task>`, `hf:<org>/<dataset>[/<config>]`, or a .csv/.jsonl/.parquet/.arrow/.json file. */
  path: string;
  /** Label names in order; overrides task.json / the built-in RAFT table; for files: ClassLabel names, else inferred. */
  labels?: string[];
  /** Prompt instruction; overrides task.json's description and the built-in default. */
  instruction?: string;
  /** How integers in the label column are read (see LabelIndexBase); default 0, and 1 for raft:<task>. */
  labelIndexBase?: LabelIndexBase;
  /** The columns that make up the prompt, in order; default: the task's text columns (RAFT) or all but ID/label. */
  textFields?: string[];
  /** Files and hf: only: the label column (default "Label"; RAFT takes it from task.json); Label Studio: its choices control. */
  labelField?: string;
  /** Files and hf: only: the ID column (default: the 1-based row number, a Label Studio task's id; RAFT uses "ID"). */
  idField?: string;
  /** A test file to use instead of the task's own test split (RAFT: test_unlabeled.csv); labels optional. */
  testPath?: string;
  /** Files and hf: only: a generative task's column of free-text targets (data.target_field); no labels then. */
  targetField?: string;
}

export interface TaskDeps {
  /** Downloads files of a hub dataset repo (src/io); returns the local folder that mirrors the repo layout. */
  resolveDataset?: (repoId: string, files: string[]) => Promise<{ dir: string }>;
  /** Finds the cached Parquet files of `hf:` datasets; default: the standard HF cache (io/hub-parquet.ts). */
  findParquet?: FindParquet;
}

const RAFT_PREFIX = "raft:";

export async function loadTask(spec: TaskSpec, deps: TaskDeps = {}): Promise<TaskData> {
  const { path, labels, instruction, labelIndexBase, textFields, testPath } = spec;
  if (isRaft(path)) checkRaftIdField(spec.idField);
  if (isRaft(path) && spec.targetField !== undefined)
    throw new TfewError(
      `data.target_field "${spec.targetField}" does not apply to a RAFT task (a classification task); remove data.target_field or give a task file`,
    );
  if (path.startsWith(RAFT_PREFIX)) {
    const options = { labels, instruction, labelIndexBase, textFields, testPath };
    return loadRaftFromHub(path.slice(RAFT_PREFIX.length), deps.resolveDataset, options);
  }
  const { labelField, idField, targetField } = spec;
  const fileOptions = { textFields, labelField, labels, idField, instruction, testPath, labelIndexBase, targetField };
  if (path.startsWith(HF_PREFIX)) {
    const find = deps.findParquet ?? ((repoId, config) => findCachedParquet(repoId, { config }));
    return loadHfTask(path.slice(HF_PREFIX.length), find, fileOptions);
  }
  const full = resolve(path);
  if (existsSync(full) && statSync(full).isDirectory()) {
    return loadRaftTask(full, { labels, instruction, labelIndexBase, textFields, testPath });
  }
  const kinds = `a RAFT folder, raft:<task>, hf:<org>/<dataset>, or a ${TASK_FILE_EXTENSIONS.join("/")} file`;
  if (!existsSync(full)) throw new TfewError(`task path ${path} does not exist${relativeNote(path)}; give ${kinds}`);
  if (formatOf(full) !== undefined) return loadTabularTask(full, fileOptions);
  throw new TfewError(`task path ${path} is not ${kinds}; convert the data to one of those`);
}

function isRaft(path: string): boolean {
  const full = resolve(path);
  return path.startsWith(RAFT_PREFIX) || (existsSync(full) && statSync(full).isDirectory());
}

/** A RAFT task's ID column is always "ID"; another data.id_field would be ignored, so it is refused. */
function checkRaftIdField(idField: string | undefined): void {
  if (idField === undefined || idField === DEFAULT_ID_FIELD) return;
  throw new TfewError(
    `data.id_field "${idField}" does not apply to a RAFT task (its ID column is "${DEFAULT_ID_FIELD}"); remove data.id_field`,
  );
}

/** " (relative to the current folder /x)" for a relative path: where a config file's paths resolve. */
export function relativeNote(path: string): string {
  return isAbsolute(path) ? "" : ` (relative to the current folder ${process.cwd()})`;
}
