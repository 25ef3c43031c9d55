// The run directory of `tfew train`: config.resolved.yaml, manifest.json (versions, inputs and their
// hashes), summary.json, metrics.jsonl (+ TensorBoard event files), checkpoint.safetensors and adapter/. Every file
// is written atomically (temp, fsync, rename) except the append logs (metrics.jsonl, events), which a resume trims.
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, stat, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { TfewError } from "../errors.js";
import { sha256File, writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";
import { trimEventFiles } from "./run-events.js";

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
    if (error instanceof TfewError) throw new TfewError(`run folder ${full} cannot be written (${error.message}); choose another --out`);
    throw new TfewError(`run folder ${full} cannot be created (${(error as NodeJS.ErrnoException).code ?? String(error)}); choose another --out`);
  }
  return full;
}

/**
 * `mkdir -p` by hand: Node 20's mkdir({ recursive: true }) never returns when the kernel answers ENOENT under an
 * existing parent (e.g. /proc/x); creating one level at a time turns that into an error.
 */
async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let at = dir; (await stat(at).catch(() => undefined)) === undefined && dirname(at) !== at; at = dirname(at)) missing.unshift(at);
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
    throw new TfewError(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); is this a tfew run folder?`);
  }
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
 * The TensorBoard event files in the same folder are trimmed the same way.
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
  await trimEventFiles(dirname(path), options);
}
