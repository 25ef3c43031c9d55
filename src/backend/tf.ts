// The one TensorFlow.js import of tfew: tfjs-core and its pure-JS cpu backend (wasm, tensorflow and webgpu are
// added in ./select.ts), plus tfjs-core's own gradient and chained-op registrations, which its Node entry leaves
// out: scripts/build-tfjs-registrations.js bundles them into dist/ (npm run build does it). Not @tensorflow/tfjs:
// its layers, converter, data and webgl parts are unused here and made this import ~125 ms slower on Node 20
// and ~60 ms on Node 24 (README, Dependencies).
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// the types of the chained ops (`x.mul(y)`); their code is in the bundle below
import type {} from "@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js";
import "../../dist/tfjs-registrations.js"; // from src/backend/ and dist/backend/ alike

export { tf };
export type Tensor = tf.Tensor;
