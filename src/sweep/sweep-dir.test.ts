// The sweep folder on a rerun: cell configs written by an older tfew (train.workers inside train) are the same
// config and are accepted; a cell config that really changed is still refused.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { legacyConfigYaml } from "../config/load.js";
import { loadSweepFile } from "./schema.js";
import { cellPaths, prepareSweepDir } from "./sweep-dir.js";

const work = mkdtempSync(join(tmpdir(), "tfew-sweep-dir-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("prepareSweepDir on an existing sweep folder", () => {
  it("accepts cell configs in the older form (train.workers) and refuses changed ones", async () => {
    const file = join(work, "s.yaml");
    writeFileSync(file, "set: {train.steps: 2, workers: 1}\ngrid: {seed: [1, 2]}\n");
    const dir = join(work, "sweep");
    const { cells } = await prepareSweepDir(dir, loadSweepFile(file), { cwd: work });
    const [first, second] = cells.map((cell) => cellPaths(dir, cell).config);
    expect(readFileSync(first as string, "utf8")).toMatch(/^workers: 1$/m);

    // what tfew wrote before workers left the train section
    writeFileSync(first as string, legacyConfigYaml((cells[0] as (typeof cells)[number]).config));
    expect(readFileSync(first as string, "utf8")).toMatch(/^ {2}workers: 1$/m);
    await expect(prepareSweepDir(dir, loadSweepFile(file), { cwd: work })).resolves.toMatchObject({
      cells: { length: 2 },
    });

    writeFileSync(second as string, readFileSync(second as string, "utf8").replace("steps: 2", "steps: 3"));
    await expect(prepareSweepDir(dir, loadSweepFile(file), { cwd: work })).rejects.toThrow(
      /the config of cell 1 \(cells\/1-seed-2\) differs from what/,
    );
  });
});
