// Loads the gold tiny T5 (fixtures/hf-reference/t5-tiny-gated) and its case tensors for tests.
import { join } from "node:path";
import { readSafetensors } from "../../src/io/safetensors.js";
import type { TensorRecord } from "../../src/io/tensor-record.js";
import { readT5Config } from "../../src/model/config.js";
import type { T5Model } from "../../src/model/t5.js";
import { buildWeights } from "../../src/model/weights.js";
import { GOLD_MODEL_DIR } from "./shared.js";

export async function loadGoldModel(options: { keepUntransposed: boolean }): Promise<T5Model> {
  const config = await readT5Config(GOLD_MODEL_DIR);
  const { tensors } = await readSafetensors(join(GOLD_MODEL_DIR, "model.safetensors"));
  return {
    config,
    weights: buildWeights(config, tensors, { keepUntransposed: options.keepUntransposed, source: GOLD_MODEL_DIR }),
  };
}

export async function readCase(name: "forward" | "ia3" | "tfew" | "adafactor"): Promise<Map<string, TensorRecord>> {
  return (await readSafetensors(join(GOLD_MODEL_DIR, `${name}.safetensors`))).tensors;
}

export function caseTensor(tensors: Map<string, TensorRecord>, name: string): TensorRecord {
  const t = tensors.get(name);
  if (t === undefined) throw new Error(`fixture tensor ${name} missing`);
  return t;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}
