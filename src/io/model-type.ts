// The model families tfew runs (config.json's model_type, as transformers names them) and the early check
// that a model folder holds one, made before its tokenizer or weights are read (a BERT folder says so first).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { TfewError } from "../errors.js";

/** transformers' model_type of the checkpoints tfew runs: T5, T5 v1.1, Flan-T5, T0 (t5) and mT5 (mt5). */
export const T5_FAMILY_TYPES = ["t5", "mt5"] as const;
export type T5ModelType = (typeof T5_FAMILY_TYPES)[number];

export function isT5ModelType(modelType: string): modelType is T5ModelType {
  return (T5_FAMILY_TYPES as readonly string[]).includes(modelType);
}

/** The one message for a config.json of another family (e.g. model_type bert). */
export function notT5FamilyError(modelType: string, file: string): TfewError {
  return new TfewError(
    `model: model_type ${modelType} is not a T5-family model (tfew runs model_type ${T5_FAMILY_TYPES.join(" or ")}: T5, Flan-T5, T0, mT5; read from ${file}); set model (--model) to a T5-family checkpoint`,
  );
}

/**
 * Throws notT5FamilyError when `dir`/config.json names a model_type outside the T5 family. Anything else
 * (no file, bad JSON, no model_type) is left to the full config check (model/config.ts), which says what is wrong.
 */
export async function checkModelType(dir: string): Promise<void> {
  const file = join(dir, "config.json");
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch {
    return;
  }
  const modelType = typeof raw === "object" && raw !== null ? (raw as { model_type?: unknown }).model_type : undefined;
  if (typeof modelType === "string" && !isT5ModelType(modelType)) throw notT5FamilyError(modelType, file);
}
