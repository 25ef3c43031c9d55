// t-few's own (IA)³ checkpoints (r-three/t-few): torch.save of the trainable parameters of its LoRALinear layers
// with lora_rank 0 and lora_scaling_rank 1 — one `<module path>.multi_lora_b` of shape [out_features, 1] per
// module that its lora_modules / lora_layers regexes pick (configs/ia3.json: k, v of every SelfAttention and
// EncDecAttention, and wi_1 of every DenseReluDense), each scaling that module's output. Read through the safe
// pickle reader (io/torch-pickle.ts) and turned into a PEFT IA3 adapter:
//   <path>.k / .v  .multi_lora_b [out, 1]  →  <path>.k / .v  ia3_l [out, 1]  (output scaling, the same numbers)
//   <ffn>.wi_1     .multi_lora_b [d_ff, 1] →  <ffn>.wo       ia3_l [1, d_ff]  (input scaling of wo)
// The second line is exact: a gated FFN computes wo((act(wi_0 x) ⊙ wi_1 x)), and act(wi_0 x) ⊙ (l ⊙ wi_1 x) =
// l ⊙ (act(wi_0 x) ⊙ wi_1 x) (dropout in between is element-wise too), so scaling wi_1's output by l equals
// scaling wo's input by l — PEFT's own default for T5 (target k, v, wo; feed-forward wo).
import { stat } from "node:fs/promises";
import { TfewError } from "../errors.js";
import { resolveModelSource } from "../io/hub.js";
import { assertFreshOutDir, writeFolderAtomic } from "../io/out-dir.js";
import type { TensorRecord } from "../io/tensor-record.js";
import { readTorchCheckpoint } from "../io/torch-pickle.js";
import { readT5Config } from "../model/config.js";
import { linearShapes } from "../model/weights.js";
import type { Ia3Config } from "./ia3-config.js";
import { checkAdapterFits, readAdapter, writeAdapterFiles, type LoadedAdapter } from "./peft-adapter.js";
import { ia3Specs, type LinearShape } from "./ia3.js";

/** Where t-few's wi_1 vectors go: wo's input (PEFT's T5 default) or wi_1's output (as t-few applies them). */
export type TfewFfnTarget = "wo" | "wi_1";

export interface TfewSource {
  file: string; // named in messages
  model: string; // the base model, named in messages and written as base_model_name_or_path
}

const SUFFIX = /^(.+)\.(multi_lora_b|multi_lora_a|lora_a|lora_b)$/;

/** t-few's tensors → a PEFT IA3 adapter for a model with these linear modules; one line for any mismatch. */
export function convertTfewTensors(
  tensors: ReadonlyMap<string, TensorRecord>,
  modules: readonly LinearShape[],
  source: TfewSource,
  ffn: TfewFfnTarget = "wo",
): LoadedAdapter {
  const byPath = new Map(modules.map((m) => [m.path, m]));
  const other = `${source.file} was made for another model than ${source.model}`;
  const found = new Map<string, Float32Array>(); // by t-few module path
  for (const [name, record] of tensors) {
    const m = SUFFIX.exec(name);
    const kind = m?.[2];
    if (m === null || kind === "lora_a" || kind === "lora_b")
      throw new TfewError(
        `t-few: ${source.file} holds ${name}, which is not an (IA)³ vector (t-few's ia3 config saves only <module>.multi_lora_b; LoRA weights cannot be converted)`,
      );
    if (kind === "multi_lora_a") {
      if (record.data.every((x) => x === 1)) continue; // untrained (ones): no input scaling
      throw new TfewError(
        `t-few: ${source.file} holds a trained ${name} (input scaling); tfew converts t-few's (IA)³ vectors, multi_lora_b only`,
      );
    }
    const path = m[1] as string;
    const lin = byPath.get(path);
    if (lin === undefined) throw new TfewError(`t-few: ${other}: it has ${name}, but the model has no module ${path}`);
    const [rows, cols] = record.shape;
    if (record.shape.length !== 2 || rows !== lin.outFeatures || cols !== 1)
      throw new TfewError(
        `t-few: ${other}: ${name} is [${record.shape.join(", ")}] but the model's ${path} needs [${lin.outFeatures}, 1]`,
      );
    found.set(path, Float32Array.from(record.data));
  }
  if (found.size === 0) throw new TfewError(`t-few: ${source.file} holds no (IA)³ vectors (<module>.multi_lora_b)`);
  return toPeft(found, byPath, source, ffn);
}

function toPeft(
  found: ReadonlyMap<string, Float32Array>,
  byPath: ReadonlyMap<string, LinearShape>,
  source: TfewSource,
  ffn: TfewFfnTarget,
): LoadedAdapter {
  const values = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  const names: string[] = [];
  let feedforward = false;
  for (const [path, v] of found) {
    const wo = path.endsWith(".wi_1") ? byPath.get(`${path.slice(0, -".wi_1".length)}.wo`) : undefined;
    const asWo = ffn === "wo" && wo !== undefined;
    const target = asWo ? wo.path : path;
    values.set(target, v);
    shapes.set(target, asWo ? [1, v.length] : [v.length, 1]);
    feedforward ||= asWo;
    const name = target.slice(target.lastIndexOf(".") + 1);
    if (!names.includes(name)) names.push(name);
  }
  const config: Ia3Config = { targetModules: names, feedforwardModules: feedforward ? ["wo"] : [] };
  const adapter = { config, baseModel: source.model, values, shapes };
  // every module those names pick must have its vector (t-few saves one per module it modified)
  checkAdapterFits(adapter, ia3Specs([...byPath.values()], config), source.file);
  return adapter;
}

/** Reads t-few's FILE.pt (through the allowlisted pickle reader) and converts it for the model's modules. */
export async function readTfewCheckpoint(
  source: TfewSource,
  modules: readonly LinearShape[],
  ffn: TfewFfnTarget = "wo",
): Promise<LoadedAdapter> {
  return convertTfewTensors(await readTorchCheckpoint(source.file), modules, source, ffn);
}

/** A path that names a file (not a folder): adapter.init_from then means a t-few checkpoint. */
export async function isCheckpointFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() === true;
}

/**
 * adapter.init_from: a PEFT/tfew adapter folder, or t-few's FILE.pt converted for this run's vectors (its wi_1
 * vectors go to wo's input unless the run trains wi_1 itself).
 */
export async function readInitFrom(
  path: string,
  modules: readonly LinearShape[],
  config: Ia3Config,
  model: string,
): Promise<LoadedAdapter> {
  if (!(await isCheckpointFile(path))) return readAdapter(path);
  const specs = ia3Specs(modules, config);
  const ffn = specs.some((s) => s.path.endsWith(".wi_1") && !s.scaleInput) ? "wi_1" : "wo";
  return readTfewCheckpoint({ file: path, model }, modules, ffn);
}

export interface ConvertOptions {
  file: string;
  model: string; // folder or hub id
  revision?: string | undefined;
  outDir: string;
}

/** `tfew convert --from t-few`: FILE.pt → a PEFT IA3 adapter folder for the model (nothing written on any error). */
export async function convertTfewFile(options: ConvertOptions): Promise<LoadedAdapter> {
  await assertFreshOutDir(options.outDir, "convert");
  if (!(await isCheckpointFile(options.file)))
    throw new TfewError(`convert: ${options.file} is not a file; give t-few's checkpoint (e.g. finish.pt)`);
  const source = await resolveModelSource(options.model, { revision: options.revision });
  const modules = linearShapes(await readT5Config(source.dir));
  const adapter = await readTfewCheckpoint({ file: options.file, model: options.model }, modules);
  await writeFolderAtomic(options.outDir, "convert", (dir) => writeAdapterFiles(dir, adapter));
  return adapter;
}
