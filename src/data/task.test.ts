// Task loading: the shared RAFT folders, small RAFT-layout folders written here (label rule, every validation
// error), raft:<task> through a fake hub resolver, and .csv/.jsonl files.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { describe, expect, it } from "vitest";
import { SHARED_RAFT_DIR, hasSharedRaft, skipNote } from "../../tests/helpers/shared.js";
import { isTfewError } from "../errors.js";
import { parseLabel } from "./labels.js";
import { loadRaftTask } from "./raft.js";
import { RAFT_TASKS } from "./raft-tasks.js";
import { loadTask } from "./task.js";

/** Writes files (relative path → content) into a fresh temp folder and returns it. */
function makeDir(files: Record<string, string | Uint8Array>): string {
  const dir = mkdtempSync(join(tmpdir(), "tfew-task-"));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

const TASK_JSON = JSON.stringify({
  name: "toy",
  description: "",
  data_columns: ["Text", "Source", "ID"],
  label_columns: { Label: ["good", "bad"] },
});
const TRAIN = 'Text,Source,Label,ID\nfine day,web,good,0\n"multi\nline, with comma",  mail,bad,1\n';

/** The TfewError message of a failing load (fails the test if it does not throw a one-line TfewError). */
async function errorOf(load: Promise<unknown>): Promise<string> {
  const error: unknown = await load.then(() => undefined, (e: unknown) => e);
  expect(isTfewError(error), String(error)).toBe(true);
  const message = (error as Error).message;
  expect(message).not.toContain("\n");
  return message;
}

const SHARED_TEST_ROWS: Record<string, number> = {
  ade_corpus_v2: 5000, neurips_impact_statement_risks: 150, overruling: 2350, semiconductor_org_types: 449,
  systematic_review_inclusion: 2244, terms_of_service: 5000, tweet_eval_hate: 2966, twitter_complaints: 3399,
};

if (!hasSharedRaft) console.log(skipNote("data/raft"));

describe.skipIf(!hasSharedRaft)("shared RAFT folders", () => {
  it.each(Object.keys(SHARED_TEST_ROWS))("loads %s with its labels, fields and all rows", async (name) => {
    const dir = join(SHARED_RAFT_DIR, name);
    const task = await loadRaftTask(dir);
    const labelsJson = JSON.parse(await readFile(join(dir, "labels.json"), "utf8")) as {
      labels: string[]; text_columns: string[]; train_label_counts: Record<string, number>;
    };
    expect(task.name).toBe(name);
    expect(task.labelNames).toEqual(labelsJson.labels);
    expect(task.labelNames).toEqual(RAFT_TASKS[name]?.labelNames);
    expect(task.textFields).toEqual(labelsJson.text_columns);
    expect(task.instruction).toBe(RAFT_TASKS[name]?.instruction);
    expect(task.train).toHaveLength(50);
    expect(task.test).toHaveLength(SHARED_TEST_ROWS[name] ?? -1);
    expect(task.train.map((e) => e.id)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    expect(task.test.every((e) => e.label === undefined)).toBe(true);
    const counts: Record<string, number> = {};
    for (const e of task.train) counts[task.labelNames[e.label ?? -1] ?? "?"] = (counts[task.labelNames[e.label ?? -1] ?? "?"] ?? 0) + 1;
    expect(counts).toEqual(labelsJson.train_label_counts);
    expect(task.files.map((f) => f.split("/").at(-1))).toEqual(["task.json", "labels.json", "train.csv", "test_unlabeled.csv"]);
    expect(task.files.every((f) => isAbsolute(f))).toBe(true);
    if (name === "overruling") {
      // Unquoted leading spaces are dropped as csv.reader(skipinitialspace=True) does; quoted ones are kept.
      expect(task.test.find((e) => e.id === "239")?.fields.Sentence).toBe("{ 31} we find that the contempt in this case was criminal in nature.");
      expect(task.train[12]?.fields.Sentence).toBe(" narrowstep, 2010 wl 5422405, at *12.");
    }
  });
});

describe("RAFT folder", () => {
  it("reads names, quoted multi-line fields, BOM, ltrim, and 0-based integer labels", async () => {
    const dir = makeDir({
      "task.json": TASK_JSON,
      "train.csv": "\ufeff" + TRAIN + "third,web,0,2\n",
      "test_unlabeled.csv": "Text,Source,ID\nx,y,3\n",
    });
    const task = await loadRaftTask(dir);
    expect(task.name).toBe("toy");
    expect(task.textFields).toEqual(["Text", "Source"]);
    expect(task.instruction).toBe('Is this "good" or "bad"?'); // generic: no description, not a RAFT task
    expect(task.train).toEqual([
      { id: "0", fields: { Text: "fine day", Source: "web" }, label: 0 },
      { id: "1", fields: { Text: "multi\nline, with comma", Source: "mail" }, label: 1 },
      { id: "2", fields: { Text: "third", Source: "web" }, label: 0 },
    ]);
    expect(task.test).toEqual([{ id: "3", fields: { Text: "x", Source: "y" } }]);
    const withDescription = makeDir({ "task.json": TASK_JSON.replace('"description":""', '"description":"Rate it."'), "train.csv": TRAIN });
    expect((await loadRaftTask(withDescription)).instruction).toBe("Rate it.");
    expect((await loadRaftTask(withDescription)).test).toEqual([]);
  });

  it("takes text_fields and test_path overrides from the spec", async () => {
    const dir = makeDir({ "task.json": TASK_JSON, "train.csv": TRAIN, "other.csv": "Text,Source,Label,ID\nq,r,bad,9\n" });
    const task = await loadTask({ path: dir, textFields: ["Source"], testPath: join(dir, "other.csv") });
    expect(task.textFields).toEqual(["Source"]);
    expect(task.train[0]?.fields).toEqual({ Source: "web" });
    expect(task.test).toEqual([{ id: "9", fields: { Source: "r" }, label: 1 }]);
    expect(task.files.at(-1)).toBe(join(dir, "other.csv"));
  });

  it("parses labels by the documented rule: names first, then 0-based or HF 1-based (0 = Unlabeled) integers", () => {
    const names = ["complaint", "no complaint"];
    expect(parseLabel("no complaint", names, 0, "x")).toBe(1);
    expect(parseLabel("1", names, 0, "x")).toBe(1);
    expect(parseLabel("0", names, 0, "x")).toBe(0);
    expect(parseLabel("1", names, 1, "x")).toBe(0);
    expect(parseLabel("2", names, 1, "x")).toBe(1);
    expect(parseLabel("0", names, 1, "x")).toBeUndefined();
    expect(parseLabel("Unlabeled", names, 1, "x")).toBeUndefined();
    expect(parseLabel("7", ["7", "8"], 0, "x")).toBe(0); // a name wins over an index
    expect(() => parseLabel("2", names, 0, "f row 3, column \"Label\"")).toThrow(/label 2 at f row 3, column "Label" is outside 0\.\.1/);
    expect(() => parseLabel("3", names, 1, "x")).toThrow(/outside 1\.\.2 \(HF ought\/raft indices/);
  });

  it("rejects bad task folders with one-line errors naming file, row and column", async () => {
    const train = (body: string): Promise<unknown> => loadRaftTask(makeDir({ "task.json": TASK_JSON, "train.csv": body }));
    expect(await errorOf(train("Text,Source,Label,ID\na,b,good,0\nc,d,great,1\n"))).toMatch(/label "great" at .*train\.csv row 2 \(line 3\), column "Label" is not in the label list/);
    expect(await errorOf(train('Text,Source,Label,ID\n"a\nb",x,good,0\nc,d,0,0\n'))).toMatch(/duplicate ID "0" at row 2 .*train\.csv/);
    expect(await errorOf(train("Text,Label,ID\na,good,0\n"))).toMatch(/train\.csv has no column "Source"/);
    expect(await errorOf(train("Text,Source,ID\na,b,0\n"))).toMatch(/train\.csv has no column "Label"/);
    expect(await errorOf(train("Text,Source,Label,ID\na,b,,0\n"))).toMatch(/row 1 \(line 2\) has no label/);
    expect(await errorOf(train("Text,Source,Label,ID\n"))).toMatch(/train\.csv has a header but no rows/);
    expect(await errorOf(train(""))).toMatch(/train file .*train\.csv is empty/);
    expect(await errorOf(train('Text,Source,Label,ID\n"open,b,good,0\n'))).toMatch(/train\.csv is not valid CSV \(Quote Not Closed/);
    expect(await errorOf(train("Text,Source,Label,ID\na,b,good\n"))).toMatch(/not valid CSV \(Invalid Record Length: expect 4, got 3 on line 2\)/);
    const badUtf8 = Buffer.concat([Buffer.from("Text,Source,Label,ID\nok,b,good,0\nbad"), Buffer.from([0xff]), Buffer.from(",b,bad,1\n")]);
    expect(await errorOf(loadRaftTask(makeDir({ "task.json": TASK_JSON, "train.csv": badUtf8 })))).toMatch(/train\.csv is not valid UTF-8 \(byte 36, line 3\)/);
    const oneLabel = TASK_JSON.replace('["good","bad"]', '["good"]');
    expect(await errorOf(loadRaftTask(makeDir({ "task.json": oneLabel, "train.csv": TRAIN })))).toMatch(/has 1 label\(s\)/);
    const noLabels = TASK_JSON.replace('["good","bad"]', "[]");
    expect(await errorOf(loadRaftTask(makeDir({ "task.json": noLabels, "train.csv": TRAIN })))).toMatch(/has 0 label\(s\)/);
    expect(await errorOf(loadRaftTask(makeDir({ "train.csv": TRAIN })))).toMatch(/has no task\.json or labels\.json/);
    expect(await errorOf(loadRaftTask(makeDir({ "task.json": TASK_JSON })))).toMatch(/missing train file .*train\.csv/);
    expect(await errorOf(loadRaftTask(join(tmpdir(), "no-such-tfew-task")))).toMatch(/does not exist/);
  });
});

describe("raft:<task> from the hub", () => {
  const hubTrain = "Tweet text,Label,ID\n@a my order never came,1,0\n thanks for the help,2,1\n";
  const hubTest = "Tweet text,ID\nwhere is my parcel,2\n";
  const resolver = (train: string) => {
    const calls: [string, string[]][] = [];
    const resolveDataset = async (repoId: string, files: string[]) => {
      calls.push([repoId, files]);
      return { dir: makeDir({ "data/twitter_complaints/train.csv": train, "data/twitter_complaints/test_unlabeled.csv": hubTest }) };
    };
    return { calls, resolveDataset };
  };

  it("fetches ought/raft data/<task> CSVs and reads integer labels as HF ClassLabel indices", async () => {
    const { calls, resolveDataset } = resolver(hubTrain);
    const task = await loadTask({ path: "raft:twitter_complaints" }, { resolveDataset });
    expect(calls).toEqual([["ought/raft", ["data/twitter_complaints/train.csv", "data/twitter_complaints/test_unlabeled.csv"]]]);
    expect(task.labelNames).toEqual(["complaint", "no complaint"]);
    expect(task.instruction).toBe("Is this tweet a complaint?");
    expect(task.train.map((e) => e.label)).toEqual([0, 1]);
    expect(task.train[1]?.fields).toEqual({ "Tweet text": "thanks for the help" });
    expect(task.test).toEqual([{ id: "2", fields: { "Tweet text": "where is my parcel" } }]);
    expect(task.files).toHaveLength(2);
  });

  it("rejects an Unlabeled (0) training row, unknown tasks and a missing resolver", async () => {
    const { resolveDataset } = resolver("Tweet text,Label,ID\nhello,0,0\n");
    expect(await errorOf(loadTask({ path: "raft:twitter_complaints" }, { resolveDataset }))).toMatch(/row 1 \(line 2\) has no label \("0"/);
    expect(await errorOf(loadTask({ path: "raft:nope" }, { resolveDataset }))).toMatch(/raft:nope is not a RAFT task; use one of ade_corpus_v2/);
    expect(await errorOf(loadTask({ path: "raft:overruling" }))).toMatch(/needs the hub dataset resolver/);
  });

  it("has built-in label lists for all 11 RAFT tasks", () => {
    expect(Object.keys(RAFT_TASKS)).toHaveLength(11);
    expect(RAFT_TASKS.banking_77?.labelNames).toHaveLength(77);
    expect(new Set(RAFT_TASKS.banking_77?.labelNames).size).toBe(77);
    expect(RAFT_TASKS.one_stop_english?.labelNames).toEqual(["advanced", "elementary", "intermediate"]);
    expect(RAFT_TASKS.tai_safety_research?.labelNames).toEqual(["TAI safety research", "not TAI safety research"]);
  });
});

describe(".csv / .jsonl tasks", () => {
  it("loads a CSV with an ID column and a JSONL test file, labels by name or 0-based index", async () => {
    const dir = makeDir({
      "reviews.csv": "id,title,body,stars\nr1,Great,Loved it,pos\nr2,Meh, Broke quickly,0\n",
      "test.jsonl": '{"id": "t1", "title": "Ok", "body": "fine", "stars": 1}\n\n{"id": 7, "title": "No", "body": null}\n',
    });
    const options = { textFields: ["title", "body"], labelField: "stars", labels: ["neg", "pos"], idField: "id" };
    const task = await loadTask({ path: join(dir, "reviews.csv"), ...options, testPath: join(dir, "test.jsonl") });
    expect(task.name).toBe("reviews");
    expect(task.train).toEqual([
      { id: "r1", fields: { title: "Great", body: "Loved it" }, label: 1 },
      { id: "r2", fields: { title: "Meh", body: "Broke quickly" }, label: 0 },
    ]);
    expect(task.test).toEqual([
      { id: "t1", fields: { title: "Ok", body: "fine" }, label: 1 },
      { id: "7", fields: { title: "No", body: "" } },
    ]);
    expect(task.instruction).toBe('Is this "neg" or "pos"?');
    expect(task.files).toEqual([join(dir, "reviews.csv"), join(dir, "test.jsonl")]);
  });

  it("numbers rows when there is no ID column, and reports missing fields and bad JSON by row and line", async () => {
    const dir = makeDir({
      "a.jsonl": '{"text": "x", "label": "yes"}\n{"text": "y", "label": "no"}\n',
      "b.jsonl": '{"text": "x", "label": "yes"}\n\n{"label": "no"}\n',
      "c.jsonl": '{"text": "x", "label": "yes"}\n{"text": oops}\n',
    });
    const options = { textFields: ["text"], labelField: "label", labels: ["no", "yes"] };
    const task = await loadTask({ path: join(dir, "a.jsonl"), ...options });
    expect(task.train.map((e) => [e.id, e.label])).toEqual([["1", 1], ["2", 0]]);
    expect(await errorOf(loadTask({ path: join(dir, "b.jsonl"), ...options }))).toMatch(/b\.jsonl row 2 \(line 3\) has no column "text"/);
    expect(await errorOf(loadTask({ path: join(dir, "c.jsonl"), ...options }))).toMatch(/c\.jsonl row 2 \(line 2\) is not valid JSON/);
    expect(await errorOf(loadTask({ path: join(dir, "a.jsonl"), ...options, labelField: "lbl" }))).toMatch(/row 1 \(line 1\) has no column "lbl" .*fix the data or data\.label_field/);
    expect(await errorOf(loadTask({ path: join(dir, "a.jsonl"), ...options, labels: ["yes", "yes"] }))).toMatch(/appears twice/);
    expect(await errorOf(loadTask({ path: join(dir, "missing.txt") }))).toMatch(/does not exist/);
  });

  it("defaults like the run config: text fields = all but ID and label, labels inferred, rows numbered without an ID column", async () => {
    const dir = makeDir({ "t.csv": "Label,Title,Body\n2,a,b\n10,c,d\n2,e,f\n", "u.csv": "ID,Text,Label\nx,p,no\ny,q,yes\n" });
    const task = await loadTask({ path: join(dir, "t.csv"), idField: "ID" });
    expect(task.textFields).toEqual(["Title", "Body"]);
    expect(task.labelNames).toEqual(["2", "10"]); // numeric order
    expect(task.train.map((e) => [e.id, e.label])).toEqual([["1", 0], ["2", 1], ["3", 0]]);
    const named = await loadTask({ path: join(dir, "u.csv"), idField: "ID" });
    expect(named.textFields).toEqual(["Text"]);
    expect(named.labelNames).toEqual(["no", "yes"]);
    expect(named.train.map((e) => e.id)).toEqual(["x", "y"]);
  });
});
