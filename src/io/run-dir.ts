// The run directory of `tfew train`: config.resolved.yaml, manifest.json (versions, inputs and their
// hashes), summary.json, metrics.jsonl (+ TensorBoard event files), checkpoint.safetensors and adapter/. Every file
// is written atomically (temp, fsync, rename) except the append logs (metrics.jsonl, events), which a resume trims.
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, stat, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { TfewError } from "../errors.js";
import { sha256File, writeFileAtomic, writeJsonAtomic } from "./atomic.js";

export const TFEW_VERSION = "0.1.0";

export function defaultRunDir(now = new Date()): string {
  return join("runs", now.toISOString().replace(/[:.]/g, "-").replace(/Z$/, "Z"));
}

/** Creates the folder (or checks an existing one is writable) — one clear error if it cannot be. */
export async function ensureRunDir(dir: string): Promise<string> {
  const full = resolve(dir);
  try {
    await makeDirs(full);
    await writeFileAtomic(join(full, ".write-test"), "");
    await unlink(join(full, ".write-test"));
  } catch (error) {
    if (error instanceof TfewError)
      throw new TfewError(`run folder ${full} cannot be written (${error.message}); choose another --out`);
    throw new TfewError(
      `run folder ${full} cannot be created (${(error as NodeJS.ErrnoException).code ?? String(error)}); choose another --out`,
    );
  }
  return full;
}

/** What marks a folder as a tfew run (any one of them). */
const RUN_MARKERS = ["config.resolved.yaml", "manifest.json", "checkpoint.safetensors", "adapter"];

/**
 * Checks, before anything is loaded or written, that a fresh run may use `dir`: absent or an empty folder.
 * A folder holding a run, or anything else, is refused (runs are never overwritten; resume them instead).
 */
export async function claimRunDir(dir: string): Promise<void> {
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

export async function readJson<T>(file: string): Promise<T> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as T;
  } catch (error) {
    throw new TfewError(
      `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); is this a tfew run folder?`,
    );
  }
}

/** A run whose training finished: summary.json says all `steps` ran and nothing stopped it, and its adapter exists. */
export async function finishedRun(
  dir: string,
  options: { steps: number },
): Promise<{ steps: number; adapterDir: string } | null> {
  let summary: { steps?: unknown; stopped_by?: unknown };
  try {
    summary = JSON.parse(await readFile(join(dir, "summary.json"), "utf8")) as typeof summary;
  } catch {
    return null; // no summary yet (killed or stopped before the end) or a damaged one: resume decides
  }
  if (
    typeof summary !== "object" ||
    summary === null ||
    summary.stopped_by !== null ||
    typeof summary.steps !== "number" ||
    summary.steps < options.steps
  )
    return null;
  const adapterDir = join(dir, "adapter");
  if (!(await hasAdapter(adapterDir))) return null;
  return { steps: summary.steps, adapterDir };
}

/** adapter/ holds the run's result: one PEFT adapter, a SMEAR adapter, or one adapter/<task>/ per task. */
async function hasAdapter(adapterDir: string): Promise<boolean> {
  const exists = async (path: string) => (await stat(path).catch(() => undefined)) !== undefined;
  if (
    (await exists(join(adapterDir, "adapter_model.safetensors"))) ||
    (await exists(join(adapterDir, "router_config.json")))
  )
    return true;
  const names = await readdir(adapterDir).catch(() => [] as string[]);
  for (const name of names) if (await exists(join(adapterDir, name, "adapter_model.safetensors"))) return true;
  return false;
}

/** Temp files of writeFileAtomic (`.<name>.tmp-<pid>-<hex>`) that a killed process left behind. */
const TEMP_FILE = /^\..+\.tmp-\d+-[0-9a-f]{12}$/;

/** Removes leftover temp files in a run folder and its adapter/ (call before resuming a killed run). */
export async function removeTempFiles(runDir: string): Promise<void> {
  for (const dir of [runDir, join(runDir, "adapter")]) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) if (TEMP_FILE.test(name)) await unlink(join(dir, name)).catch(() => undefined);
  }
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
