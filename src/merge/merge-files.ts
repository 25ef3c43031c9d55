// `tfew merge` on folders: read PEFT IA3 adapters (and fisher.safetensors for --method fisher), merge them
// (merge.ts), write one PEFT IA3 adapter folder plus merge.json (the record PEFT's config cannot hold).
import { realpath, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { readAdapter, writeAdapterFiles } from "../adapters/peft-adapter.js";
import { TfewError } from "../errors.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { assertFreshOutDir, writeFolderAtomic } from "../io/out-dir.js";
import { FISHER_FILE, readFisherFile } from "./fisher-file.js";
import { FISHER_FLOOR, mergeAdapters, type MergeMethod, type MergeSource } from "./merge.js";

/** The merge record beside the merged adapter (PEFT versions before 0.14 reject unknown keys in adapter_config.json). */
export const MERGE_RECORD_FILE = "merge.json";

const FORMULAS: Record<MergeMethod, string> = {
  average: "θ = (1/n) Σ θᵢ",
  weighted: "θ = Σ wᵢ θᵢ / Σ wᵢ",
  fisher: "θ = Σ wᵢ max(Fᵢ, ε) θᵢ / Σ wᵢ max(Fᵢ, ε), element-wise",
};

export interface MergeFoldersOptions {
  adapterDirs: readonly string[];
  method: MergeMethod;
  weights?: readonly number[] | null;
  /** fisher: diagonals already computed (one per adapter, null = read that adapter's fisher.safetensors) */
  fishers?: readonly (ReadonlyMap<string, Float32Array> | null)[] | null;
  /** fisher: what merge.json records as each input's Fisher source (default: the file read, or "computed") */
  fisherRecords?: readonly (Record<string, unknown> | null)[] | null;
  outDir: string;
}

export interface MergeSummary {
  outDir: string;
  vectors: number;
  parameters: number;
  weights: number[]; // applied, normalized to sum 1
}

export async function mergeAdapterFolders(options: MergeFoldersOptions): Promise<MergeSummary> {
  await assertFreshOutDir(options.outDir, "merge");
  if (options.adapterDirs.length < 2)
    throw new TfewError(`merge: give at least two --adapter folders (got ${options.adapterDirs.length})`);
  const adapters = await readMergeSources(options.adapterDirs);
  const fisherSources: (string | Record<string, unknown> | null)[] = adapters.map(() => null);
  let fishers: ReadonlyMap<string, Float32Array>[] | null = null;
  if (options.method === "fisher") {
    fishers = [];
    for (const [i, adapter] of adapters.entries()) {
      const given = options.fishers?.[i] ?? null;
      const read = given ?? (await readFisherFile(adapter.dir));
      if (read === null) {
        throw new TfewError(
          `merge: ${adapter.dir} has no ${FISHER_FILE}; --method fisher needs each adapter's Fisher diagonal: give one --data per --adapter (its task's data) to compute it, or use --method average or weighted`,
        );
      }
      fisherSources[i] =
        options.fisherRecords?.[i] ?? (given === null ? resolve(adapter.dir, FISHER_FILE) : "computed");
      fishers.push(read);
    }
  }
  const { adapter, weights } = mergeAdapters({
    adapters,
    method: options.method,
    weights: options.weights ?? null,
    fishers,
  });
  const record = {
    tool: "tfew merge",
    method: options.method,
    formula: FORMULAS[options.method],
    ...(options.method === "fisher" ? { fisher_floor: FISHER_FLOOR } : {}),
    base_model: adapter.baseModel,
    inputs: adapters.map((a, i) => ({
      adapter: resolve(a.dir),
      weight: options.weights?.[i] ?? null, // as given on the command line
      applied_weight: weights[i], // normalized to sum 1
      ...(options.method === "fisher" ? { fisher: fisherSources[i] } : {}),
    })),
    created: new Date().toISOString(),
  };
  await writeFolderAtomic(options.outDir, "merge", async (dir) => {
    await writeAdapterFiles(dir, adapter);
    await writeJsonAtomic(join(dir, MERGE_RECORD_FILE), record);
  });
  const parameters = [...adapter.values.values()].reduce((n, v) => n + v.length, 0);
  return { outDir: options.outDir, vectors: adapter.values.size, parameters, weights };
}

/** Reads the adapter folders to merge (each must exist); base models named by local folders compare by real path. */
export async function readMergeSources(dirs: readonly string[]): Promise<MergeSource[]> {
  const adapters: MergeSource[] = [];
  for (const dir of dirs) {
    if (!(await stat(dir).catch(() => undefined))?.isDirectory())
      throw new TfewError(
        `merge: adapter folder ${dir} does not exist; give folders written by tfew train (run/adapter), tfew merge or PEFT`,
      );
    const adapter = await readAdapter(dir);
    adapters.push({ ...adapter, baseModelKey: await canonicalModel(adapter.baseModel), dir }); // recorded as given
  }
  return adapters;
}

/** A base model named by a local folder compares by its real path (relative and absolute spellings agree); hub ids as written. */
async function canonicalModel(name: string): Promise<string> {
  if (name === "") return name;
  const info = await stat(name).catch(() => undefined);
  return info?.isDirectory() ? realpath(name) : name;
}
