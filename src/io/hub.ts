// Resolve --model (and RAFT data) to a local folder: an existing folder, or a Hugging Face hub repo found in
// or downloaded into the cache Python's huggingface_hub uses (<cache>/models--org--name/{blobs,snapshots,refs}).
import { stat, readFile, mkdir } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { TfewError } from "../errors.js";
import { writeFileAtomic } from "./atomic.js";
import { readShardIndex, WEIGHT_FILES } from "./checkpoint-dir.js";
import { checkModelType } from "./model-type.js";

/** @huggingface/hub, loaded only when something must be downloaded (a cached or local model never loads it). */
const hubLibrary = () => import("@huggingface/hub");

export interface HubOptions {
  /** hub cache folder; default hubCacheDir(env) */
  cacheDir?: string;
  /** never touch the network (also on when env HF_HUB_OFFLINE is 1/true/yes/on) */
  offline?: boolean;
  /** fetch used for every hub request (tests pass a fake) */
  fetch?: typeof fetch;
  /** branch, tag or 40-hex commit; default "main" */
  revision?: string;
  /** default https://huggingface.co */
  hubUrl?: string;
  /** environment to read HF_HUB_OFFLINE, HF_TOKEN and the cache variables from; default process.env */
  env?: NodeJS.ProcessEnv;
}

export interface ModelSource {
  dir: string;
  kind: "local" | "hub";
  repoId?: string;
  commit?: string;
}

/** Non-weight files fetched with a model; all optional except config.json. */
const MODEL_FILES = [
  "config.json",
  "generation_config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "spiece.model",
];
const COMMIT_SHA = /^[0-9a-f]{40}$/;
const EXAMPLE_ID = "google/t5-v1_1-small";

/** The hub cache, as huggingface_hub resolves it: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const get = (name: string): string | undefined => (env[name] === "" ? undefined : env[name]);
  const hubCache = get("HF_HUB_CACHE") ?? get("HUGGINGFACE_HUB_CACHE"); // the second is the legacy name
  if (hubCache !== undefined) return expandHome(hubCache);
  const hfHome = get("HF_HOME") ?? join(get("XDG_CACHE_HOME") ?? join(homedir(), ".cache"), "huggingface");
  return join(expandHome(hfHome), "hub");
}

/** Throw unless `id` is `org/name` or `name` made of [A-Za-z0-9._-], at most 96 characters. */
export function validateRepoId(id: string): string {
  const problem = repoIdProblem(id);
  if (problem !== undefined) {
    throw new TfewError(
      `invalid hub id ${JSON.stringify(id)}: ${problem}; expected "org/name" or "name" (e.g. ${EXAMPLE_ID})`,
    );
  }
  return id;
}

function repoIdProblem(id: string): string | undefined {
  if (id === "") return "it is empty";
  if (id.length > 96) return `it is ${id.length} characters long (at most 96)`;
  if (id.includes("\\")) return "it contains a backslash";
  if (id.startsWith("/")) return "it starts with '/' (an absolute path, which does not exist)";
  if (id.includes("..")) return "it contains '..'";
  const parts = id.split("/");
  if (parts.length > 2) return `it has ${parts.length} parts separated by '/' (at most 2)`;
  if (parts.some((p) => p === "")) return "it has an empty part";
  const bad = [...id].find((c) => !/[A-Za-z0-9._/-]/.test(c));
  if (bad !== undefined) return `it contains ${JSON.stringify(bad)} (allowed: letters, digits, '.', '_', '-')`;
  return undefined;
}

/**
 * A local model folder, or a hub model from the cache (no network) or downloaded into it; a config.json of
 * another family (model_type bert) is refused here, before any tokenizer or weights are read or downloaded.
 */
export async function resolveModelSource(modelOrPath: string, opts: HubOptions = {}): Promise<ModelSource> {
  const source = await locateModel(modelOrPath, opts);
  await checkModelType(source.dir);
  return source;
}

async function locateModel(modelOrPath: string, opts: HubOptions): Promise<ModelSource> {
  const local = expandHome(modelOrPath);
  const info = await stat(local).catch(() => undefined);
  if (info?.isDirectory()) return { dir: resolve(local), kind: "local" };
  if (info !== undefined) {
    throw new TfewError(
      `model ${modelOrPath} is a file, not a folder; point --model at the folder that holds config.json and the weights`,
    );
  }
  if (/^(\.{1,2}|~)?\//.test(modelOrPath) || modelOrPath === "." || modelOrPath === ".." || modelOrPath === "~") {
    throw new TfewError(
      `model folder ${modelOrPath} does not exist${isAbsolute(local) ? "" : ` (relative to the current folder ${process.cwd()})`}; ` +
        `fix the path, or give a hub id such as ${EXAMPLE_ID}`,
    );
  }
  const repoId = validateRepoId(modelOrPath);
  const { revision, cacheDir, storage } = cacheLocation("model", repoId, opts);
  const cached = await cachedSnapshot(storage, revision, hasModelFiles);
  if (cached !== undefined) return { dir: cached.dir, kind: "hub", repoId, commit: cached.commit };
  const offline = offlineReason(opts);
  if (offline !== undefined) {
    throw new TfewError(
      `model ${repoId} is not in the HF cache at ${cacheDir} and ${offline}; download it once with network ` +
        `(tfew or huggingface-cli download ${repoId}) or point --model at a local folder`,
    );
  }
  return withHubErrors(`model ${repoId}`, revision, async () => {
    const hub = hubParams(opts);
    const { downloadFileToCacheDir, modelInfo } = await hubLibrary();
    const meta = await modelInfo({ ...hub, name: repoId, revision, additionalFields: ["sha", "filePaths"] });
    const commit = checkedSha(meta.sha, repoId);
    const available = new Set(meta.filePaths);
    const get = (path: string): Promise<string> =>
      downloadFileToCacheDir({ ...hub, repo: { type: "model", name: repoId }, path, revision: commit, cacheDir });
    if (!available.has("config.json")) {
      throw new TfewError(
        `hub model ${repoId} (revision ${revision}) has no config.json; check the id: tfew needs a transformers T5 checkpoint`,
      );
    }
    for (const name of MODEL_FILES) if (available.has(name)) await get(name);
    await checkModelType(join(storage, "snapshots", commit)); // before the weights: a BERT repo is not downloaded
    const weights = WEIGHT_FILES.find((name) => available.has(name));
    if (weights === undefined) {
      throw new TfewError(
        `hub model ${repoId} (revision ${revision}) has none of ${WEIGHT_FILES.join(", ")}; choose a repo with transformers weights`,
      );
    }
    const weightsPath = await get(weights);
    if (weights.endsWith(".index.json")) {
      for (const shard of (await readShardIndex(weightsPath)).shards) {
        if (!available.has(shard))
          throw new TfewError(
            `hub model ${repoId}: shard ${shard} named in ${weights} is not in the repo; report it to the repo owner`,
          );
        await get(shard);
      }
    }
    await writeRef(storage, revision, commit);
    return { dir: join(storage, "snapshots", commit), kind: "hub", repoId, commit };
  });
}

/**
 * Files of a hub dataset repo (cache folder datasets--org--name), from the cache or downloaded. For RAFT
 * (`raft:<task>`) use raftHubFiles(task); the task descriptions (task.json in shared/data/raft) are not files
 * on the hub (ought/raft keeps them in its raft.py loading script), so they cannot be fetched here.
 */
export async function resolveDatasetFiles(
  repoId: string,
  files: string[],
  opts: HubOptions = {},
): Promise<{ dir: string; commit?: string }> {
  validateRepoId(repoId);
  for (const file of files) {
    if (file === "" || file.startsWith("/") || file.includes("\\") || file.split("/").includes("..")) {
      throw new TfewError(
        `dataset ${repoId}: file name ${JSON.stringify(file)} must be a relative path inside the repo; this is a bug in the caller`,
      );
    }
  }
  const { revision, cacheDir, storage } = cacheLocation("dataset", repoId, opts);
  const cached = await cachedSnapshot(storage, revision, async (dir) =>
    (await Promise.all(files.map((f) => isFile(join(dir, f))))).every(Boolean),
  );
  if (cached !== undefined) return cached;
  const offline = offlineReason(opts);
  if (offline !== undefined) {
    throw new TfewError(
      `dataset ${repoId} (${files.join(", ")}) is not in the HF cache at ${cacheDir} and ${offline}; download it once with network ` +
        `(tfew or huggingface-cli download --repo-type dataset ${repoId}) or use a local data folder`,
    );
  }
  return withHubErrors(`dataset ${repoId}`, revision, async () => {
    const hub = hubParams(opts);
    const { datasetInfo, downloadFileToCacheDir } = await hubLibrary();
    const commit = checkedSha(
      (await datasetInfo({ ...hub, name: repoId, revision, additionalFields: ["sha"] })).sha,
      repoId,
    );
    for (const path of files) {
      try {
        await downloadFileToCacheDir({
          ...hub,
          repo: { type: "dataset", name: repoId },
          path,
          revision: commit,
          cacheDir,
        });
      } catch (error) {
        // a missing path comes back as an empty paths-info answer, which the library reports like this
        if (error instanceof Error && error.message.startsWith("cannot get path info")) {
          throw new TfewError(
            `file ${path} is not in hub dataset ${repoId} at revision ${revision}; check the task name`,
            { cause: error },
          );
        }
        throw error;
      }
    }
    await writeRef(storage, revision, commit);
    return { dir: join(storage, "snapshots", commit), commit };
  });
}

/** The RAFT files of one task in the ought/raft dataset repo. */
export const RAFT_REPO = "ought/raft";
export function raftHubFiles(task: string): string[] {
  return [`data/${task}/train.csv`, `data/${task}/test_unlabeled.csv`];
}

function cacheLocation(
  type: "model" | "dataset",
  repoId: string,
  opts: HubOptions,
): { revision: string; cacheDir: string; storage: string } {
  const revision = opts.revision ?? "main";
  if (revision === "" || revision.startsWith("/") || revision.includes("\\") || revision.split("/").includes("..")) {
    throw new TfewError(
      `invalid revision ${JSON.stringify(revision)} for ${repoId}: expected a branch, tag or commit sha (e.g. main)`,
    );
  }
  const cacheDir = opts.cacheDir ?? hubCacheDir(opts.env);
  return { revision, cacheDir, storage: join(cacheDir, `${type}s--${repoId.split("/").join("--")}`) };
}

/** The snapshot a ref (or a commit sha) points to, if `complete` says it holds what we need. */
async function cachedSnapshot(
  storage: string,
  revision: string,
  complete: (dir: string) => Promise<boolean>,
): Promise<{ dir: string; commit: string } | undefined> {
  const ref = COMMIT_SHA.test(revision)
    ? revision
    : await readFile(join(storage, "refs", revision), "utf8").catch(() => "");
  const commit = ref.trim();
  if (!COMMIT_SHA.test(commit)) return undefined;
  const dir = join(storage, "snapshots", commit);
  return (await complete(dir)) ? { dir, commit } : undefined;
}

/** config.json plus a complete set of weights (every shard of an index present). */
async function hasModelFiles(dir: string): Promise<boolean> {
  if (!(await isFile(join(dir, "config.json")))) return false;
  for (const name of WEIGHT_FILES) {
    const path = join(dir, name);
    if (!(await isFile(path))) continue;
    if (!name.endsWith(".index.json")) return true;
    const { shards } = await readShardIndex(path);
    if ((await Promise.all(shards.map((s) => isFile(join(dir, s))))).every(Boolean)) return true;
  }
  return false;
}

/** Python's hf_hub_download records refs/<revision> = sha; downloadFileToCacheDir does not, so we do. */
async function writeRef(storage: string, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const path = join(storage, "refs", revision);
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, commit);
}

function offlineReason(opts: HubOptions): string | undefined {
  const flag = (opts.env ?? process.env).HF_HUB_OFFLINE;
  if (flag !== undefined && ["1", "true", "yes", "on"].includes(flag.toLowerCase())) return "HF_HUB_OFFLINE=1 is set";
  return opts.offline === true ? "offline mode is on" : undefined;
}

function hubParams(opts: HubOptions): { fetch?: typeof fetch; hubUrl?: string; accessToken?: string } {
  const env = opts.env ?? process.env;
  const token = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined; // gated/private repos
  return { fetch: opts.fetch, hubUrl: opts.hubUrl, accessToken: token };
}

function checkedSha(sha: unknown, repoId: string): string {
  if (typeof sha !== "string" || !COMMIT_SHA.test(sha)) {
    throw new TfewError(
      `the hub answered without a commit sha for ${repoId} (got ${JSON.stringify(sha)}); retry later or use a local folder`,
    );
  }
  return sha;
}

/** Turn library and network errors into one-line TfewErrors. */
async function withHubErrors<T>(what: string, revision: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof TfewError) throw error;
    const { HubApiError } = await hubLibrary();
    if (error instanceof HubApiError && [401, 403, 404].includes(error.statusCode)) {
      throw new TfewError(
        `the hub answered HTTP ${error.statusCode} for ${what} (revision ${revision}): it does not exist, or it is private or gated ` +
          `(accept its terms on huggingface.co and set HF_TOKEN); check the id`,
        { cause: error },
      );
    }
    throw new TfewError(
      `could not reach the hub to download ${what}: ${reason(error)}; check network or set HF_HUB_OFFLINE=1 with a cached copy`,
      {
        cause: error,
      },
    );
  }
}

function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return `${message}${typeof code === "string" ? ` (${code})` : ""}`.replace(/\s+/g, " ").trim();
}

function expandHome(path: string): string {
  return path === "~" || path.startsWith("~/") ? join(homedir(), path.slice(1)) : path;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}
