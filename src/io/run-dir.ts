// The run folder of `tfew train`, in one place: its file names and layout, whether a folder holds a run (and
// how far it got), and reading its JSON files. A run folder's life: claimed empty and locked (claimRunDir, while a
// process trains in it) → config.resolved.yaml (started: resumable, eval/score --run) → manifest.json,
// metrics.jsonl (+ TensorBoard event files) → checkpoint.safetensors → adapter/ → summary.json (finished). Every
// file is written atomically (temp, fsync, rename) except the append logs (metrics.jsonl, events), which a resume
// trims.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readdir, readFile, stat, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { TfewError } from "../errors.js";
import { sha256File, writeFileAtomic, writeJsonAtomic } from "./atomic.js";
import { inUseMessage, LOCK_FILE, lockHolder, lockRunDir, type RunLock } from "./run-lock.js";
import { parseTempName } from "./temp-files.js";

/** The files and folders of a run folder. */
export const RUN_FILES = {
  config: "config.resolved.yaml", // the resolved run config, written first
  manifest: "manifest.json", // versions, inputs and their hashes
  metrics: "metrics.jsonl", // one row per logged step (append log)
  checkpoint: "checkpoint.safetensors", // vectors, optimizer and sampler state: an exact resume
  adapter: "adapter", // the result (see adapterLayout)
  summary: "summary.json", // written last: steps, losses, speed, stopped_by
} as const;

/** A PEFT (IA)³ adapter folder (peft save_pretrained; adapter_model.bin: PEFT < 0.7's default, read, never written). */
export const PEFT_FILES = {
  weights: "adapter_model.safetensors",
  legacyWeights: "adapter_model.bin",
  config: "adapter_config.json",
} as const;

/** A SMEAR adapter folder: experts/<name>/ (PEFT folders), the routers, and router_config.json (written last). */
export const SMEAR_FILES = {
  experts: "experts",
  router: "router.safetensors",
  routerConfig: "router_config.json",
} as const;

export interface RunPaths {
  dir: string;
  config: string;
  manifest: string;
  metrics: string;
  checkpoint: string;
  adapter: string;
  summary: string;
}

export function runPaths(dir: string): RunPaths {
  const at = (name: string) => join(dir, name);
  return {
    dir,
    config: at(RUN_FILES.config),
    manifest: at(RUN_FILES.manifest),
    metrics: at(RUN_FILES.metrics),
    checkpoint: at(RUN_FILES.checkpoint),
    adapter: at(RUN_FILES.adapter),
    summary: at(RUN_FILES.summary),
  };
}

/** adapter_model.safetensors (or the older adapter_model.bin) and adapter_config.json of a PEFT adapter folder. */
export function peftFiles(adapterDir: string): { weights: string; legacyWeights: string; config: string } {
  const at = (name: string) => join(adapterDir, name);
  return {
    weights: at(PEFT_FILES.weights),
    legacyWeights: at(PEFT_FILES.legacyWeights),
    config: at(PEFT_FILES.config),
  };
}

/** The files of a SMEAR adapter folder; `expert(name)` is that expert's PEFT folder. */
export function smearFiles(adapterDir: string): {
  router: string;
  routerConfig: string;
  expert: (name: string) => string;
} {
  return {
    router: join(adapterDir, SMEAR_FILES.router),
    routerConfig: join(adapterDir, SMEAR_FILES.routerConfig),
    expert: (name) => join(adapterDir, SMEAR_FILES.experts, name),
  };
}

/** adapter/<task>/: one task's PEFT adapter in a multi-task run with adapter.routing: task. */
export function taskAdapterDir(runDir: string, task: string): string {
  return join(runDir, RUN_FILES.adapter, task);
}

/** What an adapter folder holds: one PEFT set, SMEAR experts + routers, or one PEFT folder per task. */
export type AdapterLayout = "set" | "smear" | "tasks";

/** The layout of an adapter folder from its files (SMEAR: router_config.json, written last); null when it holds none. */
export async function adapterLayout(dir: string): Promise<AdapterLayout | null> {
  if (await exists(smearFiles(dir).routerConfig)) return "smear";
  if (await hasPeftWeights(dir)) return "set";
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) if (await hasPeftWeights(join(dir, name))) return "tasks";
  return null;
}

async function hasPeftWeights(dir: string): Promise<boolean> {
  const files = peftFiles(dir);
  return (await exists(files.weights)) || (await exists(files.legacyWeights));
}

/** The run folder holding an adapter folder (a run's adapter/: config.resolved.yaml beside it), else null. */
export function runOfAdapter(adapterDir: string): string | null {
  const dir = dirname(resolve(adapterDir));
  return existsSync(runPaths(dir).config) ? dir : null;
}

export const TFEW_VERSION = "0.1.0";

export function defaultRunDir(now = new Date()): string {
  return join("runs", now.toISOString().replace(/[:.]/g, "-").replace(/Z$/, "Z"));
}

/** Creates the folder (or checks an existing one is writable) — one clear error if it cannot be. */
export async function ensureRunDir(dir: string): Promise<string> {
  const full = await createRunDir(dir);
  try {
    await writeFileAtomic(join(full, ".write-test"), "");
    await unlink(join(full, ".write-test"));
  } catch (error) {
    if (error instanceof TfewError)
      throw new TfewError(`run folder ${full} cannot be written (${error.message}); choose another --out`);
    throw cannotCreate(full, error);
  }
  return full;
}

/** Creates the folder and its parents (an existing one is fine); one clear error if it cannot be. */
async function createRunDir(dir: string): Promise<string> {
  const full = resolve(dir);
  await makeDirs(full).catch((error: unknown) => {
    throw cannotCreate(full, error);
  });
  return full;
}

function cannotCreate(full: string, error: unknown): TfewError {
  const code = (error as NodeJS.ErrnoException).code ?? String(error);
  return new TfewError(`run folder ${full} cannot be created (${code}); choose another --out`);
}

/** What marks a folder as holding a run (any one of them): a fresh run refuses it. */
const RUN_MARKERS = [RUN_FILES.config, RUN_FILES.manifest, RUN_FILES.checkpoint, RUN_FILES.adapter];

/** A run `tfew train` started: its config.resolved.yaml is there (it can be resumed, evaluated, scored). */
export function isStartedRun(dir: string): boolean {
  return existsSync(runPaths(dir).config);
}

/** A folder with a training log (metrics.jsonl): what `tfew report` draws as a run. */
export function hasMetricsLog(dir: string): boolean {
  return existsSync(runPaths(dir).metrics);
}

/**
 * Claims `dir` for a fresh run, before anything is loaded: it must be absent or empty (runs are never overwritten;
 * resume them instead) and not in use. The claim is its lock (run-lock.ts: created with O_EXCL), and the folder is
 * checked again under it, so of two runs started together on one folder exactly one gets it; the other fails
 * in one line and writes nothing into it. The caller releases the lock when the run ends.
 */
export async function claimRunDir(dir: string, options: { log: (line: string) => void }): Promise<RunLock> {
  await checkFreshRunDir(dir, { locked: false }); // touches nothing
  await createRunDir(dir);
  const lock = await lockRunDir(dir, { command: "train", log: options.log, advice: CLAIM_ADVICE });
  try {
    await checkFreshRunDir(dir, { locked: true }); // another run may have finished in it meanwhile
  } catch (error) {
    lock.release();
    throw error;
  }
  return lock;
}

const CLAIM_ADVICE = "wait for it to end, or give another --out folder";

async function checkFreshRunDir(dir: string, options: { locked: boolean }): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined) return;
  if (!info.isDirectory()) throw new TfewError(`train: out folder ${dir} is a file; give a new --out folder`);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw new TfewError(
      `train: out folder ${dir} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); give another --out folder`,
    );
  }
  const holder = options.locked ? null : lockHolder(dir);
  if (holder !== null) throw new TfewError(inUseMessage(dir, holder, join(dir, LOCK_FILE), CLAIM_ADVICE));
  names = names.filter((name) => !name.startsWith(LOCK_FILE)); // the lock (ours, or a stale one taken over)
  const marker = RUN_MARKERS.find((name) => names.includes(name));
  if (marker !== undefined) {
    throw new TfewError(
      `train: out folder ${dir} already holds a run (${marker}); continue it with \`tfew train --resume ${dir}\` or give a new --out folder`,
    );
  }
  if (names.length > 0) {
    throw new TfewError(
      `train: out folder ${dir} is not empty (${names.length} entr${names.length === 1 ? "y" : "ies"}, e.g. ${[...names].sort()[0]}) and holds no tfew run; give a new or empty --out folder`,
    );
  }
}

/**
 * `mkdir -p` by hand: Node 20's mkdir({ recursive: true }) never returns when the kernel answers ENOENT under an
 * existing parent (e.g. /proc/x); creating one level at a time turns that into an error.
 */
async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let at = dir; (await stat(at).catch(() => undefined)) === undefined && dirname(at) !== at; at = dirname(at))
    missing.unshift(at);
  for (const level of missing) {
    await mkdir(level).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw error;
    });
  }
}

export function sha256Text(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export async function hashFiles(files: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of files) out[f] = await sha256File(f);
  return out;
}

export async function writeJson(dir: string, name: string, value: unknown): Promise<void> {
  await writeJsonAtomic(join(dir, name), value);
}

/** A JSON file tfew wrote; one line naming it when it is missing or not JSON (`what` prefixes the message). */
export async function readJson<T>(file: string, options: { what?: string } = {}): Promise<T> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as T;
  } catch (error) {
    throw unreadable(file, error, options.what);
  }
}

/** readJson for the synchronous readers (tfew report). */
export function readJsonSync<T>(file: string, options: { what?: string } = {}): T {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch (error) {
    throw unreadable(file, error, options.what);
  }
}

/** A JSON file, or null when it is missing or damaged (state files, a killed writer's leftovers: the caller decides). */
export async function readJsonOrNull<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as T;
  } catch {
    return null;
  }
}

function unreadable(file: string, error: unknown, what: string | undefined): TfewError {
  const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new TfewError(
    `${what === undefined ? "" : `${what}: `}cannot read ${file} (${reason}); is it a file tfew wrote?`,
  );
}

/** The fields of summary.json that say whether and how a run ended. */
export interface RunEnd {
  steps: number;
  stopped_by: string | null;
}

/**
 * summary.json of a run whose training finished: nothing stopped it and its adapter (any layout) was written;
 * null when there is no summary yet (killed or stopped before the end), a damaged one, or no adapter.
 */
export async function finishedSummary<T extends RunEnd = RunEnd>(dir: string): Promise<T | null> {
  const summary = await readJsonOrNull<Partial<RunEnd>>(runPaths(dir).summary);
  if (
    typeof summary !== "object" ||
    summary === null ||
    summary.stopped_by !== null ||
    typeof summary.steps !== "number"
  )
    return null;
  return (await adapterLayout(runPaths(dir).adapter)) === null ? null : (summary as T);
}

/** A run whose training finished (finishedSummary) with all `steps`: resuming it does nothing. */
export async function finishedRun(
  dir: string,
  options: { steps: number },
): Promise<{ steps: number; adapterDir: string } | null> {
  const summary = await finishedSummary(dir);
  if (summary === null || summary.steps < options.steps) return null;
  return { steps: summary.steps, adapterDir: runPaths(dir).adapter };
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/** Removes leftover temp files in a run folder and anywhere under its adapter/ (call before resuming a killed run). */
export async function removeTempFiles(runDir: string): Promise<void> {
  const remove = async (dir: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (e.isFile() && parseTempName(e.name) !== null) await unlink(join(dir, e.name)).catch(() => undefined);
      else if (e.isDirectory() && depth > 0) await remove(join(dir, e.name), depth - 1);
    }
  };
  await remove(runDir, 0);
  await remove(runPaths(runDir).adapter, 2); // adapter/, adapter/<task>/, adapter/experts/<name>/
}

/**
 * Rewrites metrics.jsonl (atomically) with only its complete rows of steps <= keepThroughStep: a fresh run
 * (0) starts with an empty log; a resume drops the rows past its checkpoint and any line a kill cut short.
 */
export async function resetMetricsLog(path: string, options: { keepThroughStep: number }): Promise<void> {
  const text = options.keepThroughStep > 0 ? await readFile(path, "utf8").catch(() => "") : "";
  const kept = text.split("\n").filter((line) => {
    try {
      const step = (JSON.parse(line) as { step?: unknown }).step;
      return typeof step === "number" && step <= options.keepThroughStep;
    } catch {
      return false;
    }
  });
  await writeFileAtomic(path, kept.map((line) => `${line}\n`).join(""));
}
