// Loads a T5 from a local Hugging Face folder: config.json + weights (safetensors, sharded, or a
// safely-read pytorch_model.bin), every key and shape asserted, into frozen tensors; the model carries the
// backend's attention kernel (nothing process-wide is set).
import { collectGarbage } from "../backend/collect-garbage.js";
import { tf } from "../backend/tf.js";
import { readCheckpointDir } from "../io/checkpoint-dir.js";
import type { TensorRecord } from "../io/tensor-record.js";
import type { AttentionImpl } from "./attention.js";
import { readT5Config } from "./config.js";
import type { T5Model } from "./t5.js";
import { buildWeights } from "./weights.js";

export interface LoadModelOptions {
  /** keep W and Wᵀ (fast backward on wasm/cpu); false halves weight memory on native/GPU backends */
  keepUntransposed: boolean;
  /** the backend's attention kernel (BackendChoice.attention), kept on the model; absent: the reference path */
  attention?: AttentionImpl;
}

export interface LoadedModel extends T5Model {
  dir: string;
  files: string[]; // weight files read (for the run manifest)
}

/** Bytes of weights read between two garbage collections while loading. */
const GC_EVERY_BYTES = 512 * 1024 ** 2;

export async function loadT5(modelDir: string, options: LoadModelOptions): Promise<LoadedModel> {
  const config = await readT5Config(modelDir);
  // each float32 tensor goes to the backend as it is read and its host bytes are dropped: the peak is about one
  // copy of the weights (T0-3B: 11 GB), not the file's plus the backend's. shared.weight stays on the host: a
  // tied head reads it twice.
  const uploaded = new Map<string, tf.Tensor>();
  let sinceCollected = 0;
  const onTensor = (name: string, record: TensorRecord): TensorRecord => {
    if (name === "shared.weight" || !(record.data instanceof Float32Array)) return record; // floats only
    const t = tf.tensor(record.data, record.shape, "float32");
    // tfjs-node keeps the JS array until a tensor's first use: one exact op (x + 0) makes TensorFlow copy it now
    if (tf.getBackend() === "tensorflow") {
      uploaded.set(
        name,
        tf.tidy(() => tf.add(t, 0)),
      );
      t.dispose();
    } else uploaded.set(name, t);
    sinceCollected += record.data.byteLength;
    if (sinceCollected > GC_EVERY_BYTES) {
      collectGarbage(); // the read buffers of the tensors uploaded so far (collect-garbage.ts)
      sinceCollected = 0;
    }
    return { ...record, data: new Float32Array(0) };
  };
  let weights;
  let files: string[];
  try {
    const contents = await readCheckpointDir(modelDir, { onTensor });
    files = contents.files;
    weights = buildWeights(config, contents.tensors, {
      keepUntransposed: options.keepUntransposed,
      source: modelDir,
      release: true, // one host copy at a time (weights.ts)
      uploaded,
    });
  } catch (error) {
    tf.dispose([...uploaded.values()]); // a bad file: nothing of it stays on the backend
    throw error;
  }
  tf.dispose([...uploaded.values()]); // names the model does not use (ignorable extras)
  return {
    config,
    weights,
    dir: modelDir,
    files,
    ...(options.attention !== undefined ? { attention: { impl: options.attention } } : {}),
  };
}
