// Folding an (IA)³ vector into its frozen linear weight, with PEFT's IA3 merge semantics (peft tuners/ia3/
// layer.py `merge`: weight × ia3_l, broadcast). HF Linear weights are [out, in]; an output-scaling vector
// ([out, 1]: k, v, mt5's wi_1) scales row i by lᵢ; an input-scaling one ([1, in]: feed-forward, t5's wo)
// scales column j by lⱼ, since W·(l ⊙ x) = (W·diag(l))·x.
import { TfewError } from "../errors.js";
import { toBfloat16Bits, toFloat16Bits } from "../io/half-float.js";
import type { SafetensorsInput } from "../io/safetensors.js";
import type { DType } from "../io/tensor-record.js";

/** The floating dtypes an export writes back as they were. */
export type FloatDType = "F32" | "F16" | "BF16";

export function isFloatDType(dtype: DType): dtype is FloatDType {
  return dtype === "F32" || dtype === "F16" || dtype === "BF16";
}

/** W ⊙ l in float64 (each product exact: two float32 factors), so the file's dtype is rounded to once. */
export function foldVector(
  weight: Float32Array,
  shape: readonly number[],
  vector: Float32Array,
  options: { scaleInput: boolean },
): Float64Array {
  const [rows, cols] = shape as [number, number];
  const expected = options.scaleInput ? cols : rows;
  if (shape.length !== 2 || vector.length !== expected || weight.length !== rows * cols) {
    throw new TfewError(
      `export: a vector of ${vector.length} values cannot scale the ${options.scaleInput ? "columns" : "rows"} of a [${shape.join(", ")}] weight; the adapter was made for another model`,
    );
  }
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const scale = options.scaleInput ? (vector[c] as number) : (vector[r] as number);
      out[r * cols + c] = (weight[r * cols + c] as number) * scale;
    }
  }
  return out;
}

/** A tensor for the safetensors writer in `dtype`, each value rounded to nearest even once. */
export function encodeTensor(dtype: FloatDType, shape: number[], values: ArrayLike<number>): SafetensorsInput {
  if (dtype === "F16") return { dtype, shape, data: toFloat16Bits(values) };
  if (dtype === "BF16") return { dtype, shape, data: toBfloat16Bits(values) };
  return { dtype, shape, data: values instanceof Float32Array ? values : Float32Array.from(values) };
}
