// A task in memory: its examples, label names (or, for a generative task, its target column), text fields and
// instruction. A leaf: the task loaders (raft.ts, tabular.ts, hf-dataset.ts) build these; loadTask returns them.
export interface Example {
  id: string;
  /** Text field name → value (every field of TaskData.textFields is present, possibly ""). */
  fields: Record<string, string>;
  /** Index into TaskData.labelNames; absent for unlabeled (test) examples. */
  label?: number;
  /** Generative tasks: the free-text target (data.target_field); absent when the row has none (test rows). */
  target?: string;
}

export interface TaskData {
  name: string;
  /** Classification: the answer choices in label order; generative tasks: [] (see targetField). */
  labelNames: string[];
  /** Set for a generative task: the column of free-text targets (data.target_field). Absent = classification. */
  targetField?: string;
  textFields: string[];
  instruction: string;
  train: Example[];
  test: Example[];
  /** Absolute paths of every file read, for sha256 in the run manifest. */
  files: string[];
}

/** data.id_field's default (RAFT's name); config/schema.ts spells the same default. */
export const DEFAULT_ID_FIELD = "ID";
