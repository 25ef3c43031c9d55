// Hand-computed float16 / bfloat16 roundings: ties to even, one rounding step (no float32 detour), overflow,
// subnormals, signed zero, NaN; and F16 / BF16 tensors through the safetensors writer and reader.
import { describe, expect, it } from "vitest";
import { roundToBfloat16, roundToFloat16, toBfloat16Bits, toFloat16Bits } from "./half-float.js";
import { parseSafetensors, serializeSafetensors } from "./safetensors.js";

const hex = (bits: Uint16Array) => Array.from(bits, (b) => `0x${b.toString(16).padStart(4, "0")}`);

describe("float16", () => {
  it.each([
    [1, 0x3c00],
    [1 + 2 ** -11, 0x3c00], // halfway between 1 and 1+2^-10: ties to the even mantissa (1)
    [1 + 3 * 2 ** -11, 0x3c02], // halfway between 1+2^-10 and 1+2^-9: even is 1+2^-9
    [1 + 2 ** -11 + 2 ** -30, 0x3c01], // just above halfway; through float32 it would become a tie and round down
    [65504, 0x7bff], // largest finite
    [65519.99, 0x7bff],
    [65520, 0x7c00], // halfway to 65536: ties to even → overflow → +Inf
    [-65520, 0xfc00],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // halfway between 0 and 2^-24: even is 0
    [0.75 * 2 ** -24, 0x0001],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -14 - 2 ** -24, 0x03ff], // largest subnormal
    [-2, 0xc000],
    [0.1, 0x2e66],
    [1 / 3, 0x3555],
    [-0, 0x8000],
    [Infinity, 0x7c00],
    [NaN, 0x7e00],
  ])("%d → bits %i", (x, bits) => {
    expect(hex(toFloat16Bits([x]))).toEqual(hex(Uint16Array.of(bits)));
  });

  it("roundToFloat16 returns the grid value", () => {
    expect(roundToFloat16(0.1)).toBe(0.0999755859375); // 0x2e66 = 1638/16384
    expect(roundToFloat16(1e6)).toBe(Infinity);
    expect(roundToFloat16(-1e-9)).toBe(-0);
  });
});

describe("bfloat16", () => {
  it.each([
    [1, 0x3f80],
    [1 + 2 ** -8, 0x3f80], // halfway: ties to even
    [1 + 3 * 2 ** -8, 0x3f82],
    [1 + 2 ** -8 + 2 ** -40, 0x3f81], // above halfway by less than a float32 ulp: no double rounding
    [0.1, 0x3dcd],
    [-1.5, 0xbfc0],
    [(2 - 2 ** -7) * 2 ** 127, 0x7f7f], // largest finite
    [(2 - 2 ** -8) * 2 ** 127, 0x7f80], // halfway to 2^128: ties to even → +Inf
    [2 ** -133, 0x0001], // smallest subnormal
    [-0, 0x8000],
    [NaN, 0x7fc0],
  ])("%d → bits %i", (x, bits) => {
    expect(hex(toBfloat16Bits([x]))).toEqual(hex(Uint16Array.of(bits)));
  });

  it("roundToBfloat16 returns the grid value", () => {
    expect(roundToBfloat16(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6);
  });
});

describe("F16 / BF16 tensors in safetensors", () => {
  it("write the bits, read back the values", () => {
    const values = [1, -2, 0.1, 65504, 2 ** -24];
    const bytes = serializeSafetensors({
      a: { dtype: "F16", shape: [5], data: toFloat16Bits(values) },
      b: { dtype: "BF16", shape: [1, 5], data: toBfloat16Bits(values) },
    });
    const { tensors } = parseSafetensors(bytes, "mem");
    expect(tensors.get("a")?.dtype).toBe("F16");
    expect(Array.from(tensors.get("a")?.data ?? [])).toEqual(values.map(roundToFloat16));
    expect(tensors.get("b")?.dtype).toBe("BF16");
    expect(tensors.get("b")?.shape).toEqual([1, 5]);
    expect(Array.from(tensors.get("b")?.data ?? [])).toEqual(values.map(roundToBfloat16));
  });

  it("rejects F16 data that is not raw 16-bit patterns", () => {
    expect(() => serializeSafetensors({ a: { dtype: "F16", shape: [1], data: Float32Array.of(1) } })).toThrow(
      /F16 but its data is a Float32Array/,
    );
  });
});
