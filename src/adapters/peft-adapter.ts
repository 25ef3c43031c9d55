// Adapters on disk in PEFT's format (peft save_pretrained for IA3): adapter_config.json and
// adapter_model.safetensors with keys `base_model.model.<module path>.ia3_l` — loadable by PEFT and back. Older
// PEFT (< 0.7) saved adapter_model.bin (torch.save) by default: read too, never written.
import { mkdir, readFile, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { DEFAULT_CONFIG_FILE } from "../config/load.js";
import { TfewError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { PEFT_FILES, peftFiles } from "../io/run-dir.js";
import { readSafetensors, writeSafetensors } from "../io/safetensors.js";
import type { TensorRecord } from "../io/tensor-record.js";
import { moduleMatches, type Ia3Config } from "./ia3-config.js";
import { readVectors, type Ia3VectorSet, type Ia3VectorSpec } from "./ia3.js";

const PREFIX = "base_model.model.";
const SUFFIX = ".ia3_l";

export function peftTensorName(path: string): string {
  return `${PREFIX}${path}${SUFFIX}`;
}

/** The module path inside a PEFT IA3 tensor name, or null when the name is not `base_model.model.<path>.ia3_l`. */
export function peftModulePath(name: string): string | null {
  return name.startsWith(PREFIX) && name.endsWith(SUFFIX) && name.length > PREFIX.length + SUFFIX.length
    ? name.slice(PREFIX.length, -SUFFIX.length)
    : null;
}

/** The embedded demo model, the one local path tfew fills in itself (configs/default.yaml's model: data/demo-model). */
const EMBEDDED_DEMO_MODEL = join(dirname(dirname(DEFAULT_CONFIG_FILE)), "data", "demo-model");

/**
 * base_model_name_or_path as tfew records it: the model as it was given — a hub id, or a local path as typed
 * (relative paths stay relative) — as PEFT records what from_pretrained got. The embedded demo, whose absolute
 * path tfew filled in, is recorded relative to the current folder when it lies under it (`data/demo-model` from a
 * clone, `node_modules/tfew/data/demo-model` from a project), so the adapter keeps loading after the folder moves.
 */
export function recordedBaseModel(model: string, cwd: string = process.cwd()): string {
  if (!isAbsolute(model) || resolve(model) !== EMBEDDED_DEMO_MODEL) return model; // as typed
  const rel = relative(cwd, EMBEDDED_DEMO_MODEL);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? model : rel.split(sep).join("/");
}

/** adapter_config.json as PEFT 0.4 writes it (keys sorted, 2-space indent). */
export function peftAdapterConfig(config: Ia3Config, baseModel: string): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    auto_mapping: null,
    base_model_name_or_path: baseModel,
    fan_in_fan_out: false,
    feedforward_modules: config.feedforwardModules,
    inference_mode: true,
    init_ia3_weights: true,
    modules_to_save: null,
    peft_type: "IA3",
    revision: null,
    target_modules: config.targetModules,
    task_type: "SEQ_2_SEQ_LM",
  };
  return Object.fromEntries(
    Object.keys(fields)
      .sort()
      .map((k) => [k, fields[k]]),
  );
}

export async function saveAdapter(dir: string, set: Ia3VectorSet, options: { baseModel: string }): Promise<void> {
  const values = await readVectors(set);
  const shapes = new Map(set.specs.map((spec) => [spec.path, spec.shape as number[]]));
  await writeAdapterFiles(dir, { config: set.config, baseModel: options.baseModel, values, shapes });
}

/** Writes adapter_model.safetensors + adapter_config.json from plain vectors (by module path, with their PEFT shapes). */
export async function writeAdapterFiles(dir: string, adapter: LoadedAdapter): Promise<void> {
  await mkdir(dir, { recursive: true });
  const files = peftFiles(dir);
  const tensors: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {};
  for (const [path, data] of adapter.values)
    tensors[peftTensorName(path)] = { dtype: "F32", shape: adapter.shapes.get(path) ?? [data.length, 1], data };
  await writeSafetensors(files.weights, tensors, { format: "pt" });
  const config = peftAdapterConfig(adapter.config, recordedBaseModel(adapter.baseModel));
  await writeFileAtomic(files.config, JSON.stringify(config, null, 2));
}

export interface LoadedAdapter {
  config: Ia3Config;
  baseModel: string;
  values: Map<string, Float32Array>; // by module path
  shapes: Map<string, number[]>; // PEFT shape by module path: [out, 1] or [1, in]
}

/** Reads a tfew- or PEFT-written IA3 adapter folder (values not yet checked against a model). */
export async function readAdapter(dir: string): Promise<LoadedAdapter> {
  const configFile = peftFiles(dir).config;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(configFile, "utf8")) as Record<string, unknown>;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TfewError(
      code === "ENOENT"
        ? `adapter: no adapter_config.json in ${dir}; point at a folder written by tfew train (run/adapter) or PEFT save_pretrained`
        : `adapter: ${configFile} is not valid JSON (${(error as Error).message})`,
    );
  }
  if (raw.peft_type !== "IA3") {
    throw new TfewError(
      `adapter: ${configFile} has peft_type ${JSON.stringify(raw.peft_type)}; tfew loads IA3 adapters only`,
    );
  }
  const patterns = (key: string): string[] | string => {
    const v = raw[key];
    if (typeof v === "string" || (Array.isArray(v) && v.every((x) => typeof x === "string")))
      return v as string[] | string;
    if (v === null || v === undefined) return [];
    throw new TfewError(`adapter: ${key} in ${configFile} must be a list of module names or a regex string`);
  };
  const { file: weightsFile, tensors } = await readAdapterWeights(dir);
  const values = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  for (const [name, record] of tensors) {
    const path = peftModulePath(name);
    if (path === null || !(record.data instanceof Float32Array)) {
      throw new TfewError(
        `adapter: tensor "${name}" in ${weightsFile} is not an IA3 vector (expected base_model.model.<module>.ia3_l)`,
      );
    }
    values.set(path, record.data);
    shapes.set(path, record.shape);
  }
  return {
    config: { targetModules: patterns("target_modules"), feedforwardModules: patterns("feedforward_modules") },
    baseModel: typeof raw.base_model_name_or_path === "string" ? raw.base_model_name_or_path : "",
    values,
    shapes,
  };
}

/**
 * The adapter's tensors: adapter_model.safetensors, else adapter_model.bin (torch.save, PEFT < 0.7's default),
 * read by the safe pickle reader (src/io/torch-pickle.ts: tensors only, no code run).
 */
async function readAdapterWeights(dir: string): Promise<{ file: string; tensors: Map<string, TensorRecord> }> {
  const files = peftFiles(dir);
  if (await isFile(files.weights))
    return { file: files.weights, tensors: (await readSafetensors(files.weights)).tensors };
  if (await isFile(files.legacyWeights)) {
    const { readTorchCheckpoint } = await import("../io/torch-pickle.js");
    return { file: files.legacyWeights, tensors: await readTorchCheckpoint(files.legacyWeights) };
  }
  throw new TfewError(
    `adapter: no ${PEFT_FILES.weights} (or ${PEFT_FILES.legacyWeights}) in ${dir}; the adapter folder is incomplete — copy its weights file too`,
  );
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

/**
 * Checks that an adapter fits a model's vector specs exactly: the same modules, and for each vector the same shape
 * and role (a feed-forward module's vector [1, in] scales its input, any other [out, 1] its output; the adapter's
 * own feedforward_modules give the role it was trained in).
 */
export function checkAdapterFits(adapter: LoadedAdapter, specs: readonly Ia3VectorSpec[], dir: string): void {
  for (const spec of specs) {
    const values = adapter.values.get(spec.path);
    if (values === undefined) {
      throw new TfewError(
        `adapter: ${dir} has no vector for ${spec.path}; it was made for another model or other target modules`,
      );
    }
    const shape = adapter.shapes.get(spec.path) ?? [values.length];
    const scaleInput = moduleMatches(spec.path, adapter.config.feedforwardModules);
    if (
      shape.length !== 2 ||
      shape[0] !== spec.shape[0] ||
      shape[1] !== spec.shape[1] ||
      scaleInput !== spec.scaleInput
    ) {
      throw new TfewError(
        `adapter: vector ${spec.path} in ${dir} is [${shape.join(", ")}] (${role(scaleInput)}) but this model and config need ` +
          `[${spec.shape.join(", ")}] (${role(spec.scaleInput)}); the adapter was made for another model or other adapter.feedforward_modules`,
      );
    }
  }
  if (adapter.values.size !== specs.length) {
    const extra = [...adapter.values.keys()].find((p) => !specs.some((s) => s.path === p));
    throw new TfewError(
      `adapter: ${dir} has a vector for ${extra ?? "?"} which this model does not have; the adapter was made for another model`,
    );
  }
}

function role(scaleInput: boolean): string {
  return scaleInput ? "input scaling, a feed-forward module" : "output scaling";
}
