// A generative task from a task file (data.target_field): targets are text, no labels; the prompt's columns
// default to all but the ID and the target; test rows may lack a target; the default prompt ends "\n<target>:";
// a missing target column, an empty training target, data.labels and a RAFT folder are each one line.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tfewMessageOf } from "../../tests/helpers/errors.js";
import { DEMO_TASK_DIR, makeTempDir } from "../../tests/helpers/tfew-cli.js";
import { loadTask } from "./task.js";
import { renderPrompt } from "./template.js";
import type { T5Tokenizer } from "./tokenizer.js";

function files(): { train: string; test: string; dir: string } {
  const dir = makeTempDir("tfew-generative-data-");
  const train = join(dir, "train.jsonl");
  const test = join(dir, "test.csv");
  const rows = [
    { ID: "a", title: "Hello", body: "first", summary: "hi" },
    { ID: "b", title: "Bye", body: "second", summary: " see you " },
  ];
  writeFileSync(train, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  writeFileSync(test, "ID,title,body\nc,Third,no target here\n");
  return { train, test, dir };
}

describe("loadTask with data.target_field", () => {
  it("reads free-text targets, no labels; the text fields leave out ID and target; test rows need none", async () => {
    const { train, test } = files();
    const task = await loadTask({ path: train, testPath: test, targetField: "summary", idField: "ID" });
    expect(task.targetField).toBe("summary");
    expect(task.labelNames).toEqual([]);
    expect(task.textFields).toEqual(["title", "body"]);
    expect(task.train.map((e) => [e.id, e.target, e.label])).toEqual([
      ["a", "hi", undefined],
      ["b", "see you", undefined],
    ]);
    expect(task.test).toEqual([{ id: "c", fields: { title: "Third", body: "no target here" } }]);
  });

  it("renders the default prompt as the fields' lines and then the target column's name", async () => {
    const { train } = files();
    const task = await loadTask({ path: train, targetField: "summary", idField: "ID", instruction: "Summarize." });
    const tokenizer = { encode: (s: string) => Array.from(s, () => 1) } as unknown as T5Tokenizer;
    const prompt = renderPrompt(task, task.train[0]!, { tokenizer, maxSeqLen: 1000 });
    expect(prompt.text).toBe("Summarize.\ntitle: Hello\nbody: first\nsummary:");
  });

  it("a missing target column, an empty training target, data.labels, a RAFT folder: one line each", async () => {
    const { train, dir } = files();
    expect(await tfewMessageOf(loadTask({ path: train, targetField: "gist", idField: "ID" }))).toMatch(
      /has no column "gist" .*data\.target_field/,
    );
    const empty = join(dir, "empty.csv");
    writeFileSync(empty, "ID,text,summary\n1,some text,\n");
    expect(await tfewMessageOf(loadTask({ path: empty, targetField: "summary" }))).toMatch(
      /column "summary" is empty; training rows of a generative task need a target text \(data\.target_field\)/,
    );
    expect(await tfewMessageOf(loadTask({ path: train, targetField: "summary", labels: ["x", "y"] }))).toContain(
      "remove data.labels",
    );
    expect(await tfewMessageOf(loadTask({ path: DEMO_TASK_DIR, targetField: "Label" }))).toContain(
      "does not apply to a RAFT task",
    );
  });
});
