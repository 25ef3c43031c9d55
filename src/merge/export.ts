// `tfew export`: a base model with an (IA)³ adapter folded into its weights (fold.ts), written as a plain
// Hugging Face folder: config.json, safetensors weights with the original tensor names, shard grouping and
// dtypes, the tokenizer files, and tfew_export.json saying what was merged. Mirrors PEFT merge_and_unload.
import { copyFile, readFile, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ia3Specs, type Ia3VectorSpec } from "../adapters/ia3.js";
import { checkAdapterFits, readAdapter } from "../adapters/peft-adapter.js";
import { TfewError } from "../errors.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { readShardIndex, WEIGHT_FILES } from "../io/checkpoint-dir.js";
import { hasIntegerFloatField, hfConfigJson } from "../io/hf-config.js";
import { resolveModelSource } from "../io/hub.js";
import { assertFreshOutDir, writeFolderAtomic } from "../io/out-dir.js";
import { readSafetensors, writeSafetensors, type SafetensorsInput } from "../io/safetensors.js";
import type { TensorRecord } from "../io/tensor-record.js";
import { readT5Config } from "../model/config.js";
import { linearShapes } from "../model/weights.js";
import { encodeTensor, foldVector, isFloatDType, type FloatDType } from "./fold.js";

/** Copied beside the weights when the model (or --tokenizer) folder has them. */
export const COPIED_FILES = [
  "generation_config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "spiece.model",
  "special_tokens_map.json",
  "added_tokens.json",
] as const;
const TOKENIZER_FILES: ReadonlySet<string> = new Set(COPIED_FILES.filter((f) => f !== "generation_config.json"));
export const EXPORT_RECORD_FILE = "tfew_export.json";

export interface ExportOptions {
  model: string; // local folder or hub id
  revision?: string;
  adapterDir: string;
  outDir: string;
  tokenizerDir?: string | null; // tokenizer files from here instead of the model folder
  overwrite?: boolean; // replace an earlier export in outDir (the CLI checked it is one and --overwrite was given)
  log: (line: string) => void;
}

export interface ExportSummary {
  outDir: string;
  weightFiles: string[]; // written, relative to outDir
  folded: number; // vectors folded
  dtypes: string[]; // dtypes of the written tensors
}

/** One input weight file and the safetensors file it becomes. */
interface WeightFile {
  input: string;
  output: string;
}

export async function exportModel(options: ExportOptions): Promise<ExportSummary> {
  const target = { what: "export", replace: options.overwrite === true };
  if (!target.replace) await assertFreshOutDir(options.outDir, "export");
  const source = await resolveModelSource(options.model, { revision: options.revision });
  const config = await readT5Config(source.dir);
  const adapter = await readAdapter(options.adapterDir);
  const modules = linearShapes(config);
  const specs = ia3Specs(modules, adapter.config);
  checkAdapterFits(adapter, specs, options.adapterDir); // every vector named and sized for this model
  const files = await weightFiles(source.dir);
  const tokenizerDir = options.tokenizerDir ?? source.dir;
  if (options.tokenizerDir && !(await isFile(join(options.tokenizerDir, "tokenizer.json")))) {
    throw new TfewError(
      `export: --tokenizer ${options.tokenizerDir} has no tokenizer.json; point it at a folder with the model's tokenizer files`,
    );
  }
  const pending = new Map(specs.map((s) => [`${s.path}.weight`, s]));
  const fullShapes = new Map(modules.map((m) => [`${m.path}.weight`, [m.outFeatures, m.inFeatures]]));
  const weightMap: Record<string, string> = {};
  const dtypes = new Set<string>();
  let totalSize = 0;
  await writeFolderAtomic(options.outDir, target, async (dir) => {
    for (const file of files) {
      const { tensors, metadata } = await readWeights(file.input);
      const out: Record<string, SafetensorsInput> = {};
      let folded = 0;
      for (const [name, record] of tensors) {
        if (weightMap[name] !== undefined)
          throw new TfewError(
            `export: tensor ${name} is in both ${weightMap[name]} and ${file.input}; the checkpoint is inconsistent — re-download it`,
          );
        const spec = pending.get(name);
        const tensor = spec
          ? foldedTensor(name, record, spec, {
              adapter: adapter.values,
              fullShape: fullShapes.get(name) ?? [],
              file: file.input,
            })
          : copiedTensor(name, record, file.input);
        if (spec) {
          pending.delete(name);
          folded++;
        }
        out[name] = tensor;
        weightMap[name] = file.output;
        totalSize += tensor.data.byteLength;
        dtypes.add(tensor.dtype);
      }
      await writeSafetensors(
        join(dir, file.output),
        out,
        Object.keys(metadata).length > 0 ? metadata : { format: "pt" },
      );
      options.log(`export: ${file.output}: ${tensors.size} tensors, ${folded} with (IA)³ vectors folded in`);
    }
    const missing = pending.keys().next();
    if (!missing.done)
      throw new TfewError(
        `export: weight ${missing.value} is not in the weight files of ${source.dir}; the checkpoint does not match its config.json`,
      );
    if (files.length > 1) {
      const sorted = Object.fromEntries(
        Object.keys(weightMap)
          .sort()
          .map((k) => [k, weightMap[k]]),
      );
      await writeJsonAtomic(join(dir, "model.safetensors.index.json"), {
        metadata: { total_size: totalSize },
        weight_map: sorted,
      });
    }
    const copied = await copyModelFiles({ modelDir: source.dir, tokenizerDir, outDir: dir });
    if (!copied.includes("tokenizer.json"))
      options.log(
        `export: warning: no tokenizer.json in ${tokenizerDir}; the exported folder has no tokenizer (add --tokenizer DIR)`,
      );
    await writeJsonAtomic(join(dir, EXPORT_RECORD_FILE), {
      tool: "tfew export",
      base_model: options.model,
      base_model_dir: source.dir,
      ...(source.kind === "hub" ? { base_model_commit: source.commit ?? null } : {}),
      adapter: resolve(options.adapterDir),
      adapter_base_model: adapter.baseModel,
      target_modules: adapter.config.targetModules,
      feedforward_modules: adapter.config.feedforwardModules,
      vectors_folded: specs.length,
      rule: "PEFT IA3 merge: an output-scaling vector [out, 1] multiplies row i of its weight [out, in] by l_i; an input-scaling (feed-forward) vector [1, in] multiplies column j by l_j; products in float64, rounded once to the weight's dtype (nearest even)",
      weight_files: files.map((f) => f.output),
      copied_files: ["config.json", ...copied],
      created: new Date().toISOString(),
    });
  });
  return {
    outDir: options.outDir,
    weightFiles: files.map((f) => f.output),
    folded: specs.length,
    dtypes: [...dtypes].sort(),
  };
}

function foldedTensor(
  name: string,
  record: TensorRecord,
  spec: Ia3VectorSpec,
  context: { adapter: ReadonlyMap<string, Float32Array>; fullShape: number[]; file: string },
): SafetensorsInput {
  const tensor = copiedTensor(name, record, context.file); // dtype check
  if (record.shape.join() !== context.fullShape.join()) {
    throw new TfewError(
      `export: weight ${name} in ${context.file} has shape [${record.shape.join(", ")}] but config.json implies [${context.fullShape.join(", ")}]; the weights and config.json disagree`,
    );
  }
  const folded = foldVector(record.data as Float32Array, record.shape, context.adapter.get(spec.path) as Float32Array, {
    scaleInput: spec.scaleInput,
  });
  return encodeTensor(tensor.dtype as FloatDType, record.shape, folded);
}

function copiedTensor(name: string, record: TensorRecord, file: string): SafetensorsInput {
  if (!isFloatDType(record.dtype) || !(record.data instanceof Float32Array)) {
    throw new TfewError(
      `export: tensor ${name} in ${file} has dtype ${record.dtype}; tfew exports F32, F16 and BF16 checkpoints only (convert this one first)`,
    );
  }
  return encodeTensor(record.dtype, record.shape, record.data); // F16/BF16 → float32 → back is exact
}

/** The model's weight files (transformers' order of preference) and the safetensors name each becomes. */
async function weightFiles(modelDir: string): Promise<WeightFile[]> {
  for (const name of WEIGHT_FILES) {
    const path = join(modelDir, name);
    if (!(await isFile(path))) continue;
    if (!name.endsWith(".index.json")) return [{ input: path, output: "model.safetensors" }];
    const { shards } = await readShardIndex(path);
    if (shards.length === 0)
      throw new TfewError(`export: ${path} has an empty "weight_map"; re-download the checkpoint`);
    const pad = (n: number) => String(n).padStart(5, "0");
    return shards.map((shard, i) => ({
      input: join(modelDir, shard),
      output: `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`,
    }));
  }
  throw new TfewError(
    `export: no weights in ${modelDir} (looked for ${WEIGHT_FILES.join(", ")}); point --model at a folder with the weights`,
  );
}

async function readWeights(
  path: string,
): Promise<{ tensors: Map<string, TensorRecord>; metadata: Record<string, string> }> {
  if (!(await isFile(path))) throw new TfewError(`export: weight file ${path} is missing; re-download the checkpoint`);
  if (path.endsWith(".safetensors")) return readSafetensors(path);
  const { readTorchCheckpoint } = await import("../io/torch-pickle.js");
  return { tensors: await readTorchCheckpoint(path), metadata: {} };
}

/** Copies config.json (see copyConfig) and, when present, the COPIED_FILES; returns the names copied besides it. */
async function copyModelFiles(where: { modelDir: string; tokenizerDir: string; outDir: string }): Promise<string[]> {
  await copyConfig(join(where.modelDir, "config.json"), join(where.outDir, "config.json"));
  const copied: string[] = [];
  for (const name of COPIED_FILES) {
    const from = join(TOKENIZER_FILES.has(name) ? where.tokenizerDir : where.modelDir, name);
    if (!(await isFile(from))) continue;
    await copyFile(from, join(where.outDir, name));
    copied.push(name);
  }
  return copied;
}

/**
 * config.json byte for byte, unless a float field holds an integer (`"initializer_factor": 1`, as JSON.stringify
 * wrote it into tfew's own demo model once): transformers 5.x refuses that, so it is rewritten with 1.0.
 */
async function copyConfig(from: string, to: string): Promise<void> {
  const text = await readFile(from, "utf8");
  const config = JSON.parse(text) as unknown; // readT5Config has parsed it already
  const fix = typeof config === "object" && config !== null && hasIntegerFloatField(config as Record<string, unknown>);
  await writeFile(to, fix ? hfConfigJson(config as Record<string, unknown>) : text);
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}
