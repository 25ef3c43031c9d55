// A full V8 garbage collection on demand. Loading weights reads each tensor into a JS buffer that the backend
// copies; those buffers are freed only when V8 collects them, and V8 does not count a TensorFlow or wasm
// allocation as pressure, so without a collection a T0-3B load can hold the file's 11 GB twice. --expose-gc is
// set at run time (the flag is read when gc() is first looked up in a fresh context).
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | null | undefined;

export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      gc = runInNewContext("gc") as () => void;
    } catch {
      gc = null; // not available: V8 collects on its own schedule
    }
  }
  gc?.();
}
