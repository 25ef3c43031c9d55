// A hub dataset's Parquet files in the standard HF cache (datasets--org--name/{refs,snapshots}): the hub's Parquet
// conversion (revision refs/convert/parquet: <config>/<split>/0000.parquet, cached under refs/refs/convert/parquet
// as huggingface_hub writes it), else Parquet files on main (data/<split>-00000-of-00001.parquet). Never downloads.
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { TfewError } from "../errors.js";
import { hubCacheDir, validateRepoId } from "./hub.js";

export const PARQUET_REVISION = "refs/convert/parquet";

export interface CachedParquet {
  repoId: string;
  revision: string;
  commit: string;
  config: string;
  /** Split name → absolute paths of its Parquet shards, in shard order. */
  splits: Record<string, string[]>;
}

export interface FindParquetOptions {
  config?: string;
  /** Default: hubCacheDir(env). */
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
}

const COMMIT_SHA = /^[0-9a-f]{40}$/;

/** Relative paths of the files under dir (snapshot entries are symlinks into blobs/, so stat follows them). */
async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const names = await readdir(join(dir, prefix)).catch(() => [] as string[]);
  const out: string[] = [];
  for (const name of names.sort()) {
    const rel = prefix === "" ? name : `${prefix}/${name}`;
    const info = await stat(join(dir, rel)).catch(() => undefined);
    if (info?.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (info?.isFile()) out.push(rel);
  }
  return out;
}

/** Config and split of a Parquet path: <config>/<split>/NNNN.parquet (conversion), or [<config>/|data/]<split>-....parquet. */
export function parquetSplit(path: string, revision: string): { config: string; split: string } | undefined {
  const parts = path.split("/");
  const file = parts.at(-1) ?? "";
  if (!file.endsWith(".parquet")) return undefined;
  if (revision === PARQUET_REVISION) {
    if (parts.length !== 3) return undefined;
    return { config: parts[0] as string, split: (parts[1] as string).replace(/^partial-/, "") };
  }
  const split = /^([A-Za-z0-9_]+?)(?:[-.]|$)/.exec(file.replace(/\.parquet$/, ""))?.[1];
  if (split === undefined) return undefined;
  return { config: parts.length >= 2 && parts[0] !== "data" ? (parts[0] as string) : "default", split };
}

async function snapshotOf(storage: string, revision: string): Promise<{ commit: string; dir: string } | undefined> {
  const commit = (await readFile(join(storage, "refs", revision), "utf8").catch(() => "")).trim();
  return COMMIT_SHA.test(commit) ? { commit, dir: join(storage, "snapshots", commit) } : undefined;
}

function downloadHint(repoId: string, config: string | undefined): string {
  const include = config === undefined ? "" : ` --include "${config}/*"`;
  return `huggingface-cli download ${repoId} --repo-type dataset --revision ${PARQUET_REVISION}${include}`;
}

/** Groups a snapshot's Parquet files by config and split. */
async function cachedConfigs(dir: string, revision: string): Promise<Map<string, Record<string, string[]>>> {
  const configs = new Map<string, Record<string, string[]>>();
  for (const rel of await listFiles(dir)) {
    const at = parquetSplit(rel, revision);
    if (at === undefined) continue;
    const splits = configs.get(at.config) ?? {};
    (splits[at.split] ??= []).push(join(dir, rel));
    configs.set(at.config, splits);
  }
  return configs;
}

/** The cached Parquet files of a dataset config; one TfewError naming the download command when they are absent. */
export async function findCachedParquet(repoId: string, options: FindParquetOptions = {}): Promise<CachedParquet> {
  validateRepoId(repoId);
  const cacheDir = options.cacheDir ?? hubCacheDir(options.env);
  const storage = join(cacheDir, `datasets--${repoId.split("/").join("--")}`);
  for (const revision of [PARQUET_REVISION, "main"]) {
    const snapshot = await snapshotOf(storage, revision);
    if (snapshot === undefined) continue;
    const configs = await cachedConfigs(snapshot.dir, revision);
    if (configs.size === 0) continue;
    const names = [...configs.keys()];
    const config = options.config ?? (configs.has("default") ? "default" : names.length === 1 ? names[0] : undefined);
    if (config === undefined) {
      throw new TfewError(
        `hf:${repoId} has several configs in the HF cache (${names.join(", ")}); name one: hf:${repoId}/<config>`,
      );
    }
    const splits = configs.get(config);
    if (splits === undefined) {
      throw new TfewError(
        `hf:${repoId} has no config "${config}" in the HF cache at ${cacheDir} (cached: ${names.join(", ")}); use one of those, or download it: ${downloadHint(repoId, config)}`,
      );
    }
    return { repoId, revision, commit: snapshot.commit, config, splits };
  }
  throw new TfewError(
    `dataset ${repoId} has no Parquet files in the HF cache at ${cacheDir}; download them once with: ${downloadHint(repoId, options.config)} (or give a local .parquet/.arrow file)`,
  );
}
