// Benchmark models in HF layout, written once and cached under bench-results/models/: a random
// T5-small-shaped model (d_model 512, 6+6 layers, 8 heads, d_kv 64, d_ff 2048, relu, vocab 32128) with
// HF-style init, and the demo tokenizer (ids stay far below vocab_size).
import { copyFile, mkdir } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { open, rename } from "node:fs/promises";
import { initParameter } from "../demo/tiny-t5.js";
import { writeFileAtomic } from "../io/atomic.js";
import { hfConfigJson } from "../io/hf-config.js";
import { parseT5Config, type T5Config } from "../model/config.js";
import { expectedParameters } from "../model/weights.js";

export const T5_SMALL_SHAPE = {
  architectures: ["T5ForConditionalGeneration"],
  d_ff: 2048, // T5-small
  d_kv: 64,
  d_model: 512,
  decoder_start_token_id: 0,
  dropout_rate: 0,
  eos_token_id: 1,
  feed_forward_proj: "relu",
  initializer_factor: 1.0,
  is_encoder_decoder: true,
  layer_norm_epsilon: 1e-6,
  model_type: "t5",
  num_decoder_layers: 6,
  num_heads: 8,
  num_layers: 6,
  pad_token_id: 0,
  relative_attention_max_distance: 128,
  relative_attention_num_buckets: 32,
  tie_word_embeddings: false, // untied like flan-t5 / the PyTorch reference
  vocab_size: 32128,
};

/** Writes (once) a random model with `shape` into `dir`, with the tokenizer files of `tokenizerDir`. */
export async function ensureRandomModel(
  dir: string,
  options: { shape: Record<string, unknown>; tokenizerDir: string; seed: number },
): Promise<string> {
  if (existsSync(join(dir, "model.safetensors")) && existsSync(join(dir, "tokenizer.json"))) {
    // a folder written by an older tfew may hold integer floats ("initializer_factor": 1) that transformers 5 refuses
    const text = hfConfigJson(options.shape);
    if (readFileSync(join(dir, "config.json"), "utf8") !== text) await writeFileAtomic(join(dir, "config.json"), text);
    return dir;
  }
  await mkdir(dir, { recursive: true });
  const config = parseT5Config(options.shape, `${dir}/config.json`);
  await writeRandomWeights(join(dir, "model.safetensors"), config, options.seed);
  await writeFileAtomic(join(dir, "config.json"), hfConfigJson(options.shape));
  for (const f of ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]) {
    if (existsSync(join(options.tokenizerDir, f))) await copyFile(join(options.tokenizerDir, f), join(dir, f));
  }
  return dir;
}

/**
 * model.safetensors written one tensor at a time (a T0-3B shape is 11 GB: never in memory at once): the
 * header (names sorted, as serializeSafetensors orders them), then each tensor's float32 bytes; renamed into
 * place when complete.
 */
async function writeRandomWeights(path: string, config: T5Config, seed: number): Promise<void> {
  const params = [...expectedParameters(config)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const [name, shape] of params) {
    const bytes = 4 * shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const padded = Buffer.alloc(Math.ceil(json.length / 8) * 8, 0x20);
  json.copy(padded);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(padded.length));
  const temp = `${path}.tmp-${process.pid}`;
  const handle = await open(temp, "w");
  try {
    await handle.write(prefix);
    await handle.write(padded);
    for (const [name, shape] of params) {
      const data = initParameter(name, shape, config, seed);
      await handle.write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}
