// Frozen T5 weights by Hugging Face parameter name → typed blocks of plain tensors (never variables).
// This file is the one boundary where HF names (`encoder.block.0.layer.0.SelfAttention.q.weight`) appear.
import { tf } from "../backend/tf.js";
import { TfewError } from "../errors.js";
import type { TensorRecord } from "../io/tensor-record.js";
import { innerDim, type T5Config } from "./config.js";

/** A frozen linear layer. `path` is the HF module path, the key (IA)³ vectors attach to. */
export interface Linear {
  path: string; // e.g. "encoder.block.0.layer.0.SelfAttention.k"
  inFeatures: number;
  outFeatures: number;
  wt: tf.Tensor2D; // [in, out]: forward is a plain 2-D matMul x·Wᵀ
  w: tf.Tensor2D | null; // [out, in] HF layout, kept only for fast backward (dx = dy·W) on wasm/cpu
}

export interface AttentionWeights {
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  relativeBias: tf.Tensor2D | null; // [numBuckets, heads], block 0 of self-attention only
}

export interface FfnWeights {
  wi: Linear | null; // non-gated
  wi0: Linear | null; // gated: activation branch
  wi1: Linear | null; // gated: linear branch
  wo: Linear;
}

export interface EncoderBlock {
  selfAttention: AttentionWeights;
  selfAttentionNorm: tf.Tensor1D; // layer.0.layer_norm
  ffn: FfnWeights;
  ffnNorm: tf.Tensor1D; // layer.1.layer_norm
}

export interface DecoderBlock {
  selfAttention: AttentionWeights;
  selfAttentionNorm: tf.Tensor1D; // layer.0.layer_norm
  crossAttention: AttentionWeights;
  crossAttentionNorm: tf.Tensor1D; // layer.1.layer_norm
  ffn: FfnWeights;
  ffnNorm: tf.Tensor1D; // layer.2.layer_norm
}

export interface T5Weights {
  shared: tf.Tensor2D; // [vocab, dModel] token embedding (frozen)
  encoder: { blocks: EncoderBlock[]; finalNorm: tf.Tensor1D };
  decoder: { blocks: DecoderBlock[]; finalNorm: tf.Tensor1D };
  lmHead: Linear; // untied: lm_head.weight; tied: the shared embedding
}

export interface LoadWeightsOptions {
  /** keep W as well as Wᵀ so the input gradient is a plain matMul (wasm/cpu); costs one more copy of the weights */
  keepUntransposed: boolean;
  /** where the tensors came from, for error messages */
  source: string;
  /**
   * drop each record from `tensors` once it is on the backend, so its host bytes can be collected while the rest
   * load: the peak is about one copy of the weights, not two (an 11 GB T0-3B in 24 GB). The map must be mutable.
   */
  release?: boolean;
  /** tensors already on the backend by name (loadT5 uploads each as it is read); their records hold no data */
  uploaded?: Map<string, tf.Tensor>;
}

/** Keys that HF checkpoints may carry and that T5 ignores or derives. */
const IGNORABLE = [
  "encoder.embed_tokens.weight",
  "decoder.embed_tokens.weight",
  "decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight",
];

/** Every HF parameter name a T5 with this config must have, with its shape (in HF's [out, in] layout). */
export function expectedParameters(config: T5Config): Map<string, number[]> {
  const d = config.dModel;
  const inner = innerDim(config);
  const out = new Map<string, number[]>();
  out.set("shared.weight", [config.vocabSize, d]);
  if (!config.tieWordEmbeddings) out.set("lm_head.weight", [config.vocabSize, d]);
  const attention = (prefix: string, withBias: boolean) => {
    out.set(`${prefix}.q.weight`, [inner, d]);
    out.set(`${prefix}.k.weight`, [inner, d]);
    out.set(`${prefix}.v.weight`, [inner, d]);
    out.set(`${prefix}.o.weight`, [d, inner]);
    if (withBias)
      out.set(`${prefix}.relative_attention_bias.weight`, [config.relativeAttentionNumBuckets, config.numHeads]);
  };
  const ffn = (prefix: string) => {
    if (config.gatedFfn) {
      out.set(`${prefix}.wi_0.weight`, [config.dFf, d]);
      out.set(`${prefix}.wi_1.weight`, [config.dFf, d]);
    } else {
      out.set(`${prefix}.wi.weight`, [config.dFf, d]);
    }
    out.set(`${prefix}.wo.weight`, [d, config.dFf]);
  };
  for (let i = 0; i < config.numLayers; i++) {
    attention(`encoder.block.${i}.layer.0.SelfAttention`, i === 0);
    out.set(`encoder.block.${i}.layer.0.layer_norm.weight`, [d]);
    ffn(`encoder.block.${i}.layer.1.DenseReluDense`);
    out.set(`encoder.block.${i}.layer.1.layer_norm.weight`, [d]);
  }
  out.set("encoder.final_layer_norm.weight", [d]);
  for (let i = 0; i < config.numDecoderLayers; i++) {
    attention(`decoder.block.${i}.layer.0.SelfAttention`, i === 0);
    out.set(`decoder.block.${i}.layer.0.layer_norm.weight`, [d]);
    attention(`decoder.block.${i}.layer.1.EncDecAttention`, false);
    out.set(`decoder.block.${i}.layer.1.layer_norm.weight`, [d]);
    ffn(`decoder.block.${i}.layer.2.DenseReluDense`);
    out.set(`decoder.block.${i}.layer.2.layer_norm.weight`, [d]);
  }
  out.set("decoder.final_layer_norm.weight", [d]);
  return out;
}

/** Asserts that `tensors` holds exactly the expected keys with the expected shapes (message names the first mismatch). */
export function checkParameters(config: T5Config, tensors: ReadonlyMap<string, TensorRecord>, source: string): void {
  const expected = expectedParameters(config);
  for (const [name, shape] of expected) {
    const record = tensors.get(name);
    if (record === undefined) {
      throw new TfewError(
        `model: weight "${name}" is missing from ${source}; the weights do not match config.json (wrong folder or truncated download?)`,
      );
    }
    if (record.shape.length !== shape.length || record.shape.some((s, i) => s !== shape[i])) {
      throw new TfewError(
        `model: weight "${name}" in ${source} has shape [${record.shape.join(", ")}] but config.json implies [${shape.join(", ")}]; the weights and config.json disagree`,
      );
    }
    if (!(record.data instanceof Float32Array)) {
      throw new TfewError(
        `model: weight "${name}" in ${source} has integer dtype ${record.dtype}; expected a floating-point tensor`,
      );
    }
  }
  for (const name of tensors.keys()) {
    if (expected.has(name) || IGNORABLE.includes(name) || (config.tieWordEmbeddings && name === "lm_head.weight"))
      continue;
    throw new TfewError(
      `model: unexpected weight "${name}" in ${source}; it does not belong to a ${config.modelType} model with this config.json`,
    );
  }
}

/** Builds frozen tensors from checked records. Call checkParameters first (loadT5Weights does). */
export function buildWeights(
  config: T5Config,
  tensors: ReadonlyMap<string, TensorRecord>,
  options: LoadWeightsOptions,
): T5Weights {
  checkParameters(config, tensors, options.source);
  const get = (name: string): TensorRecord => {
    const record = tensors.get(name) as TensorRecord; // presence checked above
    // shared.weight is read twice when the head is tied: keep it
    if (options.release === true && name !== "shared.weight") (tensors as Map<string, TensorRecord>).delete(name);
    return record;
  };
  const onBackend = (name: string): tf.Tensor | undefined => {
    const t = options.uploaded?.get(name);
    options.uploaded?.delete(name); // each uploaded tensor is handed out once (linear() may dispose it)
    return t;
  };
  const vector = (name: string) => (onBackend(name) as tf.Tensor1D) ?? tf.tensor1d(get(name).data as Float32Array);
  const matrix = (name: string) => {
    const t = onBackend(name) as tf.Tensor2D | undefined;
    if (t !== undefined) return t;
    const r = get(name);
    return tf.tensor2d(r.data as Float32Array, [r.shape[0] ?? 0, r.shape[1] ?? 0]);
  };
  const linear = (path: string, fromName = `${path}.weight`): Linear => {
    const w = matrix(fromName); // [out, in]
    const wt = tf.transpose(w) as tf.Tensor2D; // [in, out]
    if (!options.keepUntransposed) w.dispose();
    return { path, inFeatures: w.shape[1], outFeatures: w.shape[0], wt, w: options.keepUntransposed ? w : null };
  };
  const attention = (prefix: string, withBias: boolean): AttentionWeights => ({
    q: linear(`${prefix}.q`),
    k: linear(`${prefix}.k`),
    v: linear(`${prefix}.v`),
    o: linear(`${prefix}.o`),
    relativeBias: withBias ? matrix(`${prefix}.relative_attention_bias.weight`) : null,
  });
  const ffn = (prefix: string): FfnWeights => ({
    wi: config.gatedFfn ? null : linear(`${prefix}.wi`),
    wi0: config.gatedFfn ? linear(`${prefix}.wi_0`) : null,
    wi1: config.gatedFfn ? linear(`${prefix}.wi_1`) : null,
    wo: linear(`${prefix}.wo`),
  });
  const encoderBlocks: EncoderBlock[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const p = `encoder.block.${i}`;
    encoderBlocks.push({
      selfAttention: attention(`${p}.layer.0.SelfAttention`, i === 0),
      selfAttentionNorm: vector(`${p}.layer.0.layer_norm.weight`),
      ffn: ffn(`${p}.layer.1.DenseReluDense`),
      ffnNorm: vector(`${p}.layer.1.layer_norm.weight`),
    });
  }
  const decoderBlocks: DecoderBlock[] = [];
  for (let i = 0; i < config.numDecoderLayers; i++) {
    const p = `decoder.block.${i}`;
    decoderBlocks.push({
      selfAttention: attention(`${p}.layer.0.SelfAttention`, i === 0),
      selfAttentionNorm: vector(`${p}.layer.0.layer_norm.weight`),
      crossAttention: attention(`${p}.layer.1.EncDecAttention`, false),
      crossAttentionNorm: vector(`${p}.layer.1.layer_norm.weight`),
      ffn: ffn(`${p}.layer.2.DenseReluDense`),
      ffnNorm: vector(`${p}.layer.2.layer_norm.weight`),
    });
  }
  const shared = matrix("shared.weight");
  return {
    shared,
    encoder: { blocks: encoderBlocks, finalNorm: vector("encoder.final_layer_norm.weight") },
    decoder: { blocks: decoderBlocks, finalNorm: vector("decoder.final_layer_norm.weight") },
    lmHead: linear("lm_head", config.tieWordEmbeddings ? "shared.weight" : "lm_head.weight"),
  };
}

/** Every tensor the weights hold (for disposal and memory accounting). */
export function weightTensors(weights: T5Weights): tf.Tensor[] {
  const out: tf.Tensor[] = [weights.shared, weights.encoder.finalNorm, weights.decoder.finalNorm];
  const lin = (l: Linear | null) => {
    if (l) out.push(l.wt, ...(l.w ? [l.w] : []));
  };
  const att = (a: AttentionWeights) => {
    [a.q, a.k, a.v, a.o].forEach(lin);
    if (a.relativeBias) out.push(a.relativeBias);
  };
  const ffn = (f: FfnWeights) => [f.wi, f.wi0, f.wi1, f.wo].forEach(lin);
  for (const b of weights.encoder.blocks) {
    att(b.selfAttention);
    ffn(b.ffn);
    out.push(b.selfAttentionNorm, b.ffnNorm);
  }
  for (const b of weights.decoder.blocks) {
    att(b.selfAttention);
    att(b.crossAttention);
    ffn(b.ffn);
    out.push(b.selfAttentionNorm, b.crossAttentionNorm, b.ffnNorm);
  }
  lin(weights.lmHead);
  return out;
}

/** Path and size of every linear module (lm_head excluded) from the config alone, in module order. */
export function linearShapes(config: T5Config): { path: string; inFeatures: number; outFeatures: number }[] {
  const out: { path: string; inFeatures: number; outFeatures: number }[] = [];
  for (const [name, shape] of expectedParameters(config)) {
    const m = /^(.*\.(?:q|k|v|o|wi|wi_0|wi_1|wo))\.weight$/.exec(name);
    if (m?.[1] !== undefined && shape.length === 2)
      out.push({ path: m[1], outFeatures: shape[0] as number, inFeatures: shape[1] as number });
  }
  return out;
}
