import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GOLD_MODEL_DIR } from "../../tests/helpers/shared.js";
import { TfewError } from "../errors.js";
import {
  float16ToNumber,
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
  type SafetensorsInput,
} from "./safetensors.js";
import type { TensorRecord } from "./tensor-record.js";

const MODEL_FILE = join(GOLD_MODEL_DIR, "model.safetensors");
const ADAPTER_FILE = join(GOLD_MODEL_DIR, "adapter", "adapter_model.safetensors");

/** A file from a header (object or raw JSON text, unpadded) and a data area. */
function makeFile(header: unknown, data: Uint8Array = new Uint8Array(0), declaredLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function u16le(values: number[]): Uint8Array {
  const out = new Uint8Array(2 * values.length);
  values.forEach((v, i) => new DataView(out.buffer).setUint16(2 * i, v, true));
  return out;
}

function parseError(bytes: Uint8Array): string {
  try {
    parseSafetensors(bytes, "/m/model.safetensors");
  } catch (error) {
    expect(error).toBeInstanceOf(TfewError);
    const message = (error as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected parseSafetensors to throw");
}

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tfew-st-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("serialize / parse round trip", () => {
  it("keeps dtype, shape, values and metadata; widens I64 from Int32Array or BigInt64Array", async () => {
    const tensors: Record<string, SafetensorsInput> = {
      "w.weight": { dtype: "F32", shape: [2, 3], data: new Float32Array([1, -2.5, 3e-8, Infinity, -0, 7]) },
      ids: { dtype: "I64", shape: [3], data: new Int32Array([-1, 0, 2147483647]) },
      big: { dtype: "I64", shape: [2], data: new BigInt64Array([-2147483648n, 5n]) },
      n: { dtype: "I32", shape: [], data: new Int32Array([42]) },
      empty: { dtype: "F32", shape: [0, 4], data: new Float32Array(0) },
      "ünï.☃": { dtype: "F32", shape: [1], data: new Float32Array([0.1]) },
    };
    const bytes = serializeSafetensors(tensors, { format: "pt", note: "ok" });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);

    const { tensors: back, metadata } = parseSafetensors(bytes, "mem");
    expect(metadata).toEqual({ format: "pt", note: "ok" });
    expect([...back.keys()].sort()).toEqual(Object.keys(tensors).sort());
    expect(back.get("w.weight")).toEqual({
      dtype: "F32",
      shape: [2, 3],
      data: new Float32Array([1, -2.5, 3e-8, Infinity, -0, 7]),
    });
    expect(back.get("ids")).toEqual({ dtype: "I64", shape: [3], data: new Int32Array([-1, 0, 2147483647]) });
    expect(back.get("big")?.data).toEqual(new Int32Array([-2147483648, 5]));
    expect(back.get("n")).toEqual({ dtype: "I32", shape: [], data: new Int32Array([42]) });
    expect(back.get("empty")?.shape).toEqual([0, 4]);
    expect(back.get("ünï.☃")?.data[0]).toBeCloseTo(0.1, 7);

    const path = join(dir, "rt.safetensors");
    await writeSafetensors(path, tensors, { format: "pt", note: "ok" });
    expect(new Uint8Array(await readFile(path))).toEqual(bytes);
    const read = await readSafetensors(path);
    expect(read.tensors).toEqual(back);
    expect(read.metadata).toEqual(metadata);
  });

  it("sorts tensor names by code point, metadata first in the given key order, header padded with spaces", () => {
    const one = (): SafetensorsInput => ({ dtype: "F32", shape: [1], data: new Float32Array([1]) });
    const bytes = serializeSafetensors(
      { b: one(), a: one(), B: one(), "10": one(), "9": one(), é: one() },
      { format: "pt", case: "x" },
    );
    const length = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + length));
    expect(header.trimEnd()).toBe(
      '{"__metadata__":{"format":"pt","case":"x"},"10":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
        '"9":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"B":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},' +
        '"a":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},"b":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},' +
        '"é":{"dtype":"F32","shape":[1],"data_offsets":[20,24]}}',
    );
    expect(/^[^ ]* {0,7}$/.test(header)).toBe(true);
  });

  it("rejects data that does not match the shape or dtype", () => {
    expect(() => serializeSafetensors({ x: { dtype: "F32", shape: [2, 2], data: new Float32Array(3) } })).toThrow(
      /tensor "x" has shape \[2,2\] but 3 values/,
    );
    expect(() => serializeSafetensors({ x: { dtype: "F32", shape: [1], data: new Int32Array(1) } })).toThrow(
      /is F32 but its data is a Int32Array/,
    );
  });
});

describe("dtype decoding (hand-computed values)", () => {
  it("F16: normal, negative, subnormal, max, inf, NaN, signed zero", () => {
    expect(float16ToNumber(0x3c00)).toBe(1);
    expect(float16ToNumber(0xc000)).toBe(-2);
    expect(float16ToNumber(0x3555)).toBe(0.333251953125); // 1+341/1024 times 2^-2
    expect(float16ToNumber(0x0001)).toBe(2 ** -24); // smallest subnormal 5.96e-8
    expect(float16ToNumber(0x03ff)).toBe(1023 * 2 ** -24); // largest subnormal
    expect(float16ToNumber(0x7bff)).toBe(65504);
    expect(float16ToNumber(0x7c00)).toBe(Infinity);
    expect(float16ToNumber(0xfc00)).toBe(-Infinity);
    expect(float16ToNumber(0x7e00)).toBeNaN();
    expect(Object.is(float16ToNumber(0x8000), -0)).toBe(true);

    const file = makeFile(
      { h: { dtype: "F16", shape: [2, 2], data_offsets: [0, 8] } },
      u16le([0x3c00, 0xc000, 0x0001, 0x7c00]),
    );
    const t = parseSafetensors(file, "mem").tensors.get("h");
    expect(t?.data).toBeInstanceOf(Float32Array);
    expect([...(t?.data ?? [])]).toEqual([1, -2, Math.fround(2 ** -24), Infinity]);
  });

  it("BF16: upper half of float32", () => {
    const file = makeFile(
      { b: { dtype: "BF16", shape: [5], data_offsets: [0, 10] } },
      u16le([0x3f80, 0xc040, 0x4049, 0xff80, 0x0001]),
    );
    const t = parseSafetensors(file, "mem").tensors.get("b");
    expect([...(t?.data ?? [])]).toEqual([1, -3, 3.140625, -Infinity, Math.fround(2 ** -133)]);
  });

  it("F64, I8, I16, U8, BOOL, I64 -> float32 / int32", () => {
    const data = new Uint8Array(8 + 2 + 4 + 2 + 3 + 16);
    const v = new DataView(data.buffer);
    v.setFloat64(0, 0.1, true); // F64 [0,8)
    v.setInt8(8, -5); // I8 [8,10)
    v.setInt8(9, 127);
    v.setInt16(10, -300, true); // I16 [10,14)
    v.setInt16(12, 32767, true);
    data.set([0, 255], 14); // U8 [14,16)
    data.set([0, 1, 2], 16); // BOOL [16,19)
    v.setBigInt64(19, -7n, true); // I64 [19,35), unaligned
    v.setBigInt64(27, 2147483647n, true);
    const file = makeFile(
      {
        f: { dtype: "F64", shape: [1], data_offsets: [0, 8] },
        i8: { dtype: "I8", shape: [2], data_offsets: [8, 10] },
        i16: { dtype: "I16", shape: [2], data_offsets: [10, 14] },
        u8: { dtype: "U8", shape: [2], data_offsets: [14, 16] },
        bool: { dtype: "BOOL", shape: [3], data_offsets: [16, 19] },
        i64: { dtype: "I64", shape: [2], data_offsets: [19, 35] },
      },
      data,
    );
    const t = parseSafetensors(file, "mem").tensors;
    expect(t.get("f")?.data).toEqual(new Float32Array([0.1]));
    expect(t.get("i8")?.data).toEqual(new Int32Array([-5, 127]));
    expect(t.get("i16")?.data).toEqual(new Int32Array([-300, 32767]));
    expect(t.get("u8")?.data).toEqual(new Int32Array([0, 255]));
    expect(t.get("bool")?.data).toEqual(new Int32Array([0, 1, 1]));
    expect(t.get("i64")?.data).toEqual(new Int32Array([-7, 2147483647]));
  });

  it("F32 at an unaligned offset (odd header length, 1-byte tensor before it)", () => {
    const data = new Uint8Array(1 + 8);
    new DataView(data.buffer).setFloat32(1, 1.5, true);
    new DataView(data.buffer).setFloat32(5, -0.25, true);
    const file = makeFile(
      '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}}',
      data,
    );
    expect(parseSafetensors(file, "mem").tensors.get("w")?.data).toEqual(new Float32Array([1.5, -0.25]));
  });

  it("I64 outside int32: error names the tensor and the value", () => {
    const data = new Uint8Array(8);
    new DataView(data.buffer).setBigInt64(0, 3000000000n, true);
    const message = parseError(makeFile({ "labels.big": { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, data));
    expect(message).toMatch(
      /tensor "labels.big" in \/m\/model.safetensors holds I64 value 3000000000 at element 0, outside int32/,
    );
  });
});

describe("corrupt files give one-line errors naming file and tensor", () => {
  const good = serializeSafetensors({ x: { dtype: "F32", shape: [4, 4], data: new Float32Array(16) } });

  it("file shorter than 8 bytes", () => {
    expect(parseError(new Uint8Array(5))).toMatch(/\/m\/model.safetensors is 5 bytes, too short .*re-download it$/);
  });
  it("truncated data area", () => {
    expect(parseError(good.subarray(0, good.length - 10))).toMatch(
      /tensor "x" in \/m\/model.safetensors has data_offsets \[0, 64\] outside the 54-byte data area; the file is corrupt or truncated — re-download it/,
    );
  });
  it("header length larger than the file / than 100 MB / below 2", () => {
    expect(parseError(makeFile({}, new Uint8Array(0), 1000n))).toMatch(
      /declares a 1000-byte header but the file is 10 bytes/,
    );
    expect(parseError(makeFile({}, new Uint8Array(0), 2n ** 40n))).toMatch(/declares a 1099511627776-byte header/);
    expect(parseError(makeFile({}, new Uint8Array(0), 1n))).toMatch(/declares a 1-byte header/);
  });
  it("header not JSON / not an object / bad metadata", () => {
    expect(parseError(makeFile("{not json}"))).toMatch(/header of \/m\/model.safetensors is not valid UTF-8 JSON/);
    expect(parseError(makeFile("[1,2]"))).toMatch(/is not a JSON object/);
    expect(parseError(makeFile({ __metadata__: { a: 1 } }))).toMatch(/"__metadata__.a" in .* is not a string/);
  });
  it("offsets out of bounds, begin > end, malformed offsets", () => {
    expect(parseError(makeFile({ x: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, new Uint8Array(4)))).toMatch(
      /tensor "x" .* has data_offsets \[4, 8\] outside the 4-byte data area/,
    );
    expect(parseError(makeFile({ x: { dtype: "F32", shape: [0], data_offsets: [4, 0] } }, new Uint8Array(4)))).toMatch(
      /\[4, 0\] outside/,
    );
    expect(parseError(makeFile({ x: { dtype: "F32", shape: [1], data_offsets: [0] } }, new Uint8Array(4)))).toMatch(
      /tensor "x" .* has data_offsets \[0\], not \[begin, end\]/,
    );
  });
  it("overlapping tensors", () => {
    const header = {
      a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
      b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
    };
    expect(parseError(makeFile(header, new Uint8Array(12)))).toMatch(
      /tensors "a" \[0, 8\] and "b" \[4, 12\] overlap in \/m\/model.safetensors/,
    );
  });
  it("unknown dtype", () => {
    expect(
      parseError(makeFile({ "q.weight": { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1))),
    ).toMatch(
      /tensor "q.weight" in \/m\/model.safetensors has dtype "F8_E4M3", which tfew cannot read \(known: F64, F32, .*BOOL\); convert/,
    );
  });
  it("a dtype named like an Object property is still unknown", () => {
    expect(parseError(makeFile({ x: { dtype: "constructor", shape: [], data_offsets: [0, 0] } }))).toMatch(
      /has dtype "constructor", which tfew cannot read/,
    );
  });
  it("bad shape", () => {
    expect(parseError(makeFile({ x: { dtype: "F32", shape: [-1], data_offsets: [0, 0] } }))).toMatch(
      /has shape \[-1\], not an array of non-negative integers/,
    );
    expect(parseError(makeFile({ x: { dtype: "F32", shape: [1.5], data_offsets: [0, 0] } }))).toMatch(
      /has shape \[1.5\]/,
    );
  });
  it("byte count does not match shape × dtype size", () => {
    expect(
      parseError(
        makeFile({ "x.weight": { dtype: "F32", shape: [4, 4], data_offsets: [0, 100] } }, new Uint8Array(100)),
      ),
    ).toBe(
      'safetensors: tensor "x.weight" in /m/model.safetensors has data_offsets [0, 100] but shape [4,4] F32 needs 64 bytes; ' +
        "the file is corrupt or truncated — re-download it",
    );
  });
  it("readSafetensors: missing file, a folder, truncated file on disk", async () => {
    await expect(readSafetensors(join(dir, "missing.safetensors"))).rejects.toThrow(
      /safetensors: file .*missing.safetensors not found; check the path/,
    );
    await expect(readSafetensors(dir)).rejects.toThrow(/is not a file; point at the .safetensors file itself/);
    const path = join(dir, "cut.safetensors");
    await writeFile(path, good.subarray(0, good.length - 1));
    await expect(readSafetensors(path)).rejects.toThrow(
      /tensor "x" in .*cut.safetensors has data_offsets \[0, 64\] outside the 63-byte data area/,
    );
  });
});

describe("real HF-written files (tests/fixtures/hf-reference)", () => {
  it("model.safetensors: 52 F32 tensors, shared.weight [32128, 32]; streamed read equals in-memory parse", async () => {
    const { tensors, metadata } = await readSafetensors(MODEL_FILE);
    expect(metadata).toEqual({ format: "pt" });
    expect(tensors.size).toBe(52);
    const shared = tensors.get("shared.weight");
    expect(shared?.shape).toEqual([32128, 32]);
    expect(shared?.dtype).toBe("F32");
    expect(shared?.data.length).toBe(32128 * 32);
    expect(tensors.get("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight")?.shape).toEqual([32, 4]);
    expect(tensors.has("encoder.embed_tokens.weight")).toBe(false); // tied alias, not stored
    const parsed = parseSafetensors(new Uint8Array(await readFile(MODEL_FILE)), MODEL_FILE);
    expect([...parsed.tensors.keys()]).toEqual([...tensors.keys()]);
    for (const [name, t] of parsed.tensors) {
      expect(tensors.get(name)?.shape).toEqual(t.shape);
      expect(sameBytes(tensors.get(name)?.data, t.data), name).toBe(true);
    }
  });

  it("adapter_model.safetensors: 16 (IA)³ vectors, metadata format=pt, re-serialized byte-identical", async () => {
    const original = new Uint8Array(await readFile(ADAPTER_FILE));
    const { tensors, metadata } = parseSafetensors(original, ADAPTER_FILE);
    expect(metadata).toEqual({ format: "pt" });
    expect(tensors.size).toBe(16);
    expect(tensors.get("base_model.model.encoder.block.0.layer.0.SelfAttention.k.ia3_l")?.shape).toEqual([32, 1]);
    expect(tensors.get("base_model.model.decoder.block.1.layer.2.DenseReluDense.wo.ia3_l")?.shape).toEqual([1, 64]);

    const rewritten = serializeSafetensors(asInput(tensors), { format: "pt" });
    expect(rewritten.length).toBe(original.length);
    expect(sameBytes(rewritten, original)).toBe(true);
  });

  it("model.safetensors (save_pretrained) and tfew.safetensors (I64 + F32, 2 metadata keys) re-serialize byte-identical", async () => {
    for (const name of ["model.safetensors", "tfew.safetensors"]) {
      const original = new Uint8Array(await readFile(join(GOLD_MODEL_DIR, name)));
      const { tensors, metadata } = parseSafetensors(original, name);
      expect(sameBytes(serializeSafetensors(asInput(tensors), metadata), original), name).toBe(true);
    }
  });
});

/** Records read back as writer input (I64 data is int32 after reading; the writer widens it again). */
function asInput(tensors: Map<string, TensorRecord>): Record<string, SafetensorsInput> {
  const input: Record<string, SafetensorsInput> = {};
  for (const [name, t] of tensors)
    input[name] = { dtype: t.dtype as SafetensorsInput["dtype"], shape: t.shape, data: t.data };
  return input;
}

function sameBytes(a: ArrayBufferView | undefined, b: ArrayBufferView | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return (
    Buffer.compare(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    ) === 0
  );
}
