// Output folders made whole or not at all: refuse a non-empty target, fill a hidden temp folder beside it,
// then rename it into place (the folder-level twin of writeFileAtomic in atomic.ts). The temp folder is named
// by temp-files.ts: removed on SIGINT/SIGTERM by the CLI, and by the next write into the same parent after a kill -9.
import { mkdir, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { TfewError } from "../errors.js";
import { removeStaleTemps, tempPathFor, testHold, trackTemp } from "./temp-files.js";

/** Throws when `dir` exists and is a file or a non-empty folder (`what`: the command, for the message). */
export async function assertFreshOutDir(dir: string, what: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined) return;
  if (!info.isDirectory()) throw new TfewError(`${what}: --out ${dir} is a file; give a new folder name`);
  if ((await readdir(dir)).length > 0)
    throw new TfewError(`${what}: --out ${dir} is not empty; give a new or empty folder (nothing is overwritten)`);
}

export interface FolderTarget {
  what: string; // the command, for messages
  /** replace a non-empty `dir` (the caller checked that it is its own earlier output and --overwrite was given) */
  replace?: boolean;
}

/**
 * Calls `fill(tempDir)` on a fresh hidden folder beside `dir`, then renames it to `dir` (which must be
 * absent or empty unless `target.replace`). On any failure the temp folder is removed and `dir` is left as it was.
 */
export async function writeFolderAtomic(
  dir: string,
  target: string | FolderTarget,
  fill: (tempDir: string) => Promise<void>,
): Promise<void> {
  const { what, replace = false } = typeof target === "string" ? { what: target } : target;
  if (!replace) await assertFreshOutDir(dir, what);
  const parent = dirname(dir);
  const temp = tempPathFor(dir);
  const untrack = trackTemp(temp);
  try {
    await mkdir(parent, { recursive: true });
    await removeStaleTemps(parent);
    await mkdir(temp);
  } catch (error) {
    untrack();
    const code = (error as { code?: string }).code ?? "EUNKNOWN";
    throw new TfewError(`${what}: cannot create a folder beside ${dir} (${code}); choose a writable --out`, {
      cause: error,
    });
  }
  try {
    await fill(temp);
    await testHold(dir, temp);
    await moveIntoPlace(temp, dir, what, replace);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  } finally {
    untrack();
  }
}

/** Renames the full temp folder to `dir`; with `replace`, the old `dir` is moved aside first and removed after. */
async function moveIntoPlace(temp: string, dir: string, what: string, replace: boolean): Promise<void> {
  const old = replace && (await stat(dir).catch(() => undefined)) !== undefined ? asidePath(dir) : null;
  if (old === null) {
    await assertFreshOutDir(dir, what); // someone may have written there meanwhile
    await rmdir(dir).catch(() => undefined); // an empty folder the user made: replaced by the full one
    await rename(temp, dir);
    return;
  }
  await rename(dir, old);
  try {
    await rename(temp, dir);
  } catch (error) {
    await rename(old, dir).catch(() => undefined);
    throw error;
  }
  await rm(old, { recursive: true, force: true });
}

/** Where the replaced folder waits while the new one moves in: not a temp name, so a kill never loses it. */
function asidePath(dir: string): string {
  return tempPathFor(dir).replace(/\.tmp-(?=\d+@)/, ".old-");
}
