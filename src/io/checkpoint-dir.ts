// Read all weights of a model folder: model.safetensors, a sharded model.safetensors.index.json, or the
// PyTorch pickles pytorch_model.bin(.index.json). Mirrors the lookup order of transformers' from_pretrained.
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { TfewError } from "../errors.js";
import { readSafetensors } from "./safetensors.js";
import type { TensorRecord } from "./tensor-record.js";

export interface CheckpointContents {
  /** every tensor of every weight file, by its name in the file */
  tensors: Map<string, TensorRecord>;
  /** absolute paths of the weight files read (shards in index order; the index itself is not listed) */
  files: string[];
}

/** Sees each safetensors record as it is read; returns what to keep (see readSafetensors). */
export type OnTensor = (name: string, record: TensorRecord) => TensorRecord;

type ReadWeights = (path: string, onTensor?: OnTensor) => Promise<Map<string, TensorRecord>>;

const readSafetensorsTensors: ReadWeights = async (path, onTensor) =>
  (await readSafetensors(path, onTensor ? { onTensor } : {})).tensors;
/** The PyTorch pickle reader is loaded only when a folder has no safetensors weights. */
const readTorchCheckpoint: ReadWeights = async (path) => (await import("./torch-pickle.js")).readTorchCheckpoint(path);

/** The weight files looked for, in order of preference (as transformers does: safetensors first). */
export const WEIGHT_FILES = [
  "model.safetensors",
  "model.safetensors.index.json",
  "pytorch_model.bin",
  "pytorch_model.bin.index.json",
] as const;

export async function readCheckpointDir(
  dir: string,
  options: { onTensor?: OnTensor } = {},
): Promise<CheckpointContents> {
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined || !info.isDirectory()) {
    throw new TfewError(
      `checkpoint: model folder ${dir} does not exist or is not a folder; point --model at the folder holding config.json and the weights`,
    );
  }
  const [single, index, bin, binIndex] = WEIGHT_FILES.map((name) => join(dir, name)) as [
    string,
    string,
    string,
    string,
  ];
  const onTensor = options.onTensor;
  if (await isFile(single)) return { tensors: await readSafetensorsTensors(single, onTensor), files: [single] };
  if (await isFile(index)) return readSharded(dir, index, (path) => readSafetensorsTensors(path, onTensor));
  if (await isFile(bin)) return { tensors: await readTorchCheckpoint(bin), files: [bin] };
  if (await isFile(binIndex)) return readSharded(dir, binIndex, readTorchCheckpoint);
  throw new TfewError(
    `checkpoint: no weights in ${dir} (looked for ${WEIGHT_FILES.join(", ")}); download the model's weights into that folder or point --model elsewhere`,
  );
}

/** Shard file names of an index.json, in first-mention order (validated: plain names inside the folder). */
export async function readShardIndex(indexPath: string): Promise<{ weightMap: Map<string, string>; shards: string[] }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(indexPath, "utf8"));
  } catch (error) {
    throw new TfewError(
      `checkpoint: cannot read ${indexPath} as JSON (${oneLine(error)}); re-download the checkpoint`,
      { cause: error },
    );
  }
  const weightMap = (parsed as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
    throw new TfewError(`checkpoint: ${indexPath} has no "weight_map" object; re-download the checkpoint`);
  }
  const map = new Map<string, string>();
  for (const [key, shard] of Object.entries(weightMap)) {
    if (typeof shard !== "string" || shard === "" || /[/\\]/.test(shard) || shard === "." || shard === "..") {
      throw new TfewError(
        `checkpoint: ${indexPath} maps tensor ${JSON.stringify(key)} to ${JSON.stringify(shard)}, not a file name in the same folder; re-download the checkpoint`,
      );
    }
    map.set(key, shard);
  }
  return { weightMap: map, shards: [...new Set(map.values())] };
}

async function readSharded(dir: string, indexPath: string, read: ReadWeights): Promise<CheckpointContents> {
  const { weightMap, shards } = await readShardIndex(indexPath);
  if (shards.length === 0)
    throw new TfewError(`checkpoint: ${indexPath} has an empty "weight_map"; re-download the checkpoint`);
  const tensors = new Map<string, TensorRecord>();
  const owner = new Map<string, string>();
  const files: string[] = [];
  for (const shard of shards) {
    const path = join(dir, shard);
    if (!(await isFile(path))) {
      throw new TfewError(
        `checkpoint: shard ${shard} listed in ${indexPath} is missing from ${dir}; re-download the checkpoint`,
      );
    }
    for (const [name, tensor] of await read(path)) {
      const first = owner.get(name);
      if (first !== undefined) {
        throw new TfewError(
          `checkpoint: tensor ${JSON.stringify(name)} is in both ${first} and ${shard} (index ${indexPath}); re-download the checkpoint`,
        );
      }
      owner.set(name, shard);
      tensors.set(name, tensor);
    }
    files.push(path);
  }
  for (const [key, shard] of weightMap) {
    if (owner.get(key) !== shard) {
      throw new TfewError(
        `checkpoint: ${indexPath} maps tensor ${JSON.stringify(key)} to ${shard}, but ${shard} does not contain it; re-download the checkpoint`,
      );
    }
  }
  return { tensors, files };
}

async function isFile(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return info?.isFile() ?? false;
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ").trim();
}
