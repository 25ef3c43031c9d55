// What the Parquet and Arrow readers share: cell values → strings, the Hugging Face ClassLabel names carried in
// the `huggingface` schema metadata (datasets' Features: {"info": {"features": {col: {"_type": "ClassLabel", "names"}}}}).
import { TfewError } from "../errors.js";
import type { DataFormat, Table, TableRow } from "./table.js";

/** One column as a reader decoded it; `values` is absent for an unsupported (nested / binary) column. */
export interface DecodedColumn {
  name: string;
  values?: ArrayLike<unknown>;
  /** Why tfew cannot read it, e.g. "a nested list<string> column"; set together with values absent. */
  unsupported?: string;
}

/** Column → ClassLabel names from the `huggingface` metadata JSON; {} when absent or not datasets' layout. */
export function classLabelsFromHf(json: string | undefined): Record<string, string[]> {
  if (json === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return {}; // metadata written by something else: not ours to reject
  }
  const features = (parsed as { info?: { features?: unknown } } | null)?.info?.features;
  if (features === null || typeof features !== "object") return {};
  const out: Record<string, string[]> = {};
  for (const [column, feature] of Object.entries(features as Record<string, unknown>)) {
    const f = feature as { _type?: unknown; names?: unknown } | null;
    if (f?._type === "ClassLabel" && Array.isArray(f.names) && f.names.every((n) => typeof n === "string")) out[column] = f.names as string[];
  }
  return out;
}

/** A scalar cell as text (numbers, bigints, booleans as JSONL writes them; dates as ISO 8601); null/undefined → "". */
export function cellText(value: unknown): string | undefined {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  if (value instanceof Date) return value.toISOString();
  return undefined;
}

/** A ClassLabel id → its name; -1 (datasets' "no label", e.g. GLUE test splits) → "". */
function classLabelName(text: string, names: string[], at: string): string {
  if (!/^-?\d+$/.test(text)) return text;
  const id = Number(text);
  if (id === -1) return "";
  const name = names[id];
  if (name === undefined) throw new TfewError(`${at} holds class id ${id}, outside the ClassLabel names 0..${names.length - 1}; fix the data or its features`);
  return name;
}

/** Builds a Table from decoded columns (all of one length); ClassLabel ids become their names. */
export function tableFromColumns(file: string, format: DataFormat, columns: DecodedColumn[], classLabels: Record<string, string[]>): Table {
  const rowCount = Math.max(0, ...columns.map((c) => c.values?.length ?? 0));
  const rows: TableRow[] = Array.from({ length: rowCount }, (_, i) => ({ values: {}, row: i + 1 }));
  const unsupported: Record<string, string> = {};
  for (const column of columns) {
    if (column.values === undefined) {
      unsupported[column.name] = column.unsupported ?? "an unsupported column";
      continue;
    }
    const names = classLabels[column.name];
    for (let i = 0; i < rowCount; i++) {
      const at = `${file} row ${i + 1}, column "${column.name}"`;
      const text = cellText(column.values[i]);
      if (text === undefined) throw new TfewError(`${at} is not a text, number or boolean value; leave the column out of data.text_fields`);
      (rows[i] as TableRow).values[column.name] = names === undefined ? text : classLabelName(text, names, at);
    }
  }
  const usedLabels = Object.fromEntries(Object.entries(classLabels).filter(([c]) => columns.some((d) => d.name === c)));
  return { file, format, columns: columns.map((c) => c.name), rows, classLabels: usedLabels, unsupported };
}
