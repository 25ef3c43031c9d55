// Output folders whole or not at all: a failing fill leaves no trace, a file or non-empty folder is refused.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TfewError } from "../errors.js";
import { writeFolderAtomic } from "./out-dir.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tfew-out-dir-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe("writeFolderAtomic", () => {
  it("creates missing parents and fills the folder", async () => {
    const out = join(root, "a", "b", "out");
    await writeFolderAtomic(out, "test", (dir) => writeFile(join(dir, "x.txt"), "x"));
    expect(await readFile(join(out, "x.txt"), "utf8")).toBe("x");
    expect(await readdir(join(root, "a", "b"))).toEqual(["out"]);
  });

  it("a fill that throws leaves neither the folder nor a temp folder", async () => {
    const out = join(root, "failed");
    const boom = new Error("disk on fire");
    await expect(
      writeFolderAtomic(out, "test", async (dir) => {
        await writeFile(join(dir, "half.txt"), "half");
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect((await readdir(root)).filter((n) => n.includes("failed"))).toEqual([]);
  });

  it("refuses a file and a non-empty folder before calling fill", async () => {
    const file = join(root, "file");
    await writeFile(file, "mine");
    const full = join(root, "full");
    await mkdir(full);
    await writeFile(join(full, "keep"), "mine");
    let called = false;
    const fill = async () => {
      called = true;
    };
    await expect(writeFolderAtomic(file, "test", fill)).rejects.toThrow(
      new TfewError(`test: --out ${file} is a file; give a new folder name`),
    );
    await expect(writeFolderAtomic(full, "test", fill)).rejects.toThrow(
      `test: --out ${full} is not empty; give a new or empty folder (nothing is overwritten)`,
    );
    expect(called).toBe(false);
    expect(await readFile(file, "utf8")).toBe("mine");
  });
});
