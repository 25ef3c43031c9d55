// The in-memory form of one tensor read from a checkpoint file (safetensors or a PyTorch .bin):
// floating dtypes are widened to float32, integer dtypes to int32 (values checked to fit).

export type DType = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

export interface TensorRecord {
  /** dtype as stored in the file */
  dtype: DType;
  /** row-major shape; [] for a scalar */
  shape: number[];
  /** F64/F32/F16/BF16 -> Float32Array; integer and BOOL dtypes -> Int32Array */
  data: Float32Array | Int32Array;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
