// The run directory of `tfew train`: config.resolved.yaml, manifest.json (versions, inputs and their
// hashes), summary.json, metrics.jsonl, checkpoint.safetensors and adapter/. Every file is written atomically.
import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { TfewError } from "../errors.js";
import { sha256File, writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";

export const TFEW_VERSION = "0.1.0";

export function defaultRunDir(now = new Date()): string {
  return join("runs", now.toISOString().replace(/[:.]/g, "-").replace(/Z$/, "Z"));
}

/** Creates the folder (or checks an existing one is writable) — one clear error if it cannot be. */
export async function ensureRunDir(dir: string): Promise<string> {
  const full = resolve(dir);
  try {
    await mkdir(full, { recursive: true });
    await writeFileAtomic(join(full, ".write-test"), "");
    const { unlink } = await import("node:fs/promises");
    await unlink(join(full, ".write-test"));
  } catch (error) {
    if (error instanceof TfewError) throw new TfewError(`run folder ${full} cannot be written (${error.message}); choose another --out`);
    throw new TfewError(`run folder ${full} cannot be created (${(error as NodeJS.ErrnoException).code ?? String(error)}); choose another --out`);
  }
  return full;
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
