// Read and write the safetensors format: u64-LE header length, JSON header (dtype, shape, data_offsets per
// tensor, optional "__metadata__"), raw little-endian row-major data. Mirrors huggingface/safetensors.
import { open, type FileHandle } from "node:fs/promises";
import { TfewError } from "../errors.js";
import { writeFileAtomic, type AtomicWriteOptions } from "./atomic.js";
import { numel, type DType, type TensorRecord } from "./tensor-record.js";

export interface SafetensorsContents {
  tensors: Map<string, TensorRecord>;
  /** the "__metadata__" string map ({} when absent) */
  metadata: Record<string, string>;
}

/** One tensor to write. I64 accepts Int32Array (widened) or BigInt64Array; F16/BF16 take the raw bits (src/io/half-float.ts). */
export interface SafetensorsInput {
  dtype: "F32" | "F16" | "BF16" | "I64" | "I32";
  shape: number[];
  data: Float32Array | Uint16Array | Int32Array | BigInt64Array;
}

const DTYPE_BYTES: Record<DType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};
const MAX_HEADER_BYTES = 100 * 1024 * 1024; // the reference reader's limit
const REDOWNLOAD = "the file is corrupt or truncated — re-download it";
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/** Parse a whole safetensors file held in memory. `file` is used in error messages. */
export function parseSafetensors(bytes: Uint8Array, file: string): SafetensorsContents {
  const headerLength = readHeaderLength(bytes.subarray(0, 8), bytes.byteLength, file);
  const dataStart = 8 + headerLength;
  const { entries, metadata } = parseHeader(bytes.subarray(8, dataStart), bytes.byteLength - dataStart, file);
  const tensors = new Map<string, TensorRecord>();
  for (const entry of entries) {
    tensors.set(entry.name, decodeTensor(entry, bytes.subarray(dataStart + entry.begin, dataStart + entry.end), file));
  }
  return { tensors, metadata };
}

/**
 * Read a safetensors file tensor by tensor (never holds the whole file twice; works past 4 GB files). `onTensor`
 * sees each record as it is read and returns what to keep (e.g. a record whose data went to the backend).
 */
export async function readSafetensors(
  path: string,
  options: { onTensor?: (name: string, record: TensorRecord) => TensorRecord } = {},
): Promise<SafetensorsContents> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    const code = (error as { code?: string }).code ?? "EUNKNOWN";
    if (code === "ENOENT") throw new TfewError(`safetensors: file ${path} not found; check the path`, { cause: error });
    throw new TfewError(`safetensors: cannot open ${path} (${code}); check that it is a readable file`, {
      cause: error,
    });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile())
      throw new TfewError(`safetensors: ${path} is not a file; point at the .safetensors file itself`);
    const size = info.size;
    const headerLength = readHeaderLength(await readAt(handle, 0, Math.min(8, size), path), size, path);
    const dataStart = 8 + headerLength;
    const { entries, metadata } = parseHeader(await readAt(handle, 8, headerLength, path), size - dataStart, path);
    const tensors = new Map<string, TensorRecord>();
    for (const entry of entries) {
      const raw = await readAt(handle, dataStart + entry.begin, entry.end - entry.begin, path);
      const record = decodeTensor(entry, raw, path, { owned: true });
      tensors.set(entry.name, options.onTensor ? options.onTensor(entry.name, record) : record);
    }
    return { tensors, metadata };
  } finally {
    await handle.close();
  }
}

/**
 * Serialize tensors the way the reference writer does: tensor names sorted by code point, "__metadata__"
 * first (its keys in the given order), compact JSON header padded with spaces to a multiple of 8 bytes,
 * data in name order with no gaps. (The Rust writer orders mixed dtypes by alignment first; for
 * single-dtype files, e.g. every adapter, the bytes are identical.)
 */
export function serializeSafetensors(
  tensors: Record<string, SafetensorsInput>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors).sort(compareCodePoints);
  const parts: string[] = [];
  if (metadata !== undefined) {
    // metadata keys keep the caller's order, as Python's json.dumps of a dict does
    const entries = Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    parts.push(`"__metadata__":{${entries.join(",")}}`);
  }
  let offset = 0;
  for (const name of names) {
    if (name === "__metadata__")
      throw new TfewError(`safetensors: "__metadata__" cannot be a tensor name; rename the tensor`);
    const t = tensors[name] as SafetensorsInput;
    checkInput(name, t);
    const end = offset + numel(t.shape) * DTYPE_BYTES[t.dtype];
    parts.push(
      `${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":${JSON.stringify(t.shape)},"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const headerLength = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerLength); // space padding
  let at = 8 + headerLength;
  for (const name of names) {
    const t = tensors[name] as SafetensorsInput;
    at = writeData(view, at, t);
  }
  return out;
}

/** serializeSafetensors + writeFileAtomic (`options.fs` lets tests inject write failures). */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, SafetensorsInput>,
  metadata?: Record<string, string>,
  options: AtomicWriteOptions = {},
): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata), options);
}

function readHeaderLength(first8: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8) {
    throw new TfewError(
      `safetensors: ${file} is ${fileSize} bytes, too short for the 8-byte header length; ${REDOWNLOAD}`,
    );
  }
  const length = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (length < 2n || length > BigInt(MAX_HEADER_BYTES) || 8n + length > BigInt(fileSize)) {
    throw new TfewError(
      `safetensors: ${file} declares a ${length}-byte header but the file is ${fileSize} bytes (allowed: 2 bytes to ` +
        `100 MB, inside the file); ${REDOWNLOAD}`,
    );
  }
  return Number(length);
}

function parseHeader(
  headerBytes: Uint8Array,
  dataLength: number,
  file: string,
): { entries: Entry[]; metadata: Record<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes));
  } catch (error) {
    throw new TfewError(
      `safetensors: the header of ${file} is not valid UTF-8 JSON (${(error as Error).message}); ${REDOWNLOAD}`,
    );
  }
  if (!isPlainObject(header))
    throw new TfewError(`safetensors: the header of ${file} is not a JSON object; ${REDOWNLOAD}`);
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (!isPlainObject(value))
        throw new TfewError(`safetensors: "__metadata__" in ${file} is not an object; ${REDOWNLOAD}`);
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== "string")
          throw new TfewError(`safetensors: "__metadata__.${k}" in ${file} is not a string; ${REDOWNLOAD}`);
        metadata[k] = v;
      }
      continue;
    }
    entries.push(parseEntry(name, value, dataLength, file));
  }
  checkOverlap(entries, file);
  return { entries, metadata };
}

function parseEntry(name: string, value: unknown, dataLength: number, file: string): Entry {
  const where = `tensor ${JSON.stringify(name)} in ${file}`;
  if (!isPlainObject(value))
    throw new TfewError(`safetensors: ${where} is not an object with dtype/shape/data_offsets; ${REDOWNLOAD}`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== "string" || !Object.hasOwn(DTYPE_BYTES, dtype)) {
    throw new TfewError(
      `safetensors: ${where} has dtype ${JSON.stringify(dtype)}, which tfew cannot read (known: ${Object.keys(DTYPE_BYTES).join(", ")}); ` +
        `convert the checkpoint to F32, F16 or BF16`,
    );
  }
  const dt = dtype as DType;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new TfewError(
      `safetensors: ${where} has shape ${JSON.stringify(shape)}, not an array of non-negative integers; ${REDOWNLOAD}`,
    );
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)
  ) {
    throw new TfewError(
      `safetensors: ${where} has data_offsets ${JSON.stringify(offsets)}, not [begin, end]; ${REDOWNLOAD}`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) {
    throw new TfewError(
      `safetensors: ${where} has data_offsets [${begin}, ${end}] outside the ${dataLength}-byte data area; ${REDOWNLOAD}`,
    );
  }
  const needed = numel(shape as number[]) * DTYPE_BYTES[dt];
  if (end - begin !== needed) {
    throw new TfewError(
      `safetensors: ${where} has data_offsets [${begin}, ${end}] but shape [${shape.join(",")}] ${dt} needs ${needed} bytes; ${REDOWNLOAD}`,
    );
  }
  return { name, dtype: dt, shape: shape as number[], begin, end };
}

function checkOverlap(entries: Entry[], file: string): void {
  const sorted = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as Entry;
    const cur = sorted[i] as Entry;
    if (cur.begin < prev.end) {
      throw new TfewError(
        `safetensors: tensors ${JSON.stringify(prev.name)} [${prev.begin}, ${prev.end}] and ${JSON.stringify(cur.name)} ` +
          `[${cur.begin}, ${cur.end}] overlap in ${file}; ${REDOWNLOAD}`,
      );
    }
  }
}

/**
 * Decode one tensor's raw little-endian bytes (any alignment) into float32 or int32. `owned`: `raw` is a
 * fresh buffer of exactly this tensor, so F32 data can be viewed in place instead of copied.
 */
function decodeTensor(entry: Entry, raw: Uint8Array, file: string, options: { owned?: boolean } = {}): TensorRecord {
  const n = numel(entry.shape);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const { dtype, shape } = entry;
  if (dtype === "F32" && LITTLE_ENDIAN_HOST) {
    const aligned = options.owned === true && raw.byteOffset % 4 === 0 ? raw : raw.slice();
    return { dtype, shape, data: new Float32Array(aligned.buffer, aligned.byteOffset, n) };
  }
  if (dtype === "F32" || dtype === "F64" || dtype === "F16" || dtype === "BF16") {
    const data = new Float32Array(n);
    if (dtype === "F32") for (let i = 0; i < n; i++) data[i] = view.getFloat32(4 * i, true);
    if (dtype === "F64") for (let i = 0; i < n; i++) data[i] = view.getFloat64(8 * i, true);
    if (dtype === "F16") for (let i = 0; i < n; i++) data[i] = float16ToNumber(view.getUint16(2 * i, true));
    if (dtype === "BF16") {
      const bits = new Uint32Array(data.buffer); // bf16 = the upper 16 bits of a float32
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
    }
    return { dtype, shape, data };
  }
  const data = new Int32Array(n);
  switch (dtype) {
    case "I64":
      for (let i = 0; i < n; i++) {
        const lo = view.getUint32(8 * i, true);
        const hi = view.getInt32(8 * i + 4, true);
        if (hi !== (lo >= 0x80000000 ? -1 : 0)) {
          throw new TfewError(
            `safetensors: tensor ${JSON.stringify(entry.name)} in ${file} holds I64 value ${view.getBigInt64(8 * i, true)} at ` +
              `element ${i}, outside int32; tfew reads integer tensors as int32 — store it as I32 or within ±2^31`,
          );
        }
        data[i] = lo | 0;
      }
      break;
    case "I32":
      for (let i = 0; i < n; i++) data[i] = view.getInt32(4 * i, true);
      break;
    case "I16":
      for (let i = 0; i < n; i++) data[i] = view.getInt16(2 * i, true);
      break;
    case "I8":
      for (let i = 0; i < n; i++) data[i] = view.getInt8(i);
      break;
    case "U8":
      data.set(raw);
      break;
    case "BOOL":
      for (let i = 0; i < n; i++) data[i] = raw[i] === 0 ? 0 : 1;
      break;
  }
  return { dtype, shape, data };
}

/** IEEE 754 binary16 bits → number (exact). */
export function float16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // zero / subnormal
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

function checkInput(name: string, t: SafetensorsInput): void {
  const okType =
    (t.dtype === "F32" && t.data instanceof Float32Array) ||
    (t.dtype === "I32" && t.data instanceof Int32Array) ||
    ((t.dtype === "F16" || t.dtype === "BF16") && t.data instanceof Uint16Array) ||
    (t.dtype === "I64" && (t.data instanceof Int32Array || t.data instanceof BigInt64Array));
  if (!okType)
    throw new TfewError(
      `safetensors: tensor ${JSON.stringify(name)} is ${t.dtype} but its data is a ${t.data.constructor.name}; this is a bug in the caller`,
    );
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || numel(t.shape) !== t.data.length) {
    throw new TfewError(
      `safetensors: tensor ${JSON.stringify(name)} has shape ${JSON.stringify(t.shape)} but ${t.data.length} values; this is a bug in the caller`,
    );
  }
}

function writeData(view: DataView, at: number, t: SafetensorsInput): number {
  const { data } = t;
  if (t.dtype === "I64") {
    for (let i = 0; i < data.length; i++) view.setBigInt64(at + 8 * i, BigInt(data[i] as number | bigint), true);
    return at + 8 * data.length;
  }
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(view.buffer).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
  } else {
    for (let i = 0; i < data.length; i++) {
      if (data instanceof Float32Array) view.setFloat32(at + 4 * i, data[i] as number, true);
      else if (data instanceof Uint16Array) view.setUint16(at + 2 * i, data[i] as number, true);
      else view.setInt32(at + 4 * i, data[i] as number, true);
    }
  }
  return at + data.byteLength;
}

async function readAt(handle: FileHandle, position: number, length: number, file: string): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const chunk = Math.min(length - done, 1 << 30);
    const { bytesRead } = await handle.read(out, done, chunk, position + done);
    if (bytesRead === 0)
      throw new TfewError(`safetensors: ${file} ends early at byte ${position + done}; ${REDOWNLOAD}`);
    done += bytesRead;
  }
  return out;
}

/** Compare by Unicode code point (= UTF-8 byte order, as Rust and Python sort), not UTF-16 units. */
function compareCodePoints(a: string, b: string): number {
  const ca = Array.from(a, (c) => c.codePointAt(0) as number);
  const cb = Array.from(b, (c) => c.codePointAt(0) as number);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    if (ca[i] !== cb[i]) return (ca[i] as number) - (cb[i] as number);
  }
  return ca.length - cb.length;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
