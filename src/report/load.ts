// Reads what `tfew report` draws: run folders (metrics.jsonl, summary.json, config.resolved.yaml, eval
// metrics.json), sweep folders (sweep.json's cells[].run_dir, else cells/*) and plain folders of run folders.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { TfewError } from "../errors.js";
import { hasMetricsLog, readJsonSync, runPaths } from "../io/run-dir.js";

/** One metrics.jsonl row: `step` and the logged fields (null where the log has null). */
export type MetricsRow = { step: number } & Record<string, number | null>;

export interface EvalResult {
  /** the metrics.json file */
  file: string;
  task: string | null;
  split: string | null;
  n: number | null;
  accuracy: number;
  macro_f1: number;
  per_class: { label: string; f1: number; support?: number }[];
  confusion: number[][] | null;
}

export interface RunData {
  dir: string;
  name: string;
  rows: MetricsRow[];
  summary: Record<string, unknown> | null;
  evals: EvalResult[];
  /** the config's data.path and seed, when config.resolved.yaml is there */
  task: string | null;
  seed: number | null;
}

export interface CellData {
  index: number;
  label: string;
  /** what cells are grouped by for mean ± std: the data.path override, else the run's data.path */
  task: string;
  run: RunData;
}

export interface GroupData {
  dir: string;
  name: string;
  kind: "sweep" | "folder";
  cells: CellData[];
}

export interface ReportInputs {
  runs: RunData[];
  groups: GroupData[];
  /** eval folders without a training log (tfew eval --out DIR) */
  evals: EvalResult[];
}

function isDir(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function subdirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(dir, e.name))
    .sort();
}

const isRunDir = hasMetricsLog;

/** metrics.jsonl rows; lines that are not whole JSON objects with a numeric step (a killed run's last line) are skipped. */
export function parseMetricsLog(text: string): MetricsRow[] {
  const rows: MetricsRow[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof value !== "object" || value === null || typeof (value as { step?: unknown }).step !== "number") continue;
    const row: Record<string, number | null> = {};
    for (const [k, v] of Object.entries(value)) if (typeof v === "number" || v === null) row[k] = v;
    rows.push(row as MetricsRow);
  }
  return rows;
}

/** An eval metrics.json (accuracy, macro_f1, per_class, confusion); null for other JSON (e.g. a K-fold summary). */
export function parseEvalMetrics(value: unknown, file: string): EvalResult | null {
  const m = value as Partial<Record<string, unknown>> | null;
  if (
    m === null ||
    typeof m !== "object" ||
    typeof m.accuracy !== "number" ||
    typeof m.macro_f1 !== "number" ||
    !Array.isArray(m.per_class)
  )
    return null;
  return {
    file,
    task: typeof m.task === "string" ? m.task : null,
    split: typeof m.split === "string" ? m.split : null,
    n: typeof m.n === "number" ? m.n : null,
    accuracy: m.accuracy,
    macro_f1: m.macro_f1,
    per_class: (m.per_class as { label?: unknown; f1?: unknown; support?: unknown }[]).map((c) => ({
      label: String(c.label),
      f1: Number(c.f1),
      ...(typeof c.support === "number" ? { support: c.support } : {}),
    })),
    confusion: Array.isArray(m.confusion) ? (m.confusion as number[][]) : null,
  };
}

/** Eval results in these folders and their sub-folders that are not runs themselves. */
function findEvals(dirs: readonly string[]): EvalResult[] {
  const files = new Set<string>();
  for (const dir of dirs) {
    if (!isDir(dir)) continue;
    files.add(join(dir, "metrics.json"));
    for (const sub of subdirs(dir)) if (!isRunDir(sub)) files.add(join(sub, "metrics.json"));
  }
  return [...files]
    .filter((f) => existsSync(f))
    .map((f) => parseEvalMetrics(readJsonSync(f, { what: "report" }), f))
    .filter((e): e is EvalResult => e !== null);
}

function runConfig(dir: string): { task: string | null; seed: number | null } {
  const file = runPaths(dir).config;
  if (!existsSync(file)) return { task: null, seed: null };
  const config = parseYaml(readFileSync(file, "utf8")) as { data?: { path?: unknown }; seed?: unknown } | null;
  return {
    task: typeof config?.data?.path === "string" ? config.data.path : null,
    seed: typeof config?.seed === "number" ? config.seed : null,
  };
}

/** One run folder; `extraEvalDirs` are searched for eval results too (a sweep cell's folder). */
export function loadRun(dir: string, options: { name?: string; extraEvalDirs?: readonly string[] } = {}): RunData {
  const full = resolve(dir);
  const files = runPaths(full);
  const rows = parseMetricsLog(readFileSync(files.metrics, "utf8"));
  const summaryFile = files.summary;
  const summary = existsSync(summaryFile)
    ? readJsonSync<Record<string, unknown>>(summaryFile, { what: "report" })
    : null;
  return {
    dir: full,
    name: options.name ?? basename(full),
    rows,
    summary,
    evals: findEvals([full, ...(options.extraEvalDirs ?? [])]),
    ...runConfig(full),
  };
}

/** The run folder of a sweep cell: the folder itself or a run folder inside it. */
function cellRunDir(dir: string): string | null {
  if (isRunDir(dir)) return dir;
  return isDir(dir) ? (subdirs(dir).find(isRunDir) ?? null) : null;
}

/** sweep.json as `tfew sweep run` writes it: cells with their folder (`dir`, holding run/ and eval/) or `run_dir`. */
interface SweepFile {
  cells?: { index?: unknown; run_dir?: unknown; dir?: unknown; overrides?: unknown; task?: unknown }[];
}

/** The cell's task: sweep.json's `task`, else its data.path override, else the run config's data.path. */
function taskOf(cell: { overrides?: unknown; task?: unknown }, run: RunData): string {
  if (typeof cell.task === "string") return cell.task;
  const o = cell.overrides as Record<string, unknown> | null | undefined;
  const fromOverride = o !== null && typeof o === "object" ? o["data.path"] : undefined;
  return typeof fromOverride === "string" ? fromOverride : (run.task ?? "all");
}

/** "#3 data.path=raft:tai_safety_research, seed=2" from a cell's overrides; its folder when it has none. */
function cellName(index: number, overrides: unknown, folder: string): string {
  const o =
    overrides !== null && typeof overrides === "object" ? Object.entries(overrides as Record<string, unknown>) : [];
  return o.length > 0
    ? `#${index} ${o.map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ")}`
    : folder;
}

function loadSweep(dir: string): GroupData {
  const sweep = readJsonSync<SweepFile>(join(dir, "sweep.json"), { what: "report" });
  const listed = Array.isArray(sweep.cells) ? sweep.cells : null;
  const entries =
    listed !== null
      ? listed.map((c, i) => ({
          index: typeof c.index === "number" ? c.index : i,
          dir: resolve(dir, String(c.run_dir ?? c.dir ?? join("cells", String(i)))),
          overrides: c.overrides,
          task: c.task,
        }))
      : (isDir(join(dir, "cells")) ? subdirs(join(dir, "cells")) : []).map((d, i) => ({
          index: i,
          dir: d,
          overrides: undefined,
          task: undefined,
        }));
  const cells: CellData[] = [];
  for (const entry of entries) {
    const runDir = cellRunDir(entry.dir);
    if (runDir === null) continue; // a cell that has not started yet
    // eval results may sit beside the run, in its cell folder (DIR/cells/<i>-<slug>/{run,eval}/)
    const cellDir = entry.dir !== runDir ? entry.dir : dirname(runDir);
    const extraEvalDirs = [resolve(dir), resolve(dir, "cells")].includes(resolve(cellDir)) ? [] : [cellDir];
    const run = loadRun(runDir, {
      name: cellName(entry.index, entry.overrides, relative(resolve(dir), runDir)),
      extraEvalDirs,
    });
    cells.push({ index: entry.index, label: run.name, task: taskOf(entry, run), run });
  }
  return { dir: resolve(dir), name: basename(resolve(dir)), kind: "sweep", cells };
}

/** Run folders up to two levels below `dir` (e.g. DIR/<run>/ or DIR/cells/<cell>/). */
function runsBelow(dir: string): string[] {
  const out: string[] = [];
  for (const sub of subdirs(dir)) {
    if (isRunDir(sub)) out.push(sub);
    else for (const sub2 of subdirs(sub)) if (isRunDir(sub2)) out.push(sub2);
  }
  return out;
}

/** Loads each input path as a run, a sweep, a folder of runs, or an eval folder — in that order of checks. */
export function loadInputs(paths: readonly string[]): ReportInputs {
  if (paths.length === 0)
    throw new TfewError(
      "report: give at least one run or sweep folder (tfew report RUN_OR_SWEEP... --output report.html)",
    );
  const inputs: ReportInputs = { runs: [], groups: [], evals: [] };
  for (const path of paths) {
    if (!isDir(path))
      throw new TfewError(
        `report: ${path} is not a folder; give a run folder (tfew train --out) or a sweep folder (tfew sweep run --out)`,
      );
    if (isRunDir(path)) inputs.runs.push(loadRun(path));
    else if (existsSync(join(path, "sweep.json"))) inputs.groups.push(loadSweep(path));
    else if (runsBelow(path).length > 0) {
      const cells = runsBelow(path).map((d, index) => {
        const run = loadRun(d, { name: relative(resolve(path), resolve(d)) });
        return { index, label: run.name, task: run.task ?? "all", run };
      });
      inputs.groups.push({ dir: resolve(path), name: basename(resolve(path)), kind: "folder", cells });
    } else {
      const evals = findEvals([path]);
      if (evals.length === 0) {
        throw new TfewError(
          `report: ${path} has no metrics.jsonl, sweep.json, run folders or eval metrics.json; give a folder tfew train, tfew sweep or tfew eval wrote`,
        );
      }
      inputs.evals.push(...evals);
    }
  }
  return inputs;
}
