// A typed wrapper of tf.customGrad: f receives its tensor inputs as an array plus the save function, so
// hand-written gradients (fast linear, per-head attention, fused NLL) type-check under strict mode.
import { tf } from "../backend/tf.js";

export interface CustomResult {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
}

export function customOp(
  f: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => CustomResult,
): (...inputs: tf.Tensor[]) => tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    return f(args.slice(0, -1) as tf.Tensor[], save);
  });
  return (...inputs: tf.Tensor[]) => op(...inputs);
}
