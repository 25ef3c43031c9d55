// One incremental decoder step (transformers' T5 with past_key_values): the new token of every row attends to the
// cached self-attention keys/values of its earlier positions and to the cross-attention K/V that crossKeyValues
// computed once per input. Same sub-layers, (IA)³ scales and routing as decode() in t5.ts, one position at a time.
import { tf } from "../backend/tf.js";
import { attention } from "./attention.js";
import { innerDim } from "./config.js";
import { feedForward, linear, rmsNorm } from "./layers.js";
import { relativePositionBucket } from "./position-bias.js";
import { blockScales, type Ia3Input } from "./routing-hook.js";
import type { CrossKv, T5Model } from "./t5.js";

/** Self-attention keys and values of one decoder layer for positions 0..t−1: [rows, t, heads·dKv] each. */
export interface LayerCache {
  k: tf.Tensor3D;
  v: tf.Tensor3D;
}

export interface StepInputs {
  crossKv: CrossKv[]; // per decoder layer, [batch, srcLen, inner]
  keyMask: tf.Tensor2D; // [batch, srcLen] additive (additiveMask of the encoder mask)
  tokens: tf.Tensor1D; // [rows] int32: the token at `position` of every row; rows = batch · group, example-major
  position: number; // decoder position of `tokens` (0: the decoder start token)
  cache: LayerCache[] | null; // per layer, positions 0..position−1; null at position 0
}

export interface StepOutput {
  logits: tf.Tensor2D; // [rows, vocab] next-token logits
  cache: LayerCache[]; // per layer, positions 0..position
}

/**
 * Decoder position bias for query `position` against keys 0..position (unidirectional buckets, as decode()'s
 * causal bias row `position`): [heads, 1, position + 1].
 */
export function stepPositionBias(model: T5Model, position: number): tf.Tensor3D | null {
  const table = model.weights.decoder.blocks[0]?.selfAttention.relativeBias;
  if (!table) return null;
  const options = {
    bidirectional: false,
    numBuckets: model.config.relativeAttentionNumBuckets,
    maxDistance: model.config.relativeAttentionMaxDistance,
  };
  const buckets = new Int32Array(position + 1);
  for (let key = 0; key <= position; key++) buckets[key] = relativePositionBucket(key - position, options);
  return tf.tidy(() => {
    const values = tf.gather(table, tf.tensor1d(buckets, "int32")); // [keys, heads]
    return tf.expandDims(tf.transpose(values), 1) as tf.Tensor3D; // [heads, 1, keys]
  });
}

/** One step: logits of the next token for every row, and the cache grown by one position (inputs untouched). */
export function decoderStep(model: T5Model, inputs: StepInputs, ia3?: Ia3Input): StepOutput {
  const { config, weights } = model;
  const rows = inputs.tokens.shape[0];
  const batch = inputs.keyMask.shape[0];
  const group = rows / batch; // rows per example (beams, samples)
  const inner = innerDim(config);
  const eps = config.layerNormEpsilon;
  const bias = stepPositionBias(model, inputs.position);
  const cache: LayerCache[] = [];
  let x = tf.gather(weights.shared, inputs.tokens) as tf.Tensor2D; // [rows, d]
  weights.decoder.blocks.forEach((block, layer) => {
    const kv = inputs.crossKv[layer] as CrossKv;
    const scales =
      kv.scales ??
      blockScales(ia3, { stack: "decoder", layer }, () => {
        throw new Error("decoderStep: a router's decoder scales come from crossKeyValues (pass its CrossKv)");
      });
    const att = block.selfAttention;
    const h = rmsNorm(x, block.selfAttentionNorm, eps) as tf.Tensor2D;
    const one = (t: tf.Tensor2D) => tf.reshape(t, [rows, 1, inner]) as tf.Tensor3D; // [rows, 1, inner]
    const past = inputs.cache?.[layer];
    const kNew = one(linear(h, att.k, scales));
    const vNew = one(linear(h, att.v, scales));
    const k = past ? (tf.concat([past.k, kNew], 1) as tf.Tensor3D) : kNew; // [rows, t+1, inner]
    const v = past ? (tf.concat([past.v, vNew], 1) as tf.Tensor3D) : vNew;
    cache.push({ k, v });
    const selfContext = attention(
      { q: one(linear(h, att.q, scales)), k, v, bias, keyMask: null, numHeads: config.numHeads },
      model.attention,
    ); // [rows, 1, inner]
    x = tf.add(x, linear(tf.reshape(selfContext, [rows, inner]) as tf.Tensor2D, att.o, scales)) as tf.Tensor2D;
    const cross = block.crossAttention;
    const hc = rmsNorm(x, block.crossAttentionNorm, eps) as tf.Tensor2D;
    // the rows of one example attend to its encoder states together: queries [batch, group, inner]
    const crossContext = attention(
      {
        q: tf.reshape(linear(hc, cross.q, scales), [batch, group, inner]) as tf.Tensor3D,
        k: kv.k,
        v: kv.v,
        bias: null,
        keyMask: inputs.keyMask,
        numHeads: config.numHeads,
      },
      model.attention,
    );
    x = tf.add(x, linear(tf.reshape(crossContext, [rows, inner]) as tf.Tensor2D, cross.o, scales)) as tf.Tensor2D;
    x = tf.add(x, feedForward(rmsNorm(x, block.ffnNorm, eps) as tf.Tensor2D, block.ffn, config, scales)) as tf.Tensor2D;
  });
  x = rmsNorm(x, weights.decoder.finalNorm, eps) as tf.Tensor2D;
  if (config.tieWordEmbeddings) x = tf.mul(x, config.dModel ** -0.5) as tf.Tensor2D;
  return { logits: linear(x, weights.lmHead, undefined), cache };
}
