// Output folders made whole or not at all: refuse a non-empty target, fill a hidden temp folder beside it,
// then rename it into place (the folder-level twin of writeFileAtomic in atomic.ts).
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { TfewError } from "../errors.js";

/** Throws when `dir` exists and is a file or a non-empty folder (`what`: the command, for the message). */
export async function assertFreshOutDir(dir: string, what: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined) return;
  if (!info.isDirectory()) throw new TfewError(`${what}: --out ${dir} is a file; give a new folder name`);
  if ((await readdir(dir)).length > 0)
    throw new TfewError(`${what}: --out ${dir} is not empty; give a new or empty folder (nothing is overwritten)`);
}

/**
 * Calls `fill(tempDir)` on a fresh hidden folder beside `dir`, then renames it to `dir` (which must be
 * absent or empty). On any failure the temp folder is removed and `dir` is left as it was.
 */
export async function writeFolderAtomic(
  dir: string,
  what: string,
  fill: (tempDir: string) => Promise<void>,
): Promise<void> {
  await assertFreshOutDir(dir, what);
  const parent = dirname(dir);
  const temp = join(parent, `.${basename(dir)}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
  try {
    await mkdir(parent, { recursive: true });
    await mkdir(temp);
  } catch (error) {
    const code = (error as { code?: string }).code ?? "EUNKNOWN";
    throw new TfewError(`${what}: cannot create a folder beside ${dir} (${code}); choose a writable --out`, {
      cause: error,
    });
  }
  try {
    await fill(temp);
    await assertFreshOutDir(dir, what); // someone may have written there meanwhile
    await rmdir(dir).catch(() => undefined); // an empty folder the user made: replaced by the full one
    await rename(temp, dir);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}
