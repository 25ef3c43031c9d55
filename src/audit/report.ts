// The audit's files: label_issues.csv (every labelled example, most suspicious first), summary.json (thresholds,
// joint, noise matrix, issues per class) and label-studio-tasks.json (suspected rows with tfew's suggestion as a
// pre-annotation, importable into a Label Studio project with label-studio-config.xml).
import { join } from "node:path";
import { csvField } from "../data/table.js";
import type { TaskData } from "../data/task-types.js";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";
import type { ConfidentLearningResult } from "./confident.js";

export interface ReportInput {
  task: TaskData;
  probs: number[][];
  result: ConfidentLearningResult;
  /** data.label_field and data.id_field: the Label Studio control and ID key. */
  labelField: string;
  idField: string;
}

export const METHOD =
  "confident learning (Northcutt et al. 2021): issues = off-diagonal members of the confident joint (C_{ỹ,y*}), ranked by self-confidence";

/** label_issues.csv: ID, given_label, suggested_label, self_confidence, is_issue; lowest self-confidence first. */
export function labelIssuesCsv({ task, result }: ReportInput): string {
  const names = task.labelNames;
  const lines = result.ranking.map((i) => {
    const e = task.train[i] as (typeof task.train)[number];
    const cells = [
      e.id,
      names[e.label as number] as string,
      names[result.suggested[i] as number] as string,
      (result.selfConfidence[i] as number).toFixed(6),
      String(result.isIssue[i]),
    ];
    return cells.map(csvField).join(",");
  });
  return `ID,given_label,suggested_label,self_confidence,is_issue\n${lines.map((l) => `${l}\n`).join("")}`;
}

/** A per-class object {label: value}. */
const byLabel = <T>(names: readonly string[], values: readonly T[]): Record<string, T> =>
  Object.fromEntries(names.map((n, j) => [n, values[j] as T]));

/** A matrix as {given label: {true label: value}}. */
const matrix = (names: readonly string[], m: readonly number[][]): Record<string, Record<string, number>> =>
  byLabel(
    names,
    m.map((row) => byLabel(names, row)),
  );

export function summary(input: ReportInput, extra: Record<string, unknown>): Record<string, unknown> {
  const { task, result } = input;
  const names = task.labelNames;
  const correct = task.train.filter(
    (e, i) => (input.probs[i] as number[]).indexOf(Math.max(...(input.probs[i] as number[]))) === e.label,
  ).length;
  return {
    task: task.name,
    n: task.train.length,
    ...extra,
    method: METHOD,
    labels: names,
    label_counts: byLabel(names, result.labelCounts),
    thresholds: byLabel(
      names,
      result.thresholds.map((t) => (Number.isFinite(t) ? t : null)),
    ),
    out_of_fold_accuracy: correct / task.train.length,
    issues: result.isIssue.filter(Boolean).length,
    issues_per_class: byLabel(names, result.issuesPerClass),
    estimated_noise_rate: result.noiseRate,
    confident_joint: matrix(names, result.confidentJoint),
    joint: matrix(names, result.joint),
    noise_matrix: {
      meaning: "p(given label | true label): noise_matrix[given][true]",
      ...matrix(names, result.noiseMatrix),
    },
  };
}

/** Label Studio tasks for the issues: the example's fields, its ID and given label, and the suggestion as a prediction. */
export function labelStudioTasks(input: ReportInput): Record<string, unknown>[] {
  const { task, result, labelField, idField } = input;
  const toName = task.textFields[0] ?? "text";
  return result.ranking
    .filter((i) => result.isIssue[i])
    .map((i) => {
      const e = task.train[i] as (typeof task.train)[number];
      const suggested = result.suggested[i] as number;
      return {
        data: { ...e.fields, [idField]: e.id, [labelField]: task.labelNames[e.label as number] },
        predictions: [
          {
            model_version: "tfew-audit",
            score: (input.probs[i] as number[])[suggested],
            result: [
              {
                from_name: labelField,
                to_name: toName,
                type: "choices",
                value: { choices: [task.labelNames[suggested]] },
              },
            ],
          },
        ],
      };
    });
}

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A labeling config matching label-studio-tasks.json: the text fields, the given label, one choice per class. */
export function labelStudioConfig(input: ReportInput): string {
  const { task, labelField } = input;
  const texts = task.textFields
    .map((f) => `  <Header value="${xml(f)}"/>\n  <Text name="${xml(f)}" value="$${xml(f)}"/>`)
    .join("\n");
  const choices = task.labelNames.map((n) => `    <Choice value="${xml(n)}"/>`).join("\n");
  return `<View>\n  <Header value="Given label: $${xml(labelField)}"/>\n${texts}\n  <Choices name="${xml(labelField)}" toName="${xml(task.textFields[0] ?? "text")}" choice="single" showInline="true">\n${choices}\n  </Choices>\n</View>\n`;
}

/** Writes the four files into outDir (atomically). */
export async function writeReports(outDir: string, input: ReportInput, extra: Record<string, unknown>): Promise<void> {
  await writeFileAtomic(join(outDir, "label_issues.csv"), labelIssuesCsv(input));
  await writeJsonAtomic(join(outDir, "summary.json"), summary(input, extra));
  await writeJsonAtomic(join(outDir, "label-studio-tasks.json"), labelStudioTasks(input));
  await writeFileAtomic(join(outDir, "label-studio-config.xml"), labelStudioConfig(input));
}
