// `hf:<org>/<dataset>[/<config>]`: a Hugging Face dataset's Parquet files from the HF cache (io/hub-parquet.ts);
// the train split is the training data, the test split (else validation) the test data; shards are concatenated.
import { resolve } from "node:path";
import { TfewError } from "../errors.js";
import type { CachedParquet } from "../io/hub-parquet.js";
import { readTable } from "./sources.js";
import type { Table } from "./table.js";
import { taskFromTables, type TabularOptions } from "./tabular.js";
import type { TaskData } from "./task-types.js";

export const HF_PREFIX = "hf:";

/** Finds a dataset config's cached Parquet files (default: io/hub-parquet.ts findCachedParquet on the HF cache). */
export type FindParquet = (repoId: string, config: string | undefined) => Promise<CachedParquet>;

/** `org/dataset[/config]` (or a bare canonical `dataset`) → repo id and config. */
export function parseHfId(id: string): { repoId: string; config: string | undefined } {
  const parts = id.split("/");
  if (parts.length > 3 || parts.some((p) => p === "")) {
    throw new TfewError(`data path hf:${id} is not hf:<org>/<dataset>[/<config>]; e.g. hf:SetFit/sst2 or hf:nyu-mll/glue/sst2`);
  }
  return parts.length === 3 ? { repoId: `${parts[0]}/${parts[1]}`, config: parts[2] } : { repoId: parts.join("/"), config: undefined };
}

/** One table from a split's shards (same columns in each); rows are numbered across the shards. */
async function readSplit(label: string, files: string[]): Promise<Table> {
  const { readParquet } = await import("./parquet.js"); // hyparquet loads only for this format
  const tables = await Promise.all(files.map((f) => readParquet(f)));
  const first = tables[0] as Table;
  if (tables.length === 1) return first;
  for (const t of tables) {
    if (t.columns.join("\u0000") !== first.columns.join("\u0000")) {
      throw new TfewError(`${t.file} has columns ${JSON.stringify(t.columns)} but ${first.file} has ${JSON.stringify(first.columns)}; the cached conversion is inconsistent: download it again`);
    }
  }
  const rows = tables.flatMap((t) => t.rows).map((r, i) => ({ ...r, row: i + 1 }));
  return { ...first, file: `${label} (${files.length} Parquet files)`, rows };
}

export async function loadHfTask(id: string, find: FindParquet, options: TabularOptions = {}): Promise<TaskData> {
  const { repoId, config } = parseHfId(id);
  const cached = await find(repoId, config);
  const name = `hf:${repoId}/${cached.config}`;
  const trainFiles = cached.splits.train;
  if (trainFiles === undefined) {
    throw new TfewError(`${name} has no train split in the HF cache (splits: ${Object.keys(cached.splits).join(", ")}); tfew trains on the train split`);
  }
  const train = await readSplit(`${name} train split`, trainFiles);
  // data.test_path (any task-file format) replaces the dataset's own test split
  if (options.testPath !== undefined) {
    const testFile = resolve(options.testPath);
    const test = await readTable(testFile, "test file", { labelField: options.labelField ?? "Label", idField: options.idField });
    return taskFromTables({ name: repoId.split("/").at(-1) as string, train, test, files: [...trainFiles, testFile] }, options);
  }
  const testSplit = ["test", "validation"].find((s) => cached.splits[s] !== undefined);
  const testFiles = testSplit === undefined ? [] : (cached.splits[testSplit] as string[]);
  const test = testSplit === undefined ? undefined : await readSplit(`${name} ${testSplit} split`, testFiles);
  return taskFromTables({ name: repoId.split("/").at(-1) as string, train, test, files: [...trainFiles, ...testFiles] }, options);
}
