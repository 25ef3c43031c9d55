// SMEAR adapters on disk: experts/<name>/ (each a PEFT IA3 folder), router.safetensors (per block
// "<block>.weight" [dModel, experts] and "<block>.bias" [experts]) and router_config.json (what routes on what).
import { readFile } from "node:fs/promises";
import { readPacked } from "../backend/reads.js";
import { TfewError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { adapterLayout, peftFiles, readJson, smearFiles } from "../io/run-dir.js";
import { readSafetensors, writeSafetensors } from "../io/safetensors.js";
import type { T5Weights } from "../model/weights.js";
import type { Ia3Config } from "./ia3-config.js";
import { ia3Specs, linearModules } from "./ia3.js";
import { checkAdapterFits, readAdapter, recordedBaseModel, saveAdapter } from "./peft-adapter.js";
import { blockNames, createSmear, type SmearAdapter } from "./smear.js";

export async function saveSmear(dir: string, adapter: SmearAdapter, options: { baseModel: string }): Promise<void> {
  const files = smearFiles(dir);
  for (const expert of adapter.experts) await saveAdapter(files.expert(expert.name), expert, options);
  const tensors: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {};
  const routers = [...adapter.routers];
  const values = await readPacked(routers.flatMap(([, r]) => [r.weight, r.bias])); // one device read
  routers.forEach(([block, r], i) => {
    tensors[`${block}.weight`] = { dtype: "F32", shape: r.weight.shape, data: values[2 * i] as Float32Array };
    tensors[`${block}.bias`] = { dtype: "F32", shape: r.bias.shape, data: values[2 * i + 1] as Float32Array };
  });
  await writeSafetensors(files.router, tensors, { format: "tfew-smear-router-1" });
  const config = {
    type: "smear",
    base_model_name_or_path: recordedBaseModel(options.baseModel),
    experts: adapter.experts.map((e) => e.name),
    d_model: adapter.dModel,
    router:
      "per block: softmax(mean(h)·weight + bias) over experts; h = the block's input (encoder blocks) or the encoder output (decoder blocks), mean over real tokens",
  };
  await writeFileAtomic(files.routerConfig, JSON.stringify(config, null, 2)); // last: marks the adapter complete
}

/** router_config.json's experts, checked: at least one name. */
async function expertNames(dir: string): Promise<string[]> {
  const file = smearFiles(dir).routerConfig;
  const raw = await readJson<{ experts?: unknown }>(file, { what: "adapter" });
  if (!Array.isArray(raw.experts) || raw.experts.length < 1 || typeof raw.experts[0] !== "string")
    throw new TfewError(
      `adapter: ${file} lists no experts; point at a folder written by tfew train with adapter.routing: smear`,
    );
  return raw.experts as string[];
}

/**
 * The base model an adapter folder records (PEFT's adapter_config.json, or a SMEAR folder's router_config.json);
 * null when it names none. One clear line when the folder holds neither file.
 */
export async function adapterBaseModel(dir: string): Promise<string | null> {
  const file = (await adapterLayout(dir)) === "smear" ? smearFiles(dir).routerConfig : peftFiles(dir).config;
  const text = await readFile(file, "utf8").catch(() => {
    throw new TfewError(
      `adapter: ${dir} has no adapter_config.json (nor router_config.json); give an adapter folder written by tfew train, tfew merge or PEFT`,
    );
  });
  const raw = JSON.parse(text) as { base_model_name_or_path?: unknown };
  return typeof raw.base_model_name_or_path === "string" && raw.base_model_name_or_path !== ""
    ? raw.base_model_name_or_path
    : null;
}

/** The first expert's folder in router_config.json (whose adapter_config gives the target modules). */
export async function firstExpertDir(dir: string): Promise<string> {
  return smearFiles(dir).expert((await expertNames(dir))[0] as string);
}

/** Expert folders read and checked against this model: a folder for another model is one clear line. */
export async function readExperts(
  dirs: readonly string[],
  weights: T5Weights,
  config: Ia3Config,
): Promise<{ name: string; initial: Map<string, Float32Array> }[]> {
  const specs = ia3Specs(linearModules(weights), config);
  const out: { name: string; initial: Map<string, Float32Array> }[] = [];
  for (const [i, dir] of dirs.entries()) {
    const adapter = await readAdapter(dir);
    try {
      checkAdapterFits(adapter, specs, dir);
    } catch (error) {
      throw new TfewError(
        `SMEAR expert ${dir} does not fit this model: ${(error as Error).message.replace(/^adapter: /, "")} (adapter.experts lists adapters trained on this model)`,
      );
    }
    out.push({ name: `expert${i}`, initial: adapter.values });
  }
  return out;
}

/** Loads a saved SMEAR adapter onto a model. */
export async function loadSmear(dir: string, weights: T5Weights, config: Ia3Config): Promise<SmearAdapter> {
  const files = smearFiles(dir);
  const names = await expertNames(dir);
  const experts = await readExperts(names.map(files.expert), weights, config);
  const { tensors } = await readSafetensors(files.router);
  const values = new Map<string, Float32Array>();
  for (const block of blockNames(weights)) {
    for (const field of ["weight", "bias"]) {
      const record = tensors.get(`${block}.${field}`);
      if (record === undefined)
        throw new TfewError(`adapter: ${files.router} has no ${block}.${field}; the router was made for another model`);
      values.set(`${block}.${field}`, record.data as Float32Array);
    }
  }
  const dModel = weights.shared.shape[1] as number;
  const bad = [...values].find(
    ([key, v]) => v.length !== (key.endsWith(".weight") ? dModel * names.length : names.length),
  );
  if (bad)
    throw new TfewError(
      `adapter: router ${bad[0]} in ${dir} has ${bad[1].length} values, this model needs ${bad[0].endsWith(".weight") ? dModel * names.length : names.length}; the router was made for another model`,
    );
  return createSmear(
    weights,
    config,
    experts.map((e, i) => ({ name: names[i] as string, initial: e.initial })),
    values,
  );
}
