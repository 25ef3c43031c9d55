// Loads a T5 from a local Hugging Face folder: config.json + weights (safetensors, sharded, or a
// safely-read pytorch_model.bin), every key and shape asserted, into frozen tensors; the model carries the
// backend's attention kernel (nothing process-wide is set).
import { readCheckpointDir } from "../io/checkpoint-dir.js";
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

export async function loadT5(modelDir: string, options: LoadModelOptions): Promise<LoadedModel> {
  const config = await readT5Config(modelDir);
  const { tensors, files } = await readCheckpointDir(modelDir);
  const weights = buildWeights(config, tensors, {
    keepUntransposed: options.keepUntransposed,
    source: modelDir,
    release: true, // one host copy at a time (weights.ts)
  });
  return {
    config,
    weights,
    dir: modelDir,
    files,
    ...(options.attention !== undefined ? { attention: { impl: options.attention } } : {}),
  };
}
