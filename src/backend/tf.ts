// The one TensorFlow.js import of tfew. `@tensorflow/tfjs` (not tfjs-core alone) because its bundle
// registers every gradient function; backends (wasm, cpu, tensorflow, webgpu) are added in ./select.ts.
import * as tf from "@tensorflow/tfjs";

export { tf };
export type Tensor = tf.Tensor;
