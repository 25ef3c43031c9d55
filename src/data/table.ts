// Reads task files into rows of strings: strict UTF-8, CSV the way HF's RAFT loader reads it (header row, quoted
// multi-line fields, optional BOM, leading spaces of values dropped as csv.reader(skipinitialspace=True)), and JSONL.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { parse } from "csv-parse/sync";
import { TfewError } from "../errors.js";

/**
 * One data record; `row` counts data records from 1 (the CSV header is not a row), `line` is where it starts in a
 * text file (absent for Parquet/Arrow), `task` is a Label Studio task id.
 */
export interface TableRow {
  values: Record<string, string>;
  row: number;
  line?: number;
  task?: string;
}

/** The formats a task file can have (data/sources.ts picks one by extension). */
export type DataFormat = "csv" | "jsonl" | "parquet" | "arrow" | "label-studio";

export interface Table {
  file: string;
  columns: string[];
  rows: TableRow[];
  /** Absent for CSV/JSONL read by readCsv/readJsonl (RAFT folders); set by data/sources.ts readTable. */
  format?: DataFormat;
  /** Column → label names, from a Hugging Face ClassLabel feature (the `huggingface` schema metadata). */
  classLabels?: Record<string, string[]>;
  /** Columns tfew cannot read as text (nested, binary), with their type; their values are absent. */
  unsupported?: Record<string, string>;
  /** Rows with an empty label are unlabelled examples for the test split (Label Studio tasks not annotated yet). */
  unlabeledToTest?: boolean;
}

/** "train.csv row 3 (line 5)", "x.parquet row 3", "export.json task 17 (row 3)", for error messages. */
export function where(file: string, row: TableRow): string {
  if (row.task !== undefined) return `${file} task ${row.task} (row ${row.row})`;
  return row.line === undefined ? `${file} row ${row.row}` : `${file} row ${row.row} (line ${row.line})`;
}

/** Byte offset of the first invalid UTF-8 sequence in bytes, or -1. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i] ?? 0;
    const n = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (n === 0 || i + n > bytes.length) return i;
    for (let k = 1; k < n; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    const second = bytes[i + 1] ?? 0;
    // Overlong 3/4-byte forms, UTF-16 surrogates and code points above U+10FFFF.
    if ((b === 0xe0 && second < 0xa0) || (b === 0xed && second >= 0xa0) || (b === 0xf0 && second < 0x90) || (b === 0xf4 && second >= 0x90)) {
      return i;
    }
    i += n;
  }
  return -1;
}

/** Reads a file that must exist, be non-empty and be valid UTF-8 (a BOM is dropped). */
export async function readUtf8File(file: string, what: string): Promise<string> {
  if (!existsSync(file)) throw new TfewError(`missing ${what} ${file}; check the task path`);
  const bytes = await readFile(file);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    const at = Math.max(0, firstInvalidUtf8(bytes));
    const line = bytes.subarray(0, at).filter((b) => b === 0x0a).length + 1;
    throw new TfewError(`${file} is not valid UTF-8 (byte ${at}, line ${line}); re-save it as UTF-8`, { cause: error });
  }
  if (text.trim() === "") throw new TfewError(`${what} ${file} is empty; it needs a header line and data rows`);
  return text;
}

interface ParsedRecord {
  record: string[];
  raw: string;
  info: { lines: number };
}

/** Reads a CSV with a header line into rows keyed by column name (all values are strings). */
export async function readCsv(file: string, what = "CSV file"): Promise<Table> {
  const text = await readUtf8File(file, what);
  let records: ParsedRecord[];
  try {
    records = parse(text, { bom: true, ltrim: true, skip_empty_lines: true, info: true, raw: true }) as unknown as ParsedRecord[];
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/\s+/g, " ") : String(error);
    throw new TfewError(`${file} is not valid CSV (${reason}); fix the quoting or the number of fields on that line`, { cause: error });
  }
  const [header, ...body] = records;
  if (header === undefined) throw new TfewError(`${what} ${file} has no header line; add one naming the columns`);
  const columns = header.record.map((c) => c.trim());
  columns.forEach((name, i) => {
    if (name === "") throw new TfewError(`${file} header column ${i + 1} has no name; name every column`);
    if (columns.indexOf(name) !== i) throw new TfewError(`${file} header names column "${name}" twice; rename one`);
  });
  const rows = body.map((r, i): TableRow => {
    // info.lines is the line where the record ends; step back over the newlines inside it.
    const inner = r.raw.replace(/^[\r\n]+/, "").replace(/\r?\n$/, "");
    const line = r.info.lines - (inner.match(/\n/g)?.length ?? 0);
    const values: Record<string, string> = {};
    columns.forEach((name, k) => (values[name] = r.record[k] ?? ""));
    return { values, row: i + 1, line };
  });
  return { file, columns, rows };
}

/** Reads JSON Lines (one object per non-blank line); numbers and booleans become strings, null becomes "". */
export async function readJsonl(file: string, what = "JSONL file"): Promise<Table> {
  const text = await readUtf8File(file, what);
  const rows: TableRow[] = [];
  const columns = new Set<string>();
  text.split("\n").forEach((content, index) => {
    if (content.trim() === "") return;
    const row = rows.length + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(content);
    } catch (error) {
      throw new TfewError(`${file} row ${row} (line ${index + 1}) is not valid JSON (${String(error).split("\n")[0]}); write one object per line`);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new TfewError(`${file} row ${row} (line ${index + 1}) is not a JSON object; write one {"field": value} object per line`);
    }
    const values: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed)) {
      if (value !== null && typeof value === "object") {
        throw new TfewError(`${file} row ${row} (line ${index + 1}) field "${key}" is an object or array; use strings or numbers`);
      }
      values[key] = value === null ? "" : String(value);
      columns.add(key);
    }
    rows.push({ values, row, line: index + 1 });
  });
  return { file, columns: [...columns], rows };
}

/** One CSV field as RFC 4180 writes it: quoted (with "" for ") when it holds a comma, quote or line break. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
