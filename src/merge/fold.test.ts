// Folding by hand: an output-scaling vector scales the rows of W [out, in], an input-scaling one the columns;
// each dtype rounded once.
import { describe, expect, it } from "vitest";
import { TfewError } from "../errors.js";
import { encodeTensor, foldVector } from "./fold.js";

// W = [[1, 2, 3],
//      [4, 5, 6]]   (out = 2, in = 3)
const W = Float32Array.of(1, 2, 3, 4, 5, 6);

describe("foldVector", () => {
  it("output scaling ([out, 1], e.g. k, v, wi_1): row i × lᵢ", () => {
    expect(Array.from(foldVector(W, [2, 3], Float32Array.of(10, 100), { scaleInput: false }))).toEqual([
      10, 20, 30, 400, 500, 600,
    ]);
  });

  it("input scaling ([1, in], feed-forward wo): column j × lⱼ", () => {
    expect(Array.from(foldVector(W, [2, 3], Float32Array.of(1, 10, 100), { scaleInput: true }))).toEqual([
      1, 20, 300, 4, 50, 600,
    ]);
  });

  it("products are exact in float64 before the one rounding", () => {
    const w = Math.fround(1 + 2 ** -23);
    const l = Math.fround(1 + 2 ** -22);
    const [p] = foldVector(Float32Array.of(w), [1, 1], Float32Array.of(l), { scaleInput: false });
    expect(p).toBe(1 + 2 ** -23 + 2 ** -22 + 2 ** -45);
  });

  it("a vector of the wrong length is a one-line TfewError", () => {
    expect(() => foldVector(W, [2, 3], Float32Array.of(1, 2, 3), { scaleInput: false })).toThrow(TfewError);
    expect(() => foldVector(W, [2, 3], Float32Array.of(1, 2), { scaleInput: true })).toThrow(
      "export: a vector of 2 values cannot scale the columns of a [2, 3] weight; the adapter was made for another model",
    );
  });
});

describe("encodeTensor", () => {
  it("F32 rounds to nearest even; F16 and BF16 give the raw bits", () => {
    const x = [1 + 2 ** -24, 1 + 3 * 2 ** -24, 0.1];
    expect(encodeTensor("F32", [3], x).data).toEqual(Float32Array.of(1, 1 + 2 ** -22, 0.1));
    expect(encodeTensor("F16", [3], x).data).toEqual(Uint16Array.of(0x3c00, 0x3c00, 0x2e66));
    expect(encodeTensor("BF16", [3], x).data).toEqual(Uint16Array.of(0x3f80, 0x3f80, 0x3dcd));
  });
});
