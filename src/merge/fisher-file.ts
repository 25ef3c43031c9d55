// fisher.safetensors beside an adapter: its diagonal Fisher, one F32 tensor per vector under the same
// names and shapes as adapter_model.safetensors (`base_model.model.<module>.ia3_l`), and in the header's
// metadata what it was computed from (fisher-merge.ts compares that before reusing the file).
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { peftModulePath, peftTensorName } from "../adapters/peft-adapter.js";
import { TfewError } from "../errors.js";
import { readSafetensors, writeSafetensors } from "../io/safetensors.js";

export const FISHER_FILE = "fisher.safetensors";

export interface FisherFile {
  values: Map<string, Float32Array>; // by module path
  metadata: Record<string, string>; // the safetensors "__metadata__" ({format: "pt"} at least)
}

/** The diagonal Fisher saved in `adapterDir` and its metadata; null when the folder has no fisher.safetensors. */
export async function readFisherRecord(adapterDir: string): Promise<FisherFile | null> {
  const file = join(adapterDir, FISHER_FILE);
  if ((await stat(file).catch(() => undefined)) === undefined) return null;
  const { tensors, metadata } = await readSafetensors(file);
  const values = new Map<string, Float32Array>();
  for (const [name, record] of tensors) {
    const path = peftModulePath(name);
    if (path === null || !(record.data instanceof Float32Array)) {
      throw new TfewError(
        `merge: tensor "${name}" in ${file} is not a Fisher diagonal of an IA3 vector (expected base_model.model.<module>.ia3_l, float)`,
      );
    }
    values.set(path, record.data);
  }
  return { values, metadata };
}

/** The diagonal Fisher saved in `adapterDir`, by module path; null when the folder has no fisher.safetensors. */
export async function readFisherFile(adapterDir: string): Promise<Map<string, Float32Array> | null> {
  return (await readFisherRecord(adapterDir))?.values ?? null;
}

/** Writes a diagonal Fisher beside its adapter, atomically (`shapes`: the vectors' PEFT shapes by module path). */
export async function writeFisherFile(
  adapterDir: string,
  fisher: ReadonlyMap<string, Float32Array>,
  shapes: ReadonlyMap<string, number[]>,
  metadata: Record<string, string> = {},
): Promise<void> {
  const tensors: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {};
  for (const [path, data] of fisher)
    tensors[peftTensorName(path)] = { dtype: "F32", shape: shapes.get(path) ?? [data.length, 1], data };
  await writeSafetensors(join(adapterDir, FISHER_FILE), tensors, { format: "pt", ...metadata });
}
