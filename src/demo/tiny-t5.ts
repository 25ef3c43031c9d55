// A tiny random T5 (gated-gelu, untied head) in Hugging Face layout: config.json keys as T5Config.to_dict writes
// them, and weights initialised like transformers T5PreTrainedModel._init_weights (factor 1.0), from a seed.
import { innerDim, parseT5Config, type T5Config } from "../model/config.js";
import type { SafetensorsInput } from "../io/safetensors.js";
import { expectedParameters } from "../model/weights.js";
import { mulberry32 } from "../engine/rng.js";

export interface TinyT5Options {
  /** Tokenizer vocabulary size; the model's vocab_size is this rounded up to a multiple of 8. */
  tokenizerVocabSize: number;
}

/** config.json of the demo model, keys sorted as transformers writes them (to_json_string(sort_keys=True)). */
export function tinyT5ConfigJson(options: TinyT5Options): Record<string, unknown> {
  return {
    architectures: ["T5ForConditionalGeneration"],
    d_ff: 128, // gated FFN inner size
    d_kv: 16, // per-head size: 4 heads × 16 = d_model
    d_model: 64,
    decoder_start_token_id: 0,
    dense_act_fn: "gelu_new", // what T5Config derives from feed_forward_proj "gated-gelu"
    dropout_rate: 0, // tfew runs T5 without dropout; 0 says so to other readers of the folder
    eos_token_id: 1,
    feed_forward_proj: "gated-gelu",
    initializer_factor: 1.0,
    is_encoder_decoder: true,
    is_gated_act: true,
    layer_norm_epsilon: 1e-6,
    model_type: "t5",
    num_decoder_layers: 2,
    num_heads: 4,
    num_layers: 2,
    pad_token_id: 0,
    relative_attention_max_distance: 128,
    relative_attention_num_buckets: 32,
    tie_word_embeddings: false,
    vocab_size: Math.ceil(options.tokenizerVocabSize / 8) * 8,
  };
}

/** generation_config.json as transformers derives it from the model config. */
export function generationConfigJson(): Record<string, unknown> {
  return { _from_model_config: true, decoder_start_token_id: 0, eos_token_id: 1, pad_token_id: 0 };
}

/** FNV-1a of a string: a per-tensor seed, so each tensor's values do not depend on the order tensors are made. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** `n` draws of N(0, std²) from mulberry32(seed) by Box-Muller (both outputs of each pair used). */
export function gaussian(n: number, std: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rand())); // 1 - u is in (0, 1]: no log(0)
    const theta = 2 * Math.PI * rand();
    out[i] = std * r * Math.cos(theta);
    if (i + 1 < n) out[i + 1] = std * r * Math.sin(theta);
  }
  return out;
}

/** The std _init_weights gives a parameter (factor 1.0), or null for layer norms (all ones). */
export function initStd(name: string, config: T5Config): number | null {
  const d = config.dModel;
  const leaf =
    name
      .replace(/\.weight$/, "")
      .split(".")
      .at(-1) ?? "";
  switch (leaf) {
    case "shared":
    case "lm_head":
      return 1.0;
    case "q":
      return (d * config.dKv) ** -0.5;
    case "k":
    case "v":
    case "wi_0":
    case "wi_1":
    case "wi":
    case "relative_attention_bias":
      return d ** -0.5;
    case "o":
      return innerDim(config) ** -0.5;
    case "wo":
      return config.dFf ** -0.5;
    case "layer_norm":
    case "final_layer_norm":
      return null;
    default:
      throw new Error(`tiny-t5: no init rule for parameter ${name}`);
  }
}

/** Every parameter of `config` (names and shapes from expectedParameters), initialised from `seed`. */
export function initTinyT5Weights(config: T5Config, seed: number): Record<string, SafetensorsInput> {
  const tensors: Record<string, SafetensorsInput> = {};
  for (const [name, shape] of expectedParameters(config))
    tensors[name] = { dtype: "F32", shape, data: initParameter(name, shape, config, seed) };
  return tensors;
}

/** One parameter's initial values (seeded per name, so any subset can be made alone, e.g. streamed to disk). */
export function initParameter(name: string, shape: readonly number[], config: T5Config, seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const std = initStd(name, config);
  return std === null ? new Float32Array(n).fill(1) : gaussian(n, std, (seed ^ fnv1a(name)) >>> 0);
}

/** The parsed T5Config of tinyT5ConfigJson (through the project's own config reader). */
export function tinyT5Config(options: TinyT5Options): T5Config {
  return parseT5Config(tinyT5ConfigJson(options), "demo config");
}
