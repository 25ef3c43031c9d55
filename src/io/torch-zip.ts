// Opens a torch.save zip archive (PyTorch >= 1.6: <archive>/data.pkl, <archive>/data/<key>, <archive>/version,
// optional <archive>/byteorder) and reads single entries with yauzl, never the whole file. Mirrors torch's PyTorchStreamReader.
import { open as openFile, type FileHandle } from "node:fs/promises";
import { constants as bufferConstants } from "node:buffer";
import { openPromise, type Entry, type ZipFile } from "yauzl";
import { TfewError } from "../errors.js";

const FIX = "the file is truncated or corrupt — re-download it";

/** An open checkpoint archive. Close it when done. */
export interface TorchZip {
  /** entries by full name, e.g. "archive/data/0" */
  entries: Map<string, Entry>;
  /** the folder every entry sits in ("archive", or the file's stem for PyTorch < 2.0) */
  prefix: string;
  /**
   * Bytes [start, start + length) of an entry's data (default: all of it), in a fresh Buffer that owns its
   * ArrayBuffer. Stored entries (what torch writes) are read straight from the file; deflated ones are inflated whole.
   */
  read(entry: Entry, range?: { start: number; length: number }): Promise<Buffer>;
  close(): Promise<void>;
}

/** Open a torch.save checkpoint, with clear errors for legacy, non-zip, truncated and foreign archives. */
export async function openTorchZip(path: string): Promise<TorchZip> {
  await checkSignature(path);
  let zip: ZipFile;
  try {
    zip = await openPromise(path, { lazyEntries: true, autoClose: false });
  } catch (error) {
    throw new TfewError(`cannot load ${path}: it is not a readable zip archive (${(error as Error).message}); ${FIX}`, {
      cause: error,
    });
  }
  let file: FileHandle | undefined;
  const close = async (): Promise<void> => {
    zip.close();
    await file?.close();
  };
  try {
    file = await openFile(path, "r");
    const entries = await listEntries(zip, path);
    const prefix = archivePrefix(entries, path);
    const handle = file;
    const read = (entry: Entry, range?: { start: number; length: number }): Promise<Buffer> =>
      entry.compressionMethod === 0
        ? readStored(zip, handle, entry, range ?? { start: 0, length: entry.uncompressedSize }, path)
        : readInflated(zip, entry, range, path);
    const archive: TorchZip = { entries, prefix, read, close };
    await checkVersionAndByteOrder(archive, path);
    return archive;
  } catch (error) {
    await close();
    throw error;
  }
}

/** Tell zip checkpoints from legacy (pre-1.6) pickles, tar archives and other files before opening the zip. */
async function checkSignature(path: string): Promise<void> {
  const head = Buffer.alloc(262);
  try {
    const handle = await openFile(path, "r");
    try {
      await handle.read(head, 0, head.length, 0);
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as { code?: string }).code ?? "EUNKNOWN";
    const what =
      code === "ENOENT" ? "not found; check the path" : `unreadable (${code}); check that it is a readable file`;
    throw new TfewError(`cannot load ${path}: the file is ${what}`, { cause: error });
  }
  if (head[0] === 0x50 && head[1] === 0x4b) return; // "PK": a zip archive
  const legacy = head[0] === 0x80 || head.subarray(257, 262).toString("latin1") === "ustar";
  if (legacy) {
    throw new TfewError(
      `cannot load ${path}: it is a legacy (pre-1.6, non-zip) PyTorch checkpoint, which tfew does not read; ` +
        `if you trust it, re-save it with PyTorch >= 1.6 (torch.save(torch.load(f), f)) or convert it to safetensors`,
    );
  }
  throw new TfewError(
    `cannot load ${path}: it is not a PyTorch checkpoint (no zip signature); check the path or re-download it`,
  );
}

async function listEntries(zip: ZipFile, path: string): Promise<Map<string, Entry>> {
  const entries = new Map<string, Entry>();
  try {
    for await (const entry of zip.eachEntry()) {
      if (entries.has(entry.fileName)) {
        throw new TfewError(`cannot load ${path}: the zip holds two entries named ${entry.fileName}; ${FIX}`);
      }
      entries.set(entry.fileName, entry);
    }
  } catch (error) {
    if (error instanceof TfewError) throw error;
    throw new TfewError(`cannot load ${path}: its zip directory is unreadable (${(error as Error).message}); ${FIX}`, {
      cause: error,
    });
  }
  return entries;
}

/** torch.save puts everything under one folder ("archive", or the file's stem in older versions). */
function archivePrefix(entries: Map<string, Entry>, path: string): string {
  const pickles = [...entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    const what = pickles.length === 0 ? "no <archive>/data.pkl entry" : `${pickles.length} data.pkl entries`;
    throw new TfewError(
      `cannot load ${path}: the zip has ${what}, so it is not a torch.save checkpoint; check the path or re-download it`,
    );
  }
  return pickles[0]!.slice(0, -"/data.pkl".length);
}

async function checkVersionAndByteOrder({ entries, prefix, read }: TorchZip, path: string): Promise<void> {
  const text = async (entry: Entry): Promise<string> =>
    entry.uncompressedSize > 64 ? "(too long)" : (await read(entry)).toString("latin1").trim();
  const versionEntry = entries.get(`${prefix}/version`);
  const version = versionEntry === undefined ? "1" : await text(versionEntry);
  if (!/^\d+$/.test(version) || Number(version) < 1 || Number(version) > 10) {
    throw new TfewError(
      `cannot load ${path}: ${prefix}/version says format version "${version}", which this reader does not know; convert the file to safetensors`,
    );
  }
  const orderEntry = entries.get(`${prefix}/byteorder`);
  const order = orderEntry === undefined ? "little" : await text(orderEntry); // older PyTorch writes none: little-endian
  if (order !== "little") {
    throw new TfewError(
      `cannot load ${path}: ${prefix}/byteorder says "${order}"; only little-endian checkpoints are read, so convert it to safetensors`,
    );
  }
}

/** Read part of a stored (uncompressed) entry with one positioned read: no stream, no copy. */
async function readStored(
  zip: ZipFile,
  file: FileHandle,
  entry: Entry,
  range: { start: number; length: number },
  path: string,
): Promise<Buffer> {
  const { start, length } = range;
  if (
    entry.compressedSize !== entry.uncompressedSize ||
    entry.isEncrypted() ||
    start < 0 ||
    start + length > entry.uncompressedSize
  ) {
    throw new TfewError(
      `cannot load ${path}: stored entry ${entry.fileName} has inconsistent sizes or is encrypted; ${FIX}`,
    );
  }
  const out = allocate(length, entry, path);
  try {
    const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
    if (fileDataStart + entry.compressedSize > zip.fileSize) throw new Error("its data runs past the end of the file");
    for (let filled = 0; filled < length;) {
      const { bytesRead } = await file.read(out, filled, length - filled, fileDataStart + start + filled);
      if (bytesRead === 0) throw new Error("the file ended early");
      filled += bytesRead;
    }
  } catch (error) {
    throw new TfewError(
      `cannot load ${path}: entry ${entry.fileName} is unreadable (${(error as Error).message}); ${FIX}`,
      { cause: error },
    );
  }
  return out;
}

/** Inflate a whole deflated entry through yauzl's stream (which checks the declared size), then cut the range. */
async function readInflated(
  zip: ZipFile,
  entry: Entry,
  range: { start: number; length: number } | undefined,
  path: string,
): Promise<Buffer> {
  const size = entry.uncompressedSize;
  const out = allocate(size, entry, path);
  let filled = 0;
  try {
    if (size > 0) {
      const stream = await zip.openReadStreamPromise(entry);
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (filled + chunk.length > size) throw new Error("more data than the zip directory declares");
        chunk.copy(out, filled);
        filled += chunk.length;
      }
    }
  } catch (error) {
    throw new TfewError(
      `cannot load ${path}: entry ${entry.fileName} is unreadable (${(error as Error).message}); ${FIX}`,
      { cause: error },
    );
  }
  if (filled !== size)
    throw new TfewError(`cannot load ${path}: entry ${entry.fileName} has ${filled} of ${size} bytes; ${FIX}`);
  if (range === undefined || (range.start === 0 && range.length === size)) return out;
  const part = allocate(range.length, entry, path);
  out.copy(part, 0, range.start, range.start + range.length);
  return part;
}

/** A Buffer that owns an ArrayBuffer of exactly `size` bytes (not pooled), so typed-array views need no copy. */
function allocate(size: number, entry: Entry, path: string): Buffer {
  if (size > bufferConstants.MAX_LENGTH) {
    throw new TfewError(
      `cannot load ${path}: entry ${entry.fileName} needs ${size} bytes at once, more than one Node buffer holds; convert the file to safetensors`,
    );
  }
  return Buffer.allocUnsafeSlow(size);
}
