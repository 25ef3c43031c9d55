import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TfewError } from "../errors.js";
import { sha256File, writeFileAtomic, writeJsonAtomic } from "./atomic.js";

let dir = "";
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tfew-atomic-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function osError(code: string): Error {
  return Object.assign(new Error(`${code}: simulated failure`), { code });
}

describe("writeFileAtomic", () => {
  it("writes bytes and strings, replacing an existing file, and leaves no temp file", async () => {
    const path = join(dir, "a.bin");
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    expect([...(await readFile(path))]).toEqual([1, 2, 3]);
    await writeFileAtomic(path, "héllo");
    expect(await readFile(path, "utf8")).toBe("héllo");
    expect(await readdir(dir)).toEqual(["a.bin"]);
  });

  it("ENOSPC during write: one-line 'disk full' error, old file intact, no temp file left", async () => {
    const path = join(dir, "adapter.safetensors");
    await writeFile(path, "old contents");
    const failingWrite = async (): Promise<void> => {
      throw osError("ENOSPC");
    };
    const attempt = writeFileAtomic(path, "new contents", { fs: { write: failingWrite } });
    await expect(attempt).rejects.toThrow(TfewError);
    await expect(attempt).rejects.toThrow(`disk full while writing ${path}; free space and re-run`);
    expect(await readFile(path, "utf8")).toBe("old contents");
    expect(await readdir(dir)).toEqual(["adapter.safetensors"]);
  });

  it("a failure after a partial write (fsync EIO) also cleans up and names the code", async () => {
    const path = join(dir, "x.json");
    const failingSync = async (): Promise<void> => {
      throw osError("EIO");
    };
    const attempt = writeFileAtomic(path, "{}", { fs: { fsync: failingSync } });
    await expect(attempt).rejects.toThrow(/^I\/O error while writing .*x\.json \(EIO\); check the disk, then re-run$/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("a failed rename leaves the old file and no temp file", async () => {
    const path = join(dir, "y.txt");
    await writeFile(path, "old");
    const failingRename = async (): Promise<void> => {
      throw osError("EXDEV");
    };
    await expect(writeFileAtomic(path, "new", { fs: { rename: failingRename } })).rejects.toThrow(/\(EXDEV: /);
    expect(await readFile(path, "utf8")).toBe("old");
    expect(await readdir(dir)).toEqual(["y.txt"]);
  });

  it("missing folder: error names the folder", async () => {
    const path = join(dir, "no-such-dir", "f.txt");
    await expect(writeFileAtomic(path, "x")).rejects.toThrow(
      /folder .*no-such-dir does not exist \(ENOENT\); create it/,
    );
  });

  it("messages are one line", async () => {
    const failingWrite = async (): Promise<void> => {
      throw Object.assign(new Error("line one\nline two"), { code: "EBUSY" });
    };
    const error = await writeFileAtomic(join(dir, "z"), "x", { fs: { write: failingWrite } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TfewError);
    expect((error as Error).message).not.toContain("\n");
  });
});

describe("writeJsonAtomic", () => {
  it("writes pretty JSON with a trailing newline", async () => {
    const path = join(dir, "c.json");
    await writeJsonAtomic(path, { a: 1, b: [true, null] });
    expect(await readFile(path, "utf8")).toBe('{\n  "a": 1,\n  "b": [\n    true,\n    null\n  ]\n}\n');
  });
});

describe("sha256File", () => {
  it("matches crypto on a multi-chunk file and the known empty-string digest", async () => {
    const data = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff);
    const path = join(dir, "big.bin");
    await writeFile(path, data);
    expect(await sha256File(path)).toBe(createHash("sha256").update(data).digest("hex"));
    await writeFile(join(dir, "empty"), "");
    expect(await sha256File(join(dir, "empty"))).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  });

  it("missing file: TfewError naming the path", async () => {
    await expect(sha256File(join(dir, "nope"))).rejects.toThrow(/cannot hash .*nope: file not found/);
  });
});
