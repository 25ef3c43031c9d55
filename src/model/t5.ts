// T5 encoder-decoder forward pass (transformers modeling_t5.py, eval mode) as pure functions over frozen
// weights and optional (IA)³ scales. The decoder takes C answer choices per example; cross-attention
// keys/values are computed once per example and shared by its choices (no per-choice repetition).
import { tf } from "../backend/tf.js";
import { attention, usesPerHead, type AttentionOptions } from "./attention.js";
import { headBiases } from "./fast-attention.js";
import { innerDim, type T5Config } from "./config.js";
import { feedForward, linear, rmsNorm, type Ia3Scales } from "./layers.js";
import { blockScales, isRouter, maskedMean, type Ia3Input } from "./routing-hook.js";
import { MASK_VALUE, positionBias } from "./position-bias.js";
import type { T5Weights } from "./weights.js";

export interface T5Model {
  config: T5Config;
  weights: T5Weights;
  /** the attention kernel of this model's forward passes (loadT5: the backend's); absent: the reference path */
  attention?: AttentionOptions;
}

/** Cross-attention keys and values of one decoder layer: [batch, srcLen, heads·dKv] each. */
export interface CrossKv {
  k: tf.Tensor3D;
  v: tf.Tensor3D;
  scales?: Ia3Scales; // a router's scales of this decoder block (computed with K/V, reused by decode)
}

/** (1 − mask) · MASK_VALUE: [batch, len] additive key mask from a 0/1 attention mask. */
export function additiveMask(attentionMask: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(tf.sub(1, attentionMask), MASK_VALUE) as tf.Tensor2D;
}

/** Encoder: input ids [batch, srcLen] (int32) and 0/1 mask [batch, srcLen] → hidden [batch, srcLen, dModel]. */
export function encode(model: T5Model, inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, ia3?: Ia3Input): tf.Tensor3D {
  const { config, weights } = model;
  const [batch, srcLen] = inputIds.shape;
  const keyMask = additiveMask(attentionMask);
  const table = weights.encoder.blocks[0]?.selfAttention.relativeBias;
  const bias = table ? positionBias(table, srcLen, srcLen, { ...bucketOptions(config, true), causal: false }) : null; // [heads, src, src]
  const perHeadBias = usesPerHead(srcLen, srcLen, model.attention)
    ? headBiases(bias, keyMask, batch, config.numHeads)
    : null; // once for all layers
  let x = tf.reshape(tf.gather(weights.shared, tf.reshape(inputIds, [-1])), [
    batch * srcLen,
    config.dModel,
  ]) as tf.Tensor2D; // [batch·src, d]
  weights.encoder.blocks.forEach((block, layer) => {
    // a router reads the masked mean of the block's input: [batch·src, d] → [batch, d]
    const scales = blockScales(ia3, { stack: "encoder", layer }, () => maskedMean(x, attentionMask));
    x = encoderBlock(
      x,
      block,
      { batch, srcLen, bias, keyMask, perHeadBias, config, attention: model.attention },
      scales,
    );
  });
  x = rmsNorm(x, weights.encoder.finalNorm, config.layerNormEpsilon) as tf.Tensor2D;
  return tf.reshape(x, [batch, srcLen, config.dModel]) as tf.Tensor3D; // [batch, src, d]
}

/** What every encoder block shares: shapes, position bias and key mask (built once per stack). */
interface EncoderContext {
  batch: number;
  srcLen: number;
  bias: tf.Tensor3D | null; // [heads, src, src]
  keyMask: tf.Tensor2D; // [batch, src] additive
  perHeadBias: tf.Tensor2D[] | null;
  config: T5Config;
  attention: AttentionOptions | undefined;
}

/** One encoder block in its own tidy: only its output outlives it (and what a gradient tape keeps), so inference holds one layer's attention at a time. */
function encoderBlock(
  input: tf.Tensor2D,
  block: T5Weights["encoder"]["blocks"][number],
  c: EncoderContext,
  ia3: Ia3Scales | undefined,
): tf.Tensor2D {
  return tf.tidy(() => {
    let x = input;
    const { batch, srcLen, config } = c;
    const inner = innerDim(config);
    const eps = config.layerNormEpsilon;
    const h = rmsNorm(x, block.selfAttentionNorm, eps) as tf.Tensor2D;
    const att = block.selfAttention;
    const rows = (t: tf.Tensor2D) => tf.reshape(t, [batch, srcLen, inner]) as tf.Tensor3D; // [batch, src, inner]
    const context = attention(
      {
        q: rows(linear(h, att.q, ia3)),
        k: rows(linear(h, att.k, ia3)),
        v: rows(linear(h, att.v, ia3)),
        bias: c.bias,
        keyMask: c.keyMask,
        numHeads: config.numHeads,
        perHeadBias: c.perHeadBias,
      },
      c.attention,
    );
    x = tf.add(x, linear(tf.reshape(context, [batch * srcLen, inner]), att.o, ia3));
    return tf.add(x, feedForward(rmsNorm(x, block.ffnNorm, eps) as tf.Tensor2D, block.ffn, config, ia3)) as tf.Tensor2D;
  });
}

/**
 * Cross-attention K and V of every decoder layer from the encoder output [batch, srcLen, dModel]. A router
 * routes each decoder block on the masked mean of the encoder output (one mixture per example, shared by all
 * its choices); those scales ride along in CrossKv.scales for decode.
 */
export function crossKeyValues(
  model: T5Model,
  encoderHidden: tf.Tensor3D,
  ia3?: Ia3Input,
  encoderMask?: tf.Tensor2D,
): CrossKv[] {
  const { config, weights } = model;
  const [batch, srcLen, d] = encoderHidden.shape;
  const inner = innerDim(config);
  const flat = tf.reshape(encoderHidden, [batch * srcLen, d]) as tf.Tensor2D; // [batch·src, d]
  const mean = () => maskedMean(flat, encoderMask ?? tf.ones([batch, srcLen]));
  return weights.decoder.blocks.map((block, layer) => {
    const scales = blockScales(ia3, { stack: "decoder", layer }, mean);
    return {
      k: tf.reshape(linear(flat, block.crossAttention.k, scales), [batch, srcLen, inner]) as tf.Tensor3D, // [batch, src, inner]
      v: tf.reshape(linear(flat, block.crossAttention.v, scales), [batch, srcLen, inner]) as tf.Tensor3D,
      ...(isRouter(ia3) ? { scales } : {}),
    };
  });
}

export interface DecodeInputs {
  crossKv: CrossKv[]; // from crossKeyValues
  encoderMask: tf.Tensor2D; // [batch, srcLen] 0/1
  decoderInputIds: tf.Tensor3D; // [batch, choices, tgtLen] int32, shifted right (starts with decoderStartTokenId)
}

/** Decoder → final hidden states [batch·choices·tgtLen, dModel] (scaled by dModel^-0.5 when embeddings are tied). */
export function decode(model: T5Model, inputs: DecodeInputs, ia3?: Ia3Input): tf.Tensor2D {
  const { config, weights } = model;
  const [batch, choices, tgtLen] = inputs.decoderInputIds.shape;
  const rowsCount = batch * choices;
  const inner = innerDim(config);
  const eps = config.layerNormEpsilon;
  const keyMask = additiveMask(inputs.encoderMask);
  const table = weights.decoder.blocks[0]?.selfAttention.relativeBias;
  const selfBias = table
    ? positionBias(table, tgtLen, tgtLen, { ...bucketOptions(config, false), causal: true }) // [heads, tgt, tgt]
    : null;
  let x = tf.reshape(tf.gather(weights.shared, tf.reshape(inputs.decoderInputIds, [-1])), [
    rowsCount * tgtLen,
    config.dModel,
  ]) as tf.Tensor2D; // [rows·tgt, d]
  weights.decoder.blocks.forEach((block, layer) => {
    const kv = inputs.crossKv[layer] as CrossKv;
    const ia3Block =
      kv.scales ??
      blockScales(ia3, { stack: "decoder", layer }, () => {
        throw new Error("decode: a router's decoder scales come from crossKeyValues (pass its CrossKv)");
      });
    const att = block.selfAttention;
    const h = rmsNorm(x, block.selfAttentionNorm, eps) as tf.Tensor2D;
    const perRow = (t: tf.Tensor2D) => tf.reshape(t, [rowsCount, tgtLen, inner]) as tf.Tensor3D; // [rows, tgt, inner]
    const selfContext = attention(
      {
        q: perRow(linear(h, att.q, ia3Block)),
        k: perRow(linear(h, att.k, ia3Block)),
        v: perRow(linear(h, att.v, ia3Block)),
        bias: selfBias,
        keyMask: null,
        numHeads: config.numHeads,
      },
      model.attention,
    );
    x = tf.add(x, linear(tf.reshape(selfContext, [rowsCount * tgtLen, inner]), att.o, ia3Block));
    const cross = block.crossAttention;
    const hc = rmsNorm(x, block.crossAttentionNorm, eps) as tf.Tensor2D;
    // all choices of an example attend to the same encoder states: queries of example b are its choices·tgt rows
    const crossContext = attention(
      {
        q: tf.reshape(linear(hc, cross.q, ia3Block), [batch, choices * tgtLen, inner]) as tf.Tensor3D, // [batch, choices·tgt, inner]
        k: kv.k,
        v: kv.v,
        bias: null,
        keyMask,
        numHeads: config.numHeads,
      },
      model.attention,
    );
    x = tf.add(x, linear(tf.reshape(crossContext, [rowsCount * tgtLen, inner]), cross.o, ia3Block));
    x = tf.add(x, feedForward(rmsNorm(x, block.ffnNorm, eps) as tf.Tensor2D, block.ffn, config, ia3Block));
  });
  x = rmsNorm(x, weights.decoder.finalNorm, eps) as tf.Tensor2D;
  if (config.tieWordEmbeddings) x = tf.mul(x, config.dModel ** -0.5); // T5ForConditionalGeneration rescales before the tied head
  return x;
}

/** LM head: hidden [rows, dModel] → logits [rows, vocab]. */
export function lmLogits(model: T5Model, hidden: tf.Tensor2D): tf.Tensor2D {
  return linear(hidden, model.weights.lmHead, undefined);
}

function bucketOptions(config: T5Config, bidirectional: boolean) {
  return {
    bidirectional,
    numBuckets: config.relativeAttentionNumBuckets,
    maxDistance: config.relativeAttentionMaxDistance,
  };
}

/** Decoder inputs from targets [.., tgtLen]: shift right, start token first (T5ForConditionalGeneration._shift_right). */
export function shiftRight(targets: Int32Array, tgtLen: number, startTokenId: number): Int32Array {
  const out = new Int32Array(targets.length);
  for (let row = 0; row < targets.length / tgtLen; row++) {
    out[row * tgtLen] = startTokenId;
    for (let t = 1; t < tgtLen; t++) out[row * tgtLen + t] = targets[row * tgtLen + t - 1] as number;
  }
  return out;
}
