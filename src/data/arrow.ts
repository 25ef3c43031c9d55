// .arrow task files: the Arrow IPC stream format that the `datasets` cache and save_to_disk write (the IPC file
// format, "ARROW1" magic, is read too), through apache-arrow. ClassLabel names come from the `huggingface` metadata.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { DataType, tableFromIPC, type Table as ArrowTable } from "apache-arrow";
import { TfewError } from "../errors.js";
import { classLabelsFromHf, tableFromColumns, type DecodedColumn } from "./columnar.js";
import type { Table } from "./table.js";

const FILE_MAGIC = "ARROW1";

/** Why a column type cannot be read as text, or undefined when it can. */
function unsupportedReason(type: DataType): string | undefined {
  if (DataType.isDictionary(type)) return unsupportedReason(type.dictionary);
  const scalar = [DataType.isUtf8, DataType.isLargeUtf8, DataType.isUtf8View, DataType.isInt, DataType.isFloat, DataType.isBool,
    DataType.isNull, DataType.isDecimal, DataType.isDate, DataType.isTimestamp];
  if (scalar.some((is) => is(type))) return undefined;
  const binary = [DataType.isBinary, DataType.isLargeBinary, DataType.isBinaryView, DataType.isFixedSizeBinary];
  if (binary.some((is) => is(type))) return `a binary column (${String(type)})`;
  const nested = [DataType.isList, DataType.isLargeList, DataType.isFixedSizeList, DataType.isStruct, DataType.isMap, DataType.isUnion];
  if (nested.some((is) => is(type))) return `a nested ${String(type)} column`;
  return `a column of unsupported type ${String(type)}`;
}

function notArrow(file: string, why: string, cause?: unknown): TfewError {
  return new TfewError(
    `${file} is not an Arrow IPC stream (${why}); give the .arrow file of a datasets cache or save_to_disk folder, or convert the data to .parquet`,
    cause === undefined ? {} : { cause },
  );
}

/** Parses the bytes of an Arrow IPC stream (or IPC file); one TfewError for anything else. */
function parseIpc(file: string, bytes: Uint8Array): ArrowTable {
  const head = new TextDecoder().decode(bytes.subarray(0, FILE_MAGIC.length));
  if (head.startsWith("PAR1")) throw notArrow(file, "it is a Parquet file; name it .parquet");
  const continuation = bytes.length >= 4 && bytes.subarray(0, 4).every((b) => b === 0xff);
  if (!continuation && head !== FILE_MAGIC) throw notArrow(file, "it does not start with an IPC message marker (0xFFFFFFFF) or the ARROW1 magic");
  let table: ArrowTable;
  try {
    table = tableFromIPC(bytes);
  } catch (error) {
    throw notArrow(file, (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "", error);
  }
  if (table.schema.fields.length === 0) throw notArrow(file, "no schema message at its start");
  return table;
}

async function readIpc(file: string): Promise<ArrowTable> {
  if (!existsSync(file)) throw new TfewError(`missing Arrow file ${file}; check data.path`);
  const bytes = await readFile(file);
  if (bytes.length === 0) throw notArrow(file, "it is empty");
  return parseIpc(file, bytes);
}

/** Rows of an Arrow IPC file. */
export async function arrowRowCount(file: string): Promise<number> {
  return (await readIpc(file)).numRows;
}

/** Reads every text/number/boolean column of an Arrow IPC stream; nested and binary columns are listed, not read. */
export async function readArrow(file: string): Promise<Table> {
  const table = await readIpc(file);
  const columns: DecodedColumn[] = table.schema.fields.map((field) => {
    const reason = unsupportedReason(field.type);
    if (reason !== undefined) return { name: field.name, unsupported: reason };
    const vector = table.getChild(field.name);
    const values = vector === null ? [] : Array.from({ length: table.numRows }, (_, i) => dateAware(field.type, vector.get(i)));
    return { name: field.name, values };
  });
  return tableFromColumns(file, "arrow", columns, classLabelsFromHf(table.schema.metadata.get("huggingface")));
}

/** Arrow dates come back as epoch milliseconds; show them as dates. */
function dateAware(type: DataType, value: unknown): unknown {
  return DataType.isDate(type) && typeof value === "number" ? new Date(value) : value;
}
