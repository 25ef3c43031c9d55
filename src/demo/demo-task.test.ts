// The demo task: deterministic rows, CSV quoting as Python's csv.writer, and a round trip through the project's
// RAFT loader (multi-line field, escaped quotes, leading spaces) back to the generated texts and labels.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRaftTask } from "../data/raft.js";
import { csvField } from "../data/table.js";
import { DEMO_LABELS, generateDemoTask, labelsJson, taskJson, toCsv, type DemoTask } from "./demo-task.js";

const options = { seed: 7, trainRows: 60, testRows: 100 };

function writeTask(task: DemoTask): string {
  const dir = mkdtempSync(join(tmpdir(), "tfew-demo-task-"));
  writeFileSync(join(dir, "train.csv"), toCsv(task, "train"));
  writeFileSync(join(dir, "test_unlabeled.csv"), toCsv(task, "test"));
  writeFileSync(join(dir, "task.json"), taskJson(task));
  writeFileSync(join(dir, "labels.json"), labelsJson(task));
  return dir;
}

describe("generateDemoTask", () => {
  it("is deterministic, balanced, ASCII, with RAFT IDs (train 0.., test continuing)", () => {
    const task = generateDemoTask(options);
    expect(generateDemoTask(options)).toEqual(task);
    expect(generateDemoTask({ ...options, seed: 8 }).train.map((r) => r.text)).not.toEqual(
      task.train.map((r) => r.text),
    );
    expect(task.train.map((r) => r.id)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(task.test.map((r) => r.id)).toEqual(Array.from({ length: 100 }, (_, i) => 60 + i));
    for (const k of [0, 1, 2]) expect(task.train.filter((r) => r.label === k)).toHaveLength(20);
    expect(task.train.slice(0, 3).map((r) => r.label)).toEqual([0, 1, 2]);
    for (const row of [...task.train, ...task.test]) expect(row.text).toMatch(/^[\x20-\x7e\n]+$/);
    expect(new Set(task.train.map((r) => r.text)).size).toBeGreaterThan(50); // mostly distinct tickets
  });
});

describe("demo task files", () => {
  it("quote fields like csv.writer QUOTE_MINIMAL", () => {
    expect(csvField("plain text.")).toBe("plain text.");
    expect(csvField(" leading space")).toBe(" leading space");
    expect(csvField('say "hi", ok')).toBe('"say ""hi"", ok"');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
  });

  it("write RAFT headers, one-line task.json and labels.json like the shared RAFT folders", () => {
    const task = generateDemoTask(options);
    const train = toCsv(task, "train");
    expect(train.startsWith("Ticket,Label,ID\n")).toBe(true);
    expect(toCsv(task, "test").startsWith("Ticket,ID\n")).toBe(true);
    expect(train).toContain('"Hello team, my invoice for March lists the Pro plan twice.\nThanks,\nDana",billing,0\n');
    expect(train).toContain('""Export""');
    expect(train).toContain("\n Please add a dark mode to the mobile app.,feature request,2\n");
    expect(train).toMatch(/, (billing|bug report|feature request),3\n/);
    expect(taskJson(task)).toBe(
      '{"name": "support_tickets", "description": "Which team should handle this customer support ticket?", ' +
        '"data_columns": ["Ticket", "ID"], "label_columns": {"Label": ["billing", "bug report", "feature request"]}}',
    );
    const labels = JSON.parse(labelsJson(task)) as Record<string, unknown>;
    expect(labels.labels).toEqual(DEMO_LABELS);
    expect(labels.hf_class_label_names).toEqual(["Unlabeled", ...DEMO_LABELS]);
    expect(labels.train_label_counts).toEqual({ billing: 20, "bug report": 20, "feature request": 20 });
  });

  it("load back through loadRaftTask with the generated texts and labels", async () => {
    const task = generateDemoTask(options);
    const loaded = await loadRaftTask(writeTask(task));
    expect(loaded.name).toBe("support_tickets");
    expect(loaded.labelNames).toEqual(DEMO_LABELS);
    expect(loaded.textFields).toEqual(["Ticket"]);
    expect(loaded.instruction).toBe(task.description);
    expect(loaded.train.map((e) => [e.id, e.fields.Ticket, e.label])).toEqual(
      task.train.map((r) => [String(r.id), r.text.trimStart(), r.label]),
    );
    expect(loaded.test.map((e) => [e.id, e.fields.Ticket, e.label])).toEqual(
      task.test.map((r) => [String(r.id), r.text, undefined]),
    );
    expect(loaded.train[0]?.fields.Ticket).toContain("\n"); // the multi-line field survived
  });
});
