// The audit's files from a small hand-made result: CSV order and quoting, JSON-safe thresholds, Label Studio
// tasks for the issues only (with the suggestion as a pre-annotation), and an escaped labeling config.
import { describe, expect, it } from "vitest";
import type { TaskData } from "../data/task-types.js";
import { confidentLearning } from "./confident.js";
import { labelIssuesCsv, labelStudioConfig, labelStudioTasks, summary } from "./report.js";

const task: TaskData = {
  name: "toy",
  labelNames: ["a&b", "c"],
  textFields: ["Text"],
  instruction: "",
  train: [
    { id: "x,1", fields: { Text: "one" }, label: 0 },
    { id: "x2", fields: { Text: "two" }, label: 0 },
    { id: "x3", fields: { Text: "three" }, label: 1 },
  ],
  test: [],
  files: [],
};
// t0 = (0.9 + 0.2) / 2 = 0.55, t1 = 0.7 → guesses 0, 1 (0.8 ≥ 0.7), 1 → x2 is an issue
const probs = [
  [0.9, 0.1],
  [0.2, 0.8],
  [0.3, 0.7],
];
const input = { task, probs, result: confidentLearning(probs, [0, 0, 1], 2), labelField: "Label", idField: "ID" };

describe("audit reports", () => {
  it("label_issues.csv lists every example, lowest self-confidence first, with quoted fields", () => {
    expect(labelIssuesCsv(input)).toBe(
      'ID,given_label,suggested_label,self_confidence,is_issue\nx2,a&b,c,0.200000,true\nx3,c,c,0.700000,false\n"x,1",a&b,a&b,0.900000,false\n',
    );
  });

  it("summary.json counts issues per class and gives the noise matrix by label names", () => {
    const s = summary(input, { folds: 2 });
    expect(s.issues).toBe(1);
    expect(s.issues_per_class).toEqual({ "a&b": 1, c: 0 });
    expect(s.out_of_fold_accuracy).toBeCloseTo(2 / 3, 12);
    expect(s.confident_joint).toEqual({ "a&b": { "a&b": 1, c: 1 }, c: { "a&b": 0, c: 1 } });
    const lone = summary({ ...input, result: confidentLearning(probs, [0, 0, 0], 2) }, {});
    expect(lone.thresholds).toEqual({ "a&b": expect.any(Number), c: null }); // no example labelled c: Infinity → null
    expect(JSON.parse(JSON.stringify(lone))).toEqual(lone);
  });

  it("Label Studio tasks hold the issues with tfew's suggestion as a prediction; the config escapes names", () => {
    expect(labelStudioTasks(input)).toEqual([
      {
        data: { Text: "two", ID: "x2", Label: "a&b" },
        predictions: [
          {
            model_version: "tfew-audit",
            score: 0.8,
            result: [{ from_name: "Label", to_name: "Text", type: "choices", value: { choices: ["c"] } }],
          },
        ],
      },
    ]);
    const xml = labelStudioConfig(input);
    expect(xml).toContain('<Choices name="Label" toName="Text" choice="single" showInline="true">');
    expect(xml).toContain('<Choice value="a&amp;b"/>');
    expect(xml).toContain('<Text name="Text" value="$Text"/>');
  });
});
