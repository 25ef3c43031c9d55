// The rows of tests/fixtures/data-formats/rows.json and writers for the text formats (CSV, JSONL, Label Studio
// JSON export) that the format tests compare with the Parquet/Arrow files.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./shared.js";
import { toCsv } from "./tfew-cli.js";

export const FORMAT_FIXTURES = join(REPO_ROOT, "tests", "fixtures", "data-formats");

export interface FormatRow {
  ID: string;
  Title: string;
  Body: string;
  Label: string;
}

export const FORMAT_ROWS = JSON.parse(readFileSync(join(FORMAT_FIXTURES, "rows.json"), "utf8")) as {
  labels: string[];
  rows: FormatRow[];
};

export function toCsvText(rows: readonly FormatRow[]): string {
  return toCsv(
    ["ID", "Title", "Body", "Label"],
    rows.map((r) => [r.ID, r.Title, r.Body, r.Label]),
  );
}

export function toJsonlText(rows: readonly FormatRow[]): string {
  return rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
}

/** A Label Studio annotation choosing `label` (as the JSON export writes it). */
export function annotation(
  label: string,
  options: { id?: number; at?: string; cancelled?: boolean; groundTruth?: boolean; control?: string } = {},
): Record<string, unknown> {
  return {
    id: options.id ?? 1,
    completed_by: 1,
    result: [
      {
        id: "r1",
        type: "choices",
        from_name: options.control ?? "sentiment",
        to_name: "text",
        origin: "manual",
        value: { choices: [label] },
      },
    ],
    was_cancelled: options.cancelled ?? false,
    ground_truth: options.groundTruth ?? false,
    created_at: options.at ?? "2024-05-01T10:00:00.000000Z",
    updated_at: options.at ?? "2024-05-01T10:00:00.000000Z",
    lead_time: 3.2,
  };
}

/** A Label Studio JSON export of the rows: data {ID, Title, Body}, one annotation each (task ids from 101). */
export function labelStudioExport(rows: readonly FormatRow[]): Record<string, unknown>[] {
  return rows.map((r, i) => ({
    id: 101 + i,
    data: { ID: r.ID, Title: r.Title, Body: r.Body },
    annotations: [annotation(r.Label, { id: 1000 + i })],
    predictions: [],
    meta: {},
    created_at: "2024-05-01T09:00:00.000000Z",
    project: 1,
  }));
}
