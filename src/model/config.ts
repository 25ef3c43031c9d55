// T5 / mT5 config.json → a plain, validated T5Config. Mirrors transformers' T5Config (configuration_t5.py):
// feed_forward_proj "relu" | "gated-gelu" | "gated-silu" (and "gelu"/"silu" non-gated), tied embeddings, etc.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { TfewError } from "../errors.js";
import { isT5ModelType, notT5FamilyError, type T5ModelType } from "../io/model-type.js";

export type ActivationName = "relu" | "gelu_new" | "silu" | "gelu";

export interface T5Config {
  modelType: T5ModelType; // config.json model_type
  vocabSize: number; // rows of the shared embedding
  dModel: number; // hidden size
  dKv: number; // size of one attention head
  dFf: number; // feed-forward inner size
  numHeads: number; // attention heads per layer
  numLayers: number; // encoder blocks
  numDecoderLayers: number; // decoder blocks (defaults to numLayers)
  relativeAttentionNumBuckets: number; // relative position buckets
  relativeAttentionMaxDistance: number; // distance beyond which buckets are shared
  layerNormEpsilon: number; // RMSNorm epsilon
  activation: ActivationName; // FFN activation (dense_act_fn)
  gatedFfn: boolean; // wo(act(wi_0 x) * wi_1 x) instead of wo(act(wi x))
  tieWordEmbeddings: boolean; // LM head = shared embedding, decoder output scaled by dModel^-0.5
  decoderStartTokenId: number; // first decoder input (0 = pad for T5)
  padTokenId: number; // 0 for T5
  eosTokenId: number; // 1 for T5
}

/** inner dimension of attention projections: numHeads · dKv */
export function innerDim(config: T5Config): number {
  return config.numHeads * config.dKv;
}

type Json = Record<string, unknown>;

function field<T>(raw: Json, key: string, file: string, check: (v: unknown) => v is T, what: string, fallback?: T): T {
  const value = raw[key];
  if (value === undefined || value === null) {
    if (fallback !== undefined) return fallback;
    throw new TfewError(`config: "${key}" is missing in ${file}; a T5 config.json needs it (${what})`);
  }
  if (!check(value)) throw new TfewError(`config: "${key}" in ${file} must be ${what}, got ${JSON.stringify(value)}`);
  return value;
}

const isPosInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v > 0;
const isNonNegInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;
const isPosNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v > 0;
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isString = (v: unknown): v is string => typeof v === "string";

/** Parses feed_forward_proj the way T5Config.__init__ does: "gated-gelu" → gated + gelu_new. */
export function parseFeedForwardProj(proj: string, file: string): { activation: ActivationName; gated: boolean } {
  const parts = proj.split("-");
  const gated = parts[0] === "gated";
  const act = parts[parts.length - 1];
  if (parts.length > 2 || (parts.length === 2 && !gated) || act === undefined) {
    throw new TfewError(
      `config: feed_forward_proj "${proj}" in ${file} is not valid; use "relu", "gated-gelu" or "gated-silu"`,
    );
  }
  // transformers: "gated-gelu" is mapped to gelu_new (the tanh form) for backwards compatibility
  if (act === "gelu" && gated) return { activation: "gelu_new", gated };
  if (act === "relu" || act === "gelu" || act === "silu" || act === "gelu_new") return { activation: act, gated };
  throw new TfewError(
    `config: activation "${act}" of feed_forward_proj in ${file} is not supported; use relu, gelu or silu`,
  );
}

export function parseT5Config(raw: Json, file: string): T5Config {
  const modelType = field(raw, "model_type", file, isString, 'the string "t5" or "mt5"');
  if (!isT5ModelType(modelType)) throw notT5FamilyError(modelType, file);
  const proj = field(raw, "feed_forward_proj", file, isString, "a string like gated-gelu", "relu");
  const { activation, gated } = parseFeedForwardProj(proj, file);
  const numLayers = field(raw, "num_layers", file, isPosInt, "a positive integer");
  return {
    modelType,
    vocabSize: field(raw, "vocab_size", file, isPosInt, "a positive integer"),
    dModel: field(raw, "d_model", file, isPosInt, "a positive integer"),
    dKv: field(raw, "d_kv", file, isPosInt, "a positive integer"),
    dFf: field(raw, "d_ff", file, isPosInt, "a positive integer"),
    numHeads: field(raw, "num_heads", file, isPosInt, "a positive integer"),
    numLayers,
    numDecoderLayers: field(raw, "num_decoder_layers", file, isPosInt, "a positive integer", numLayers),
    relativeAttentionNumBuckets: field(raw, "relative_attention_num_buckets", file, isPosInt, "a positive integer", 32),
    relativeAttentionMaxDistance: field(
      raw,
      "relative_attention_max_distance",
      file,
      isPosInt,
      "a positive integer",
      128,
    ),
    layerNormEpsilon: field(raw, "layer_norm_epsilon", file, isPosNumber, "a positive number", 1e-6),
    activation,
    gatedFfn: gated,
    // mT5's config class defaults tie_word_embeddings to false, T5's to true
    tieWordEmbeddings: field(raw, "tie_word_embeddings", file, isBool, "true or false", modelType === "t5"),
    decoderStartTokenId: field(raw, "decoder_start_token_id", file, isNonNegInt, "a token id", 0),
    padTokenId: field(raw, "pad_token_id", file, isNonNegInt, "a token id", 0),
    eosTokenId: field(raw, "eos_token_id", file, isNonNegInt, "a token id", 1),
  };
}

export async function readT5Config(modelDir: string): Promise<T5Config> {
  const file = join(modelDir, "config.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new TfewError(
      `model: no config.json in ${modelDir}; point --model at a Hugging Face T5 folder (config.json + weights) or a hub id`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new TfewError(`model: ${file} is not valid JSON (${(error as Error).message}); re-download the model`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new TfewError(`model: ${file} must hold a JSON object`);
  }
  return parseT5Config(raw as Json, file);
}

/** Parameter counts for `tfew inspect`. Base counts follow HF's module list (lm_head counted when untied). */
export function countParameters(config: T5Config): {
  embedding: number;
  encoder: number;
  decoder: number;
  lmHead: number;
  total: number;
} {
  const d = config.dModel;
  const inner = innerDim(config);
  const attention = 4 * d * inner;
  const ffn = (config.gatedFfn ? 3 : 2) * d * config.dFf;
  const relBias = config.relativeAttentionNumBuckets * config.numHeads;
  const encoder = config.numLayers * (attention + ffn + 2 * d) + relBias + d;
  const decoder = config.numDecoderLayers * (2 * attention + ffn + 3 * d) + relBias + d;
  const embedding = config.vocabSize * d;
  const lmHead = config.tieWordEmbeddings ? 0 : config.vocabSize * d;
  return { embedding, encoder, decoder, lmHead, total: embedding + encoder + decoder + lmHead };
}
