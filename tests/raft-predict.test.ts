// Integration: `tfew predict` on every RAFT task of ../shared/data/raft with the gold tiny T5 (zero-shot, shared
// T5 tokenizer), on copies whose test_unlabeled.csv is cut to its first rows plus one row with every text field
// empty: the submission must have the header ID,Label and exactly one valid row per test ID, in input order.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, makeTempDir, parseCsv, removeTempDir, runTfewOk, toCsv } from "./helpers/tfew-cli.js";
import {
  GOLD_MODEL_DIR,
  SHARED_RAFT_DIR,
  SHARED_TOKENIZER_DIR,
  hasSharedRaft,
  hasSharedTokenizer,
  skipNote,
} from "./helpers/shared.js";

const TEST_ROWS = 20; // of up to 5000: the gold model's 32128-token LM head makes every row cost
const EMPTY_AT = 10; // where the all-empty row goes: mid-file, so order is checked around it

const available = hasSharedRaft && hasSharedTokenizer;
if (!hasSharedRaft) console.log(skipNote("data/raft"));
if (!hasSharedTokenizer) console.log(skipNote("models/t5-tokenizer/tokenizer.json"));

const TASKS = available
  ? readdirSync(SHARED_RAFT_DIR, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(SHARED_RAFT_DIR, d.name, "test_unlabeled.csv")))
      .map((d) => d.name)
      .sort()
  : [];

interface TaskCopy {
  dir: string;
  ids: string[];
  labels: string[];
  emptyId: string;
  emptyWasInData: boolean;
}

/**
 * Copies a task folder with its test file cut to the first TEST_ROWS rows and an all-empty-text row inserted
 * at EMPTY_AT: the task's own first such row when it has one (systematic_review_inclusion), else a new ID.
 */
function copyTask(task: string, into: string): TaskCopy {
  const src = join(SHARED_RAFT_DIR, task);
  const dir = join(into, task); // same folder name: tfew's built-in RAFT table is keyed by it
  mkdirSync(dir);
  for (const name of readdirSync(src))
    if (name !== "test_unlabeled.csv") copyFileSync(join(src, name), join(dir, name));
  const { header, rows } = parseCsv(readFileSync(join(src, "test_unlabeled.csv"), "utf8"));
  const idColumn = header.indexOf("ID");
  expect(idColumn, `${task}: no ID column`).toBeGreaterThanOrEqual(0);
  const isEmpty = (row: string[]) => row.every((v, i) => i === idColumn || v.trim() === "");
  const natural = rows.find(isEmpty);
  const maxId = Math.max(...rows.map((r) => Number(r[idColumn])));
  const emptyRow = natural ?? header.map((_, i) => (i === idColumn ? String(maxId + 1) : ""));
  const kept = rows.slice(0, TEST_ROWS).filter((r) => r !== natural);
  const cut = [...kept.slice(0, EMPTY_AT), emptyRow, ...kept.slice(EMPTY_AT)];
  const text = toCsv(header, cut);
  expect(parseCsv(text), `${task}: the CSV writer must round-trip`).toEqual({ header, rows: cut });
  writeFileSync(join(dir, "test_unlabeled.csv"), text);
  const labels = (JSON.parse(readFileSync(join(src, "labels.json"), "utf8")) as { labels: string[] }).labels;
  return {
    dir,
    ids: cut.map((r) => r[idColumn] as string),
    labels,
    emptyId: emptyRow[idColumn] as string,
    emptyWasInData: natural !== undefined,
  };
}

let tmp: string;
beforeAll(async () => {
  if (!available) return;
  await ensureBuilt();
  tmp = makeTempDir("raft-predict");
});
afterAll(() => removeTempDir(tmp));

describe.skipIf(!available)("tfew predict on every shared RAFT task (gold tiny T5, first test rows)", () => {
  it("finds the RAFT tasks", () => {
    expect(TASKS.length).toBeGreaterThanOrEqual(8);
  });

  it.each(TASKS)("%s: one valid row per test ID, in input order, the all-empty row included", async (task) => {
    const copy = copyTask(task, tmp);
    const out = join(tmp, `${task}.csv`);
    const r = await runTfewOk([
      "predict",
      "--model",
      GOLD_MODEL_DIR,
      "--data",
      copy.dir,
      "--split",
      "test",
      "--output",
      out,
      "--set",
      `tokenizer=${SHARED_TOKENIZER_DIR}`,
      "--set",
      "data.max_seq_len=256",
    ]);
    expect(r.stdout).toContain(`wrote ${copy.ids.length} predictions to ${out}`);
    const text = readFileSync(out, "utf8");
    expect(text.split("\n")[0]).toBe("ID,Label");
    const { header, rows } = parseCsv(text);
    expect(header).toEqual(["ID", "Label"]);
    expect(rows.map((row) => row[0])).toEqual(copy.ids);
    for (const row of rows) {
      expect(row).toHaveLength(2);
      expect(copy.labels).toContain(row[1]);
    }
    expect(rows[EMPTY_AT]?.[0]).toBe(copy.emptyId);
    if (task === "systematic_review_inclusion") expect(copy.emptyWasInData).toBe(true); // ID 1885 has no text at all
  });
});
