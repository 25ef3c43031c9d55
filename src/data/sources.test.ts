// Label Studio's annotation rules (majority, ties → most recent, ground truth, cancelled, unlabelled → test),
// hf:<org>/<dataset>[/<config>] from a fake HF cache laid out as huggingface_hub writes it, and every bad input
// (missing or unreadable columns, non-Arrow files, exports without annotations, datasets not in the cache).
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { describe, expect, it } from "vitest";
import { tfewMessageOf } from "../../tests/helpers/errors.js";
import { annotation, FORMAT_FIXTURES, FORMAT_ROWS, labelStudioExport, type FormatRow } from "../../tests/helpers/format-files.js";
import { makeTempDir } from "../../tests/helpers/tfew-cli.js";
import { findCachedParquet } from "../io/hub-parquet.js";
import { resolveVotes } from "./label-studio.js";
import { loadTask } from "./task.js";

const { rows: ROWS } = FORMAT_ROWS;
const SPEC = { labelField: "Label", idField: "ID" };

function writeJson(dir: string, name: string, value: unknown): string {
  writeFileSync(join(dir, name), JSON.stringify(value));
  return join(dir, name);
}

describe("Label Studio exports", () => {
  const dir = makeTempDir("label-studio");
  const task = (id: number, annotations: unknown[], data: Record<string, unknown> = { Title: `t${id}`, Body: `b${id}` }) => ({ id, data, annotations });

  it("resolves several annotations: ground truth, else majority, ties to the most recent; cancelled ones do not vote", async () => {
    const tasks = [
      task(1, [annotation("billing", { at: "2024-01-01T00:00:00Z" }), annotation("bug report", { at: "2024-01-02T00:00:00Z" }), annotation("billing", { at: "2024-01-03T00:00:00Z" })]),
      task(2, [annotation("billing", { at: "2024-01-05T00:00:00Z" }), annotation("bug report", { at: "2024-01-04T00:00:00Z" })]), // tie → newer billing
      task(3, [annotation("billing", { at: "2024-01-05T00:00:00Z" }), annotation("bug report", { at: "2024-01-09T00:00:00Z", cancelled: true })]),
      task(4, [annotation("bug report"), annotation("bug report"), annotation("feature request", { groundTruth: true })]),
      task(5, [annotation("bug report", { cancelled: true })]), // only skipped → unlabelled
      task(6, []), // never annotated → unlabelled
    ];
    const loaded = await loadTask({ path: writeJson(dir, "votes.json", tasks), ...SPEC });
    expect(loaded.labelNames).toEqual(["billing", "feature request"]); // inferred from the labelled tasks
    expect(loaded.train.map((e) => [e.id, loaded.labelNames[e.label ?? -1]])).toEqual([["1", "billing"], ["2", "billing"], ["3", "billing"], ["4", "feature request"]]);
    expect(loaded.test).toEqual([{ id: "5", fields: { Title: "t5", Body: "b5" } }, { id: "6", fields: { Title: "t6", Body: "b6" } }]);
    // with data.test_path the unlabelled tasks are left out
    const csv = join(dir, "test.csv");
    writeFileSync(csv, "ID,Title,Body\nx,a,b\n");
    const withTest = await loadTask({ path: join(dir, "votes.json"), ...SPEC, testPath: csv });
    expect(withTest.test.map((e) => e.id)).toEqual(["x"]);
  });

  it("breaks equal times by annotation order, and prefers the latest ground-truth annotation", () => {
    const vote = (label: string, order: number, extra: { time?: string; groundTruth?: boolean } = {}) => ({ label, order, time: extra.time ?? "", groundTruth: extra.groundTruth ?? false });
    expect(resolveVotes([vote("a", 0), vote("b", 1)])).toBe("b");
    expect(resolveVotes([vote("a", 0), vote("b", 1), vote("a", 2)])).toBe("a");
    expect(resolveVotes([vote("a", 0, { groundTruth: true, time: "2024-02" }), vote("b", 1, { groundTruth: true, time: "2024-01" }), vote("b", 2)])).toBe("a");
    expect(resolveVotes([])).toBe("");
  });

  it("takes the ID from data.<id_field>, else the task id; numbers in data become text", async () => {
    const tasks = [task(7, [annotation("x")], { ID: "r-1", Title: "a", Stars: 4 }), task(8, [annotation("y")], { Title: "b", Stars: 5 })];
    const loaded = await loadTask({ path: writeJson(dir, "ids.json", tasks), ...SPEC });
    expect(loaded.train).toEqual([{ id: "r-1", fields: { Title: "a", Stars: "4" }, label: 0 }, { id: "8", fields: { Title: "b", Stars: "5" }, label: 1 }]);
  });

  it("picks the choices control named by data.label_field when there are several", async () => {
    const both = (topic: string, mood: string) => [{ ...annotation(topic, { control: "topic" }), result: [...(annotation(topic, { control: "topic" }).result as unknown[]), ...(annotation(mood, { control: "mood" }).result as unknown[])] }];
    const tasks = [task(1, both("billing", "angry")), task(2, both("bug report", "calm"))];
    const path = writeJson(dir, "controls.json", tasks);
    expect((await loadTask({ path, labelField: "mood" })).labelNames).toEqual(["angry", "calm"]);
    expect(await tfewMessageOf(loadTask({ path, labelField: "Label" }))).toMatch(/controls\.json has several choices controls \("topic", "mood"\); set data\.label_field/);
  });

  it("rejects exports with no annotations, several choices in one annotation, or another layout", async () => {
    const none = writeJson(dir, "none.json", labelStudioExport(ROWS).map((t) => ({ ...t, annotations: [] })));
    expect(await tfewMessageOf(loadTask({ path: none, ...SPEC }))).toMatch(/Label Studio export .*none\.json has no annotated tasks \(9 tasks, none with a non-cancelled choice\); annotate some/);
    const multi = { ...annotation("a"), result: [{ type: "choices", from_name: "c", to_name: "t", value: { choices: ["a", "b"] } }] };
    expect(await tfewMessageOf(loadTask({ path: writeJson(dir, "multi.json", [task(3, [multi])]), ...SPEC }))).toMatch(/multi\.json task 3 \(row 1\) annotation 1 has 2 choices/);
    expect(await tfewMessageOf(loadTask({ path: writeJson(dir, "min.json", [{ text: "a", sentiment: "b" }]), ...SPEC }))).toMatch(/min\.json is not a Label Studio JSON export .*not "JSON-MIN"/);
    expect(await tfewMessageOf(loadTask({ path: writeJson(dir, "empty.json", []), ...SPEC }))).toMatch(/has no tasks/);
    expect(await tfewMessageOf(loadTask({ path: writeJson(dir, "obj.json", [task(1, [annotation("a")], { Title: { nested: 1 } })]), ...SPEC }))).toMatch(/task 1 \(row 1\) data field "Title" is an object or list/);
  });
});

/** Writes a parquet shard of rows (string columns) to path. */
function writeShard(path: string, rows: readonly FormatRow[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const columnData = (["ID", "Title", "Body", "Label"] as const).map((name) => ({ name, data: rows.map((r) => r[name]), type: "STRING" as const }));
  writeFileSync(path, new Uint8Array(parquetWriteBuffer({ columnData })));
}

/** A cached dataset as huggingface_hub lays it out: blobs/, snapshots/<sha>/<path> → symlinks, refs/<revision>. */
function cacheDataset(cache: string, repoId: string, revision: string, files: Record<string, readonly FormatRow[] | string>): void {
  const storage = join(cache, `datasets--${repoId.replace("/", "--")}`);
  const sha = "0123456789abcdef0123456789abcdef01234567";
  mkdirSync(join(storage, "refs", dirname(revision)), { recursive: true });
  writeFileSync(join(storage, "refs", revision), sha);
  Object.entries(files).forEach(([rel, content], i) => {
    const blob = join(storage, "blobs", `blob${i}`);
    mkdirSync(dirname(blob), { recursive: true });
    if (typeof content === "string") copyFileSync(content, blob);
    else writeShard(blob, content);
    const link = join(storage, "snapshots", sha, rel);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(blob, link);
  });
}

describe("hf:<org>/<dataset>[/<config>] from the HF cache", () => {
  const cache = makeTempDir("hf-cache");
  const findParquet = (repoId: string, config: string | undefined) => findCachedParquet(repoId, { config, cacheDir: cache });
  cacheDataset(cache, "acme/tickets", "refs/convert/parquet", {
    "default/train/0000.parquet": ROWS.slice(0, 5),
    "default/train/0001.parquet": ROWS.slice(5),
    "default/test/0000.parquet": join(FORMAT_FIXTURES, "hf-unlabelled.parquet"),
    "other/train/0000.parquet": ROWS.slice(0, 2),
  });
  cacheDataset(cache, "acme/native", "main", { "data/train-00000-of-00001.parquet": join(FORMAT_FIXTURES, "hf-classlabel.parquet"), "README.md": ROWS });

  it("reads the Parquet conversion: train shards in order, the test split, the named config", async () => {
    const task = await loadTask({ path: "hf:acme/tickets", ...SPEC }, { findParquet });
    expect(task.name).toBe("tickets");
    expect(task.train.map((e) => e.id)).toEqual(ROWS.map((r) => r.ID));
    expect(task.test.map((e) => [e.id, e.label])).toEqual([["t1", undefined], ["t2", undefined], ["t3", undefined]]);
    expect(task.files.map((f) => f.split("/").slice(-3).join("/"))).toEqual(["default/train/0000.parquet", "default/train/0001.parquet", "default/test/0000.parquet"]);
    const other = await loadTask({ path: "hf:acme/tickets/other", ...SPEC, labels: FORMAT_ROWS.labels }, { findParquet });
    expect(other.train.map((e) => e.id)).toEqual(["t1", "t2"]);
  });

  it("falls back to Parquet files on main, with their ClassLabel names", async () => {
    const task = await loadTask({ path: "hf:acme/native", ...SPEC }, { findParquet });
    expect(task.labelNames).toEqual(FORMAT_ROWS.labels);
    expect(task.train).toHaveLength(9);
    expect(task.test).toEqual([]);
  });

  it("names what to download when the dataset or config is not cached", async () => {
    expect(await tfewMessageOf(loadTask({ path: "hf:acme/missing", ...SPEC }, { findParquet }))).toBe(
      `dataset acme/missing has no Parquet files in the HF cache at ${cache}; download them once with: huggingface-cli download acme/missing --repo-type dataset --revision refs/convert/parquet (or give a local .parquet/.arrow file)`,
    );
    expect(await tfewMessageOf(loadTask({ path: "hf:acme/tickets/nope", ...SPEC }, { findParquet }))).toMatch(/hf:acme\/tickets has no config "nope" .*\(cached: default, other\); .*--revision refs\/convert\/parquet --include "nope\/\*"/);
    expect(await tfewMessageOf(loadTask({ path: "hf:a/b/c/d", ...SPEC }, { findParquet }))).toMatch(/is not hf:<org>\/<dataset>\[\/<config>\]/);
    expect(await tfewMessageOf(loadTask({ path: "hf:acme/bad name", ...SPEC }, { findParquet }))).toMatch(/invalid hub id "acme\/bad name"/);
  });

  it("uses the standard cache (HF_HUB_CACHE) by default", async () => {
    const found = await findCachedParquet("acme/tickets", { env: { HF_HUB_CACHE: cache } });
    expect(found.revision).toBe("refs/convert/parquet");
    expect(Object.keys(found.splits).sort()).toEqual(["test", "train"]);
  });
});

describe("bad input gives one line", () => {
  const dir = makeTempDir("bad-formats");
  const fixture = (name: string) => join(FORMAT_FIXTURES, name);

  it("names a missing Parquet/Arrow column and the key that fixes it", async () => {
    expect(await tfewMessageOf(loadTask({ path: fixture("plain.parquet"), labelField: "Category" }))).toMatch(
      /plain\.parquet has no column "Category" \(its columns: "ID", "Title", "Body", "Label"\); fix the data or data\.label_field/,
    );
    expect(await tfewMessageOf(loadTask({ path: fixture("datasets-cache.arrow"), ...SPEC, textFields: ["Text"] }))).toMatch(/datasets-cache\.arrow has no column "Text" .*data\.text_fields/);
  });

  it.each([
    ["nested.parquet", /nested\.parquet column "Body" is a nested list column; tfew reads text, number and boolean columns, so leave it out of data\.text_fields/],
    ["binary.parquet", /binary\.parquet column "Body" is a binary column \(BYTE_ARRAY without a string annotation\)/],
    ["nested.arrow", /nested\.arrow column "Body" is a nested List<Utf8> column/],
    ["binary.arrow", /binary\.arrow column "Body" is a binary column \(Binary\)/],
  ])("rejects %s's unreadable column when it is used, and reads the file without it", async (name, message) => {
    expect(await tfewMessageOf(loadTask({ path: fixture(name), ...SPEC }))).toMatch(message);
    const task = await loadTask({ path: fixture(name), ...SPEC, textFields: ["Title"] });
    expect(task.train.map((e) => e.fields)).toEqual([{ Title: "x" }, { Title: "y" }]);
  });

  it("rejects .arrow files that are not Arrow IPC", async () => {
    const text = join(dir, "text.arrow");
    writeFileSync(text, "ID,Text\n1,hello\n");
    expect(await tfewMessageOf(loadTask({ path: text, ...SPEC }))).toMatch(/text\.arrow is not an Arrow IPC stream \(it does not start with an IPC message marker/);
    const parquet = join(dir, "parquet.arrow");
    copyFileSync(fixture("plain.parquet"), parquet);
    expect(await tfewMessageOf(loadTask({ path: parquet, ...SPEC }))).toMatch(/parquet\.arrow is not an Arrow IPC stream \(it is a Parquet file; name it \.parquet\)/);
    const cut = join(dir, "cut.arrow");
    writeFileSync(cut, Buffer.from(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0, 1, 2, 3])));
    expect(await tfewMessageOf(loadTask({ path: cut, ...SPEC }))).toMatch(/cut\.arrow is not an Arrow IPC stream/);
    writeFileSync(join(dir, "empty.arrow"), "");
    expect(await tfewMessageOf(loadTask({ path: join(dir, "empty.arrow"), ...SPEC }))).toMatch(/empty\.arrow is not an Arrow IPC stream \(it is empty\)/);
  });

  it("rejects a .parquet file that is not Parquet and an unknown extension", async () => {
    writeFileSync(join(dir, "fake.parquet"), "not parquet at all");
    expect(await tfewMessageOf(loadTask({ path: join(dir, "fake.parquet"), ...SPEC }))).toMatch(/fake\.parquet is not a readable Parquet file/);
    writeFileSync(join(dir, "data.xlsx"), "x");
    expect(await tfewMessageOf(loadTask({ path: join(dir, "data.xlsx"), ...SPEC }))).toMatch(/is not a RAFT folder, raft:<task>, hf:<org>\/<dataset>, or a \.csv\/\.jsonl\/\.parquet\/\.arrow\/\.json file/);
  });
});
