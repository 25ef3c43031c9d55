// A zero-copy Identity for the wasm backend. tfjs saves every tensor a gradient needs through Identity
// (engine.clone), and tfjs-backend-wasm 4.22's Identity copies the data: about 1,100 copies per T-Few training
// micro-batch at the T5-small shape (13 % of its kernel time, bench:compare's profile). The cpu backend's
// Identity shares the data by reference count instead; so does this one (wasm tensors are never written in place:
// every kernel writes a fresh output, a variable's assign swaps its data id).
import { tf } from "./tf.js";

interface WasmRefCounts {
  incRef(dataId: object): void;
}

let installed = false;

export function installWasmIdentity(): void {
  if (installed) return;
  tf.unregisterKernel("Identity", "wasm");
  tf.registerKernel({
    kernelName: "Identity",
    backendName: "wasm",
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      (backend as unknown as WasmRefCounts).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
  installed = true;
}
