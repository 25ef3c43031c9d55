// A tiny safetensors reader for tests only (u64-LE header length, JSON header, little-endian F32/I64 data),
// so gold tests can read tests/fixtures without depending on src/io. Not for production use.
import { readFileSync } from "node:fs";

export interface FixtureTensor {
  dtype: "F32" | "I64";
  /** row-major shape; [] for a scalar */
  shape: number[];
  /** F32 -> Float32Array, I64 -> Int32Array (every value checked to fit) */
  data: Float32Array | Int32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Reads every tensor of a safetensors file into a map keyed by tensor name. */
export function readSafetensors(path: string): Map<string, FixtureTensor> {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8")) as Record<string, unknown>;
  const base = 8 + headerLength;
  const out = new Map<string, FixtureTensor>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const entry = raw as HeaderEntry;
    const [start, end] = entry.data_offsets;
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (entry.dtype === "F32") {
      if (end - start !== count * 4)
        throw new Error(`${path}: ${name} has ${end - start} bytes, expected ${count * 4}`);
      const data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(base + start + 4 * i, true);
      out.set(name, { dtype: "F32", shape: entry.shape, data });
    } else if (entry.dtype === "I64") {
      if (end - start !== count * 8)
        throw new Error(`${path}: ${name} has ${end - start} bytes, expected ${count * 8}`);
      const data = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const value = view.getBigInt64(base + start + 8 * i, true);
        if (value > 2147483647n || value < -2147483648n) throw new Error(`${path}: ${name}[${i}] does not fit int32`);
        data[i] = Number(value);
      }
      out.set(name, { dtype: "I64", shape: entry.shape, data });
    } else {
      throw new Error(`${path}: ${name} has dtype ${entry.dtype}; this test reader knows only F32 and I64`);
    }
  }
  return out;
}

/** The named tensor, or a clear error naming the file and key. */
export function fixtureTensor(tensors: Map<string, FixtureTensor>, name: string): FixtureTensor {
  const tensor = tensors.get(name);
  if (tensor === undefined) throw new Error(`fixture tensor ${name} not found`);
  return tensor;
}

/** The named F32 tensor's data. */
export function fixtureFloats(tensors: Map<string, FixtureTensor>, name: string): Float32Array {
  const tensor = fixtureTensor(tensors, name);
  if (!(tensor.data instanceof Float32Array))
    throw new Error(`fixture tensor ${name} is ${tensor.dtype}, expected F32`);
  return tensor.data;
}

/** max over elements of |actual - expected| / max(|expected|, floor). */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-30): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    const rel = Math.abs(a - e) / Math.max(Math.abs(e), floor);
    if (!(rel <= worst)) worst = rel; // also propagates NaN
  }
  return worst;
}
