// Device reads: the one way tfew brings tensor values back to the host. Always asynchronous (webgpu in Node
// cannot read synchronously: its readSync goes through OffscreenCanvas), packed (several tensors come back in
// one transfer) and counted, so a training step's reads can be reported and bounded.
import { tf } from "./tf.js";

let reads = 0;

/** How many device reads this thread has made so far (readPacked / readFloats calls). */
export function deviceReads(): number {
  return reads;
}

/** The values of one tensor (float32 copy), in one read. */
export async function readFloats(t: tf.Tensor): Promise<Float32Array> {
  reads++;
  const data = await t.data();
  return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
}

/**
 * The values of several tensors in ONE read: flattened and concatenated on the device, split on the host.
 * The tensors stay alive (the caller owns them); an empty list reads nothing.
 */
export async function readPacked(tensors: readonly tf.Tensor[]): Promise<Float32Array[]> {
  if (tensors.length === 0) return [];
  const packed = tf.tidy(() => tf.concat(tensors.map((t) => tf.reshape(tf.cast(t, "float32"), [-1])))); // [Σ sizes]
  try {
    const data = await readFloats(packed);
    const out: Float32Array[] = [];
    let offset = 0;
    for (const t of tensors) {
      out.push(data.slice(offset, offset + t.size));
      offset += t.size;
    }
    return out;
  } finally {
    packed.dispose();
  }
}

const SYNC_METHODS = ["dataSync", "arraySync", "bufferSync"] as const;

/**
 * Makes every synchronous read (Tensor.dataSync / arraySync / bufferSync) throw, as it does on webgpu in
 * Node: the backend suites turn it on (TFEW_STRICT_READS=1) so a sync read on any backend fails a test.
 * Returns a function that takes it back.
 */
export function forbidSyncReads(): () => void {
  const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
  const saved = SYNC_METHODS.map((name) => [name, proto[name]] as const);
  for (const name of SYNC_METHODS) {
    proto[name] = function forbidden(this: tf.Tensor): never {
      throw new Error(
        `synchronous read (${name}) of a ${this.shape.join("x") || "scalar"} tensor on ${tf.getBackend()}; ` +
          "use backend/reads.ts (TFEW_STRICT_READS=1 forbids sync reads)",
      );
    };
  }
  return () => {
    for (const [name, method] of saved) proto[name] = method;
  };
}

/** Turns forbidSyncReads on when TFEW_STRICT_READS=1 (read once per thread, at backend selection). */
export function applyReadPolicy(env: NodeJS.ProcessEnv = process.env): void {
  if (env.TFEW_STRICT_READS === "1" && !strict) {
    strict = true;
    forbidSyncReads();
  }
}
let strict = false;

/**
 * Whether a training step should keep its micro-batch sums on the device and read once per step (GPU and
 * native backends, where a read is a synchronisation) rather than read each micro-batch (wasm / cpu, where
 * reads are memory copies and float64 host sums make N workers give the bytes of one).
 */
export function accumulatesOnDevice(): boolean {
  const name = tf.getBackend();
  return name !== "wasm" && name !== "cpu";
}
