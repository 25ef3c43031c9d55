// Crash-safe file writes (temp file in the same folder, fsync, rename, fsync the folder) and a streamed
// sha256. Mirrors the write-then-rename pattern of huggingface_hub / safetensors writers.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, rename, unlink, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { TfewError } from "../errors.js";
import { removeStaleTemps, tempPathFor, testHold, trackTemp } from "./temp-files.js";

/** The file operations writeFileAtomic uses; tests replace some of them to simulate failures (ENOSPC). */
export interface AtomicFsOps {
  /** Write all of `data` to the open temp file. */
  write(handle: FileHandle, data: Uint8Array): Promise<void>;
  /** Flush the open temp file to disk. */
  fsync(handle: FileHandle): Promise<void>;
  /** Move the temp file over the destination. */
  rename(from: string, to: string): Promise<void>;
}

export interface AtomicWriteOptions {
  /** Replace individual file operations (for tests: inject an ENOSPC on write). */
  fs?: Partial<AtomicFsOps>;
}

const defaultOps: AtomicFsOps = {
  write: async (handle, data) => {
    await handle.writeFile(data);
  },
  fsync: (handle) => handle.sync(),
  rename: (from, to) => rename(from, to),
};

/**
 * Write `data` to `path` so that readers see either the old file or the complete new one, never a partial
 * file. On any failure the temp file is removed, the old file is left untouched, and a one-line TfewError
 * naming the path and the OS error code is thrown. Temps that killed processes left in the folder are removed first.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const ops: AtomicFsOps = { ...defaultOps, ...options.fs };
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const dir = dirname(path);
  await removeStaleTemps(dir);
  const tempPath = tempPathFor(path);
  const untrack = trackTemp(tempPath);
  let handle: FileHandle | undefined;
  try {
    handle = await open(tempPath, "wx"); // exclusive: never reuse someone else's temp file
    await ops.write(handle, bytes);
    await ops.fsync(handle);
    await handle.close();
    handle = undefined;
    await testHold(path, tempPath);
    await ops.rename(tempPath, path);
  } catch (error) {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    await unlink(tempPath).catch(() => undefined);
    throw writeFailure(path, error);
  } finally {
    untrack();
  }
  await fsyncDir(dir);
}

/** writeFileAtomic of `JSON.stringify(value, null, 2)` plus a final newline. */
export async function writeJsonAtomic(path: string, value: unknown, options: AtomicWriteOptions = {}): Promise<void> {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) {
    throw new TfewError(
      `cannot write ${path}: the value is not JSON-serialisable (got ${typeof value}); this is a bug in the caller`,
    );
  }
  await writeFileAtomic(path, `${text}\n`, options);
}

/** Hex sha256 of a file, read as a stream (constant memory for multi-GB checkpoints). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (error) {
    const code = errorCode(error);
    if (code === "ENOENT") throw new TfewError(`cannot hash ${path}: file not found; check the path`, { cause: error });
    throw new TfewError(`cannot hash ${path} (${code}: ${oneLine(error)}); check the file and its permissions`, {
      cause: error,
    });
  }
  return hash.digest("hex");
}

/** fsync the folder so the rename itself survives a crash; folders cannot be fsynced on some platforms. */
async function fsyncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch {
    // Windows cannot open folders; some file systems reject fsync on a folder (EINVAL). The data is on
    // disk already (file fsync above); only the rename's durability is best-effort here.
  } finally {
    if (handle !== undefined) await handle.close().catch(() => undefined);
  }
}

/** The OS error codes of a disk that cannot take more writes (full, over quota, failing, read-only). */
export const DISK_CODES: ReadonlySet<string> = new Set(["ENOSPC", "EDQUOT", "EIO", "EROFS"]);

/** A failed write as one line; `path` and `code` let a caller add its own advice (e.g. how to resume). */
export class WriteFailure extends TfewError {
  constructor(
    message: string,
    readonly path: string,
    readonly code: string,
    cause: unknown,
  ) {
    super(message, { cause });
  }
}

/**
 * A failed write of `path` as one line naming the path and what to do; for a full, failing or read-only disk
 * (DISK_CODES) `then` is the last step ("re-run", or how to resume). A TfewError is returned as it is.
 */
export function writeFailure(path: string, error: unknown, then?: string): TfewError {
  if (error instanceof TfewError) return error;
  const code = errorCode(error);
  const next = then ?? "re-run";
  const writable = then === undefined ? "choose a writable output folder" : `make it writable, then ${then}`;
  const what: Record<string, string> = {
    ENOSPC: `disk full while writing ${path}; free space and ${next}`,
    EDQUOT: `disk quota exceeded while writing ${path}; free space or raise the quota and ${next}`,
    EIO: `I/O error while writing ${path} (EIO); check the disk, then ${next}`,
    EACCES: `permission denied writing ${path} (EACCES); choose a writable folder or fix its permissions`,
    EPERM: `permission denied writing ${path} (EPERM); choose a writable folder or fix its permissions`,
    EROFS: `read-only file system while writing ${path} (EROFS); ${writable}`,
    ENOENT: `cannot write ${path}: folder ${dirname(path)} does not exist (ENOENT); create it or fix the path`,
    ENOTDIR: `cannot write ${path}: a part of the path is not a folder (ENOTDIR); fix the path`,
    EISDIR: `cannot write ${path}: it is a folder (EISDIR); choose a file name`,
  };
  const message =
    what[code] ?? `could not write ${path} (${code}: ${oneLine(error)}); check the disk and permissions and re-run`;
  return new WriteFailure(message, path, code, error);
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "EUNKNOWN";
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s+/g, " ").trim();
}
