// A classification task in memory: its examples, label names, text fields and instruction. A leaf: the task
// loaders (raft.ts, tabular.ts, hf-dataset.ts) build these and task.ts's loadTask returns them.
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

/** data.id_field's default (RAFT's name); config/schema.ts spells the same default. */
export const DEFAULT_ID_FIELD = "ID";
