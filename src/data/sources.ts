// One reader per task-file format, picked by extension: .csv, .jsonl, .parquet, .arrow, and .json (a Label Studio
// export). Every reader returns the same Table of string cells, so nothing above src/data learns a format.
import { extname } from "node:path";
import { TfewError } from "../errors.js";
import { readLabelStudio } from "./label-studio.js";
import { readCsv, readJsonl, type DataFormat, type Table } from "./table.js";

const BY_EXTENSION: Record<string, DataFormat> = {
  ".csv": "csv",
  ".jsonl": "jsonl",
  ".parquet": "parquet",
  ".arrow": "arrow",
  ".json": "label-studio",
};

/** The task-file extensions, for messages. */
export const TASK_FILE_EXTENSIONS = Object.keys(BY_EXTENSION);

/** The format of a task file by its extension, or undefined. */
export function formatOf(path: string): DataFormat | undefined {
  return BY_EXTENSION[extname(path).toLowerCase()];
}

export interface ReadOptions {
  /** The label column (data.label_field); a Label Studio export writes each task's label into it. */
  labelField: string;
  /** The ID column (data.id_field); a Label Studio task without it gets its task id there. */
  idField?: string;
}

/** Reads a task file of any supported format into a Table (`what` is "train file" or "test file", for messages). */
export async function readTable(path: string, what: string, options: ReadOptions): Promise<Table> {
  const format = formatOf(path);
  switch (format) {
    case "csv":
      return { ...(await readCsv(path, what)), format };
    case "jsonl":
      return { ...(await readJsonl(path, what)), format };
    case "parquet":
      return (await import("./parquet.js")).readParquet(path); // hyparquet and apache-arrow load only when used
    case "arrow":
      return (await import("./arrow.js")).readArrow(path);
    case "label-studio":
      return readLabelStudio(path, options);
    case undefined:
      throw new TfewError(`${what} ${path} is not ${TASK_FILE_EXTENSIONS.join(", ")}; convert it to one of those`);
  }
}
