// What a run manifest records about each data file: path, format, row count and sha256 (`data_files` of
// manifest.json for runs and audits). Rows are data records: CSV records after the header, JSONL lines, Parquet and
// Arrow rows, Label Studio tasks; a RAFT task.json/labels.json is "json" with rows null.
import { readFile } from "node:fs/promises";
import { sha256File } from "../io/atomic.js";
import { formatOf } from "./sources.js";
import { readCsv, readJsonl, type DataFormat } from "./table.js";

export interface DataFileRecord {
  path: string;
  format: DataFormat | "json";
  rows: number | null;
  sha256: string;
}

async function describe(path: string): Promise<{ format: DataFormat | "json"; rows: number | null }> {
  const format = formatOf(path);
  switch (format) {
    case "csv":
      return { format, rows: (await readCsv(path)).rows.length };
    case "jsonl":
      return { format, rows: (await readJsonl(path)).rows.length };
    case "parquet":
      return { format, rows: await (await import("./parquet.js")).parquetRowCount(path) };
    case "arrow":
      return { format, rows: await (await import("./arrow.js")).arrowRowCount(path) };
    case "label-studio": {
      // a .json task file is a Label Studio export (a list of tasks) or RAFT metadata (an object)
      const parsed: unknown = JSON.parse(await readFile(path, "utf8"));
      return Array.isArray(parsed) ? { format, rows: parsed.length } : { format: "json", rows: null };
    }
    default:
      return { format: "json", rows: null };
  }
}

/**
 * One record per file, in the order given (TaskData.files: every file a task was read from). For manifest.json:
 * `data_files: await describeDataFiles(task.files)`.
 */
export async function describeDataFiles(files: readonly string[]): Promise<DataFileRecord[]> {
  const out: DataFileRecord[] = [];
  for (const path of files) out.push({ path, ...(await describe(path)), sha256: await sha256File(path) });
  return out;
}
