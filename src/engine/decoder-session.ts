// Incremental decoding of one batch of inputs: the encoder and every decoder layer's cross-attention K/V run once
// (as in rank classification); each step feeds one token per row through decoderStep and keeps the grown
// self-attention cache. Rows are `group` per input (beams or samples), example-major, right-padded inputs masked.
import { adapterInput, type AdapterVectors } from "../adapters/trainable.js";
import { readPacked } from "../backend/reads.js";
import { tf } from "../backend/tf.js";
import { decoderStep, type LayerCache } from "../model/decode-step.js";
import { additiveMask, type CrossKv, type T5Model } from "../model/t5.js";
import { padInputs } from "./batch.js";
import { encodeInputs } from "./pipeline.js";

export interface DecoderSession {
  readonly batch: number; // inputs
  readonly group: number; // rows per input
  readonly rows: number; // batch · group
  readonly vocab: number; // width of the logits (the LM head's outputs)
  readonly position: number; // decoder position of the next step's tokens
  /**
   * Feeds `tokens` [rows] at the current position; `head` turns the next-token logits [rows, vocab] into the
   * tensors to read (inside the step's tidy); returns their values in one read.
   */
  step(tokens: Int32Array, head: (logits: tf.Tensor2D) => tf.Tensor[]): Promise<Float32Array[]>;
  /** New row i continues old row from[i] (beam search): the cache rows are gathered. */
  reorder(from: Int32Array): void;
  dispose(): void;
}

/** Encodes `prompts` (each ending in </s>) once; the session then decodes `group` rows per prompt. */
export function openSession(
  model: T5Model,
  adapter: AdapterVectors | null,
  prompts: readonly number[][],
  group: number,
): DecoderSession {
  const batch = prompts.length;
  const rows = batch * group;
  const kept: tf.Tensor[] = [];
  let crossKv: CrossKv[] = [];
  let keyMask: tf.Tensor2D | null = null;
  tf.tidy(() => {
    const ia3 = adapter === null ? undefined : adapterInput(adapter);
    const encoded = encodeInputs(model, { ...padInputs(prompts, model.config.padTokenId), size: batch }, ia3);
    crossKv = encoded.crossKv;
    keyMask = additiveMask(encoded.mask);
    for (const kv of crossKv) {
      kept.push(tf.keep(kv.k), tf.keep(kv.v));
      for (const s of kv.scales?.values() ?? []) kept.push(tf.keep(s.vector));
    }
    kept.push(tf.keep(keyMask));
  });
  let cache: LayerCache[] | null = null;
  let position = 0;
  const disposeCache = () => cache?.forEach((c) => tf.dispose([c.k, c.v]));
  return {
    batch,
    group,
    rows,
    vocab: model.weights.lmHead.outFeatures,
    get position() {
      return position;
    },
    async step(tokens, head) {
      if (tokens.length !== rows) throw new Error(`DecoderSession.step: ${tokens.length} tokens for ${rows} rows`);
      let next: LayerCache[] = [];
      const outs = tf.tidy(() => {
        const ia3 = adapter === null ? undefined : adapterInput(adapter);
        const r = decoderStep(
          model,
          { crossKv, keyMask: keyMask as tf.Tensor2D, tokens: tf.tensor1d(tokens, "int32"), position, cache },
          ia3,
        );
        next = r.cache.map((c) => ({ k: tf.keep(c.k), v: tf.keep(c.v) }));
        return head(r.logits);
      });
      disposeCache();
      cache = next;
      position++;
      try {
        return await readPacked(outs);
      } finally {
        tf.dispose(outs);
      }
    },
    reorder(from) {
      if (cache === null || from.every((r, i) => r === i)) return;
      const old = cache;
      cache = tf.tidy(() => {
        const index = tf.tensor1d(from, "int32");
        return old.map((c) => ({ k: tf.gather(c.k, index) as tf.Tensor3D, v: tf.gather(c.v, index) as tf.Tensor3D }));
      });
      old.forEach((c) => tf.dispose([c.k, c.v]));
    },
    dispose() {
      disposeCache();
      cache = null;
      tf.dispose(kept);
    },
  };
}
