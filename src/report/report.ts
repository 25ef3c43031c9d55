// `tfew report`: run / sweep folders → one self-contained HTML page of charts (load.ts reads, page.ts draws).
// The page is written atomically and never over a file that is not an earlier tfew report.
import { existsSync, readFileSync } from "node:fs";
import { TfewError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { loadInputs } from "./load.js";
import { renderPage } from "./page.js";

export interface ReportOptions {
  inputs: readonly string[];
  out: string;
  /** EMA weight of the smoothed curves, 0 ≤ w < 1 (default 0.6, TensorBoard's) */
  smoothing?: number;
  now?: Date;
}

export interface ReportResult {
  out: string;
  runs: number;
  charts: number;
  bytes: number;
}

const GENERATOR = '<meta name="generator" content="tfew report">';

/** Whether `path` is a page tfew report wrote (the only kind `tfew report --overwrite` replaces). */
export function isReport(path: string): boolean {
  return existsSync(path) && readFileSync(path, "utf8").includes(GENERATOR);
}

/** Writes the page; the CLI checked --output first (checkOutputs with isReport). */
export async function writeReport(options: ReportOptions): Promise<ReportResult> {
  if (options.smoothing !== undefined && !(options.smoothing >= 0 && options.smoothing < 1)) {
    throw new TfewError(
      `report: --smoothing ${options.smoothing} is out of range; use 0 <= w < 1 (TensorBoard's default is 0.6)`,
    );
  }
  const inputs = loadInputs(options.inputs);
  const html = renderPage(inputs, { generatedAt: options.now ?? new Date(), smoothing: options.smoothing });
  await writeFileAtomic(options.out, html);
  return {
    out: options.out,
    runs: inputs.runs.length + inputs.groups.reduce((n, g) => n + g.cells.length, 0),
    charts: html.split('class="chart ').length - 1,
    bytes: Buffer.byteLength(html),
  };
}
