// Task files of every format hold the same rows (tests/fixtures/data-formats/rows.json): CSV, JSONL and Label Studio
// JSON written here, Parquet and Arrow written here (hyparquet-writer, apache-arrow) and by pyarrow / datasets
// (committed fixtures, scripts/make_data_fixtures.py) give the same examples; ClassLabel ids; the manifest record.
import { createHash } from "node:crypto";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tableToIPC, tableFromArrays } from "apache-arrow";
import { parquetWriteBuffer } from "hyparquet-writer";
import { describe, expect, it } from "vitest";
import { makeTempDir } from "../../tests/helpers/tfew-cli.js";
import { FORMAT_FIXTURES, FORMAT_ROWS, labelStudioExport, toCsvText, toJsonlText } from "../../tests/helpers/format-files.js";
import { describeDataFiles } from "./manifest.js";
import type { TaskData } from "./task-types.js";
import { loadTask } from "./task.js";

const { labels: LABELS, rows: ROWS } = FORMAT_ROWS;
const COLUMNS = ["ID", "Title", "Body", "Label"] as const;
const SPEC = { labelField: "Label", idField: "ID" };

/** Writes the rows in every format this file can write itself; returns name → path. */
function writeAllFormats(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const put = (name: string, content: string | Uint8Array) => {
    files[name] = join(dir, name);
    writeFileSync(files[name], content);
  };
  put("rows.csv", toCsvText(ROWS));
  put("rows.jsonl", toJsonlText(ROWS));
  put("label-studio.json", JSON.stringify(labelStudioExport(ROWS)));
  const columnData = COLUMNS.map((name) => ({ name, data: ROWS.map((r) => r[name]), type: "STRING" as const }));
  put("js-snappy.parquet", new Uint8Array(parquetWriteBuffer({ columnData })));
  put("js-uncompressed.parquet", new Uint8Array(parquetWriteBuffer({ columnData, codec: "UNCOMPRESSED" })));
  const arrays = Object.fromEntries(COLUMNS.map((c) => [c, ROWS.map((r) => r[c])]));
  put("js-stream.arrow", tableToIPC(tableFromArrays(arrays), "stream"));
  return files;
}

const PYARROW_FILES = [
  "plain.parquet", "dictionary-snappy.parquet", "delta-zstd.parquet", "gzip.parquet", "brotli.parquet", "lz4.parquet",
  "hf-classlabel.parquet", "datasets-cache.arrow", "stream-dictionary.arrow", "ipc-file.arrow",
];

/** What must agree across formats: the task as data, without where it came from. */
function comparable(task: TaskData): unknown {
  return { labelNames: task.labelNames, textFields: task.textFields, instruction: task.instruction, train: task.train, test: task.test };
}

describe("the same rows in every format", () => {
  const dir = makeTempDir("formats");
  const written = writeAllFormats(dir);
  const all = { ...written, ...Object.fromEntries(PYARROW_FILES.map((f) => [f, join(FORMAT_FIXTURES, f)])) };

  it("CSV gives the rows of rows.json", async () => {
    const task = await loadTask({ path: written["rows.csv"] as string, ...SPEC });
    expect(task.labelNames).toEqual(LABELS);
    expect(task.textFields).toEqual(["Title", "Body"]);
    expect(task.train.map((e) => [e.id, e.fields.Title, e.fields.Body, task.labelNames[e.label ?? -1]])).toEqual(ROWS.map((r) => [r.ID, r.Title, r.Body, r.Label]));
  });

  it.each(Object.keys(all).filter((n) => n !== "rows.csv"))("%s gives the same task as the CSV", async (name) => {
    const csv = await loadTask({ path: written["rows.csv"] as string, ...SPEC });
    const task = await loadTask({ path: all[name] as string, ...SPEC });
    expect(comparable(task)).toEqual(comparable(csv));
    expect(task.files).toEqual([all[name]]);
  });

  it("integer class ids map through data.labels, and are names of their own without it", async () => {
    const path = join(FORMAT_FIXTURES, "int-labels.parquet");
    const csv = await loadTask({ path: written["rows.csv"] as string, ...SPEC });
    expect(comparable(await loadTask({ path, ...SPEC, labels: LABELS }))).toEqual(comparable(csv));
    expect((await loadTask({ path, ...SPEC })).labelNames).toEqual(["0", "1", "2"]);
    // a Label column of ids in CSV reads the same way
    const ids = ROWS.map((r) => ({ ...r, Label: String(LABELS.indexOf(r.Label)) }));
    writeFileSync(join(dir, "ids.csv"), toCsvText(ids));
    expect(comparable(await loadTask({ path: join(dir, "ids.csv"), ...SPEC, labels: LABELS }))).toEqual(comparable(csv));
  });

  it("takes label names and their order from the ClassLabel feature, even with data.labels in another order", async () => {
    const path = join(FORMAT_FIXTURES, "hf-classlabel.parquet");
    const reordered = [...LABELS].reverse();
    const task = await loadTask({ path, ...SPEC, labels: reordered });
    expect(task.labelNames).toEqual(reordered);
    expect(task.train.map((e) => reordered[e.label ?? -1])).toEqual(ROWS.map((r) => r.Label));
  });

  it("reads ClassLabel -1 as no label: such rows are test rows, and a training error", async () => {
    const unlabelled = join(FORMAT_FIXTURES, "hf-unlabelled.parquet");
    const task = await loadTask({ path: join(FORMAT_FIXTURES, "hf-classlabel.parquet"), ...SPEC, testPath: unlabelled });
    expect(task.test).toEqual(ROWS.slice(0, 3).map((r) => ({ id: r.ID, fields: { Title: r.Title, Body: r.Body } })));
    await expect(loadTask({ path: unlabelled, ...SPEC, labels: LABELS })).rejects.toThrow(/hf-unlabelled\.parquet row 1, column "Label" is empty/);
  });
});

describe("manifest records", () => {
  it("give format, rows and sha256 per file", async () => {
    const dir = makeTempDir("manifest");
    const written = writeAllFormats(dir);
    const task = join(dir, "task.json");
    writeFileSync(task, JSON.stringify({ name: "x" }));
    const paths = [written["rows.csv"], written["rows.jsonl"], written["label-studio.json"], join(FORMAT_FIXTURES, "delta-zstd.parquet"), written["js-stream.arrow"], task] as string[];
    const records = await describeDataFiles(paths);
    expect(records.map((r) => [r.format, r.rows])).toEqual([["csv", 9], ["jsonl", 9], ["label-studio", 9], ["parquet", 9], ["arrow", 9], ["json", null]]);
    records.forEach((r, i) => {
      expect(r.path).toBe(paths[i]);
      expect(r.sha256).toBe(createHash("sha256").update(readFileSync(paths[i] as string)).digest("hex"));
    });
    copyFileSync(join(FORMAT_FIXTURES, "dictionary-snappy.parquet"), join(dir, "copy.parquet"));
    expect((await describeDataFiles([join(dir, "copy.parquet")]))[0]?.rows).toBe(9);
  });
});
