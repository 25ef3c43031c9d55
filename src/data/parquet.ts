// Parquet task files (pyarrow, pandas, the HF hub's Parquet conversion) through hyparquet: every encoding
// (plain, dictionary/RLE, delta, byte-stream-split) and, with hyparquet-compressors, snappy/gzip/zstd/brotli/lz4.
import { existsSync } from "node:fs";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema, type FileMetaData, type SchemaTree } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { TfewError } from "../errors.js";
import { classLabelsFromHf, tableFromColumns, type DecodedColumn } from "./columnar.js";
import type { Table } from "./table.js";

/** Logical/converted annotations that make a BYTE_ARRAY column text. */
const TEXT_LOGICAL = new Set(["STRING", "ENUM", "JSON", "UUID"]);
const TEXT_CONVERTED = new Set(["UTF8", "ENUM", "JSON"]);
const SCALAR_TYPES = new Set(["BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE"]);

/** Why a top-level column cannot be read as text, or undefined when it can. */
function unsupportedReason(node: SchemaTree): string | undefined {
  const e = node.element;
  const logical = e.logical_type?.type;
  if (node.children.length > 0) return `a nested ${(logical ?? e.converted_type ?? "struct").toLowerCase()} column`;
  if (e.type === "BYTE_ARRAY" || e.type === "FIXED_LEN_BYTE_ARRAY") {
    const text = (logical !== undefined && TEXT_LOGICAL.has(logical)) || (e.converted_type !== undefined && TEXT_CONVERTED.has(e.converted_type));
    const number = logical === "DECIMAL" || e.converted_type === "DECIMAL" || logical === "FLOAT16";
    return text || number ? undefined : `a binary column (${e.type} without a string annotation)`;
  }
  return e.type !== undefined && SCALAR_TYPES.has(e.type) ? undefined : `a column of unsupported type ${String(e.type)}`;
}

async function readMetadata(file: string): Promise<{ buffer: Awaited<ReturnType<typeof asyncBufferFromFile>>; metadata: FileMetaData }> {
  if (!existsSync(file)) throw new TfewError(`missing Parquet file ${file}; check data.path`);
  const buffer = await asyncBufferFromFile(file);
  try {
    return { buffer, metadata: await parquetMetadataAsync(buffer) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TfewError(`${file} is not a readable Parquet file (${reason.split("\n")[0]}); re-export it with pyarrow or pandas`, { cause: error });
  }
}

/** Rows of a Parquet file (number of rows from the footer, no data read). */
export async function parquetRowCount(file: string): Promise<number> {
  return Number((await readMetadata(file)).metadata.num_rows);
}

/** Reads every text/number/boolean column of a Parquet file; nested and binary columns are listed, not read. */
export async function readParquet(file: string): Promise<Table> {
  const { buffer, metadata } = await readMetadata(file);
  const top = parquetSchema(metadata).children;
  const readable = top.filter((node) => unsupportedReason(node) === undefined).map((node) => node.element.name);
  let rows: Record<string, unknown>[] = [];
  if (readable.length > 0) {
    try {
      rows = await parquetReadObjects({ file: buffer, metadata, columns: readable, compressors, utf8: false });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new TfewError(`${file} could not be decoded (${reason.split("\n")[0]}); re-export it with pyarrow (snappy or zstd)`, { cause: error });
    }
  }
  const columns: DecodedColumn[] = top.map((node) => {
    const name = node.element.name;
    const reason = unsupportedReason(node);
    return reason === undefined ? { name, values: rows.map((r) => r[name]) } : { name, unsupported: reason };
  });
  const hf = metadata.key_value_metadata?.find((kv) => kv.key === "huggingface")?.value;
  return tableFromColumns(file, "parquet", columns, classLabelsFromHf(hf));
}
