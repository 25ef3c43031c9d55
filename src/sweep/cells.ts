// The cells of a sweep: the product of the grid's lists (first key slowest), each with a folder slug and its
// run config resolved through src/config/load.ts (base files, then set, then the cell's grid values).
import { basename, dirname, resolve } from "node:path";
import { DEFAULT_CONFIG_FILE, loadRunConfig } from "../config/load.js";
import { aliasTarget, deprecationWarning } from "../config/aliases.js";
import { schemaAt, unknownKeyMessage } from "../config/issues.js";
import type { RunConfig } from "../config/schema.js";
import { isTfewError, TfewError } from "../errors.js";
import type { LoadedSweep, SweepFile } from "./schema.js";

/** One cell as sweep.json records it. */
export interface SweepCell {
  index: number;
  slug: string;
  overrides: Record<string, unknown>; // this cell's grid values, key path -> value
  dir: string; // the cell folder, relative to the sweep folder: cells/<index>-<slug>
  task: string; // data.path of the resolved config (results.md groups by it)
  seed: number;
}

export interface ResolvedCell extends SweepCell {
  config: RunConfig;
}

/** The package root (bin/tfew.js, configs/, data/): two levels above src/sweep or dist/sweep. */
export const PACKAGE_ROOT = dirname(dirname(DEFAULT_CONFIG_FILE));

/** The grid's product in file order, the last key changing fastest: {a: [1, 2], b: [x, y]} -> (1, x), (1, y), (2, x), (2, y). */
export function expandGrid(grid: Record<string, readonly unknown[]>): Record<string, unknown>[] {
  let cells: Record<string, unknown>[] = [{}];
  for (const [key, values] of Object.entries(grid)) {
    cells = cells.flatMap((cell) => values.map((value) => ({ ...cell, [key]: value })));
  }
  return cells;
}

/** A folder-safe name for a cell's overrides: {data.path: "raft:ade_corpus_v2", seed: 1} -> path-raft-ade_corpus_v2_seed-1. */
export function cellSlug(overrides: Record<string, unknown>): string {
  const keys = Object.keys(overrides);
  const short = keys.map((key) => key.split(".").at(-1) ?? key);
  const names = new Set(short).size === short.length ? short : keys.map((key) => key.replaceAll(".", "-"));
  const parts = keys.map((key, i) => `${names[i]}-${slugValue(overrides[key])}`);
  const slug = parts.join("_").replace(/-+/g, "-");
  return slug.length > 80 ? slug.slice(0, 80).replace(/[-_.]+$/, "") : slug;
}

function slugValue(value: unknown): string {
  let text: string;
  if (Array.isArray(value)) text = value.map(String).join("+");
  else if (typeof value === "string") text = value.includes("/") ? basename(value.replace(/\/+$/, "")) : value;
  else text = String(value);
  const safe = text.replace(/[^A-Za-z0-9._+-]+/g, "-").replace(/^[-.]+|-+$/g, "");
  return safe === "" ? "x" : safe;
}

/** `key=value` for loadRunConfig: the value as JSON, which YAML reads back exactly (strings stay strings). */
export function setArgument(key: string, value: unknown): string {
  return `${key}=${JSON.stringify(value)}`;
}

/**
 * Every key of set and grid must be a run-config key path: unknown ones are named, with the allowed keys.
 * Returns a warning line per deprecated key (train.workers); one given with its new name too is an error.
 */
function checkKeys(sweep: SweepFile, file: string): string[] {
  const warnings: string[] = [];
  const all = [...Object.keys(sweep.grid), ...Object.keys(sweep.set)];
  for (const [where, entries] of [
    ["grid", Object.entries(sweep.grid)],
    ["set", Object.entries(sweep.set)],
  ] as const) {
    for (const [key, value] of entries) {
      const target = aliasTarget(key.split("."))?.join(".");
      if (schemaAt(key.split(".")) === undefined && target === undefined)
        throw new TfewError(`${where}: ${unknownKeyMessage(key.split("."), file)}`);
      if (target === undefined) continue;
      if (all.includes(target))
        throw new TfewError(
          `${where}: ${key} and ${target} are both given in ${file}; ${key} is the old name of ${target}: keep only ${target}`,
        );
      warnings.push(deprecationWarning(key.split("."), `${where} of ${file}`, value));
    }
  }
  return warnings;
}

/** A set / grid key as the run config reads it: a deprecated name (train.workers) becomes its new one. */
function currentKey(key: string): string {
  return aliasTarget(key.split("."))?.join(".") ?? key;
}

/** Config files and leading overrides shared by every cell: the base files, or the embedded demo when none. */
export function baseLayers(sweep: SweepFile, cwd: string): { files: string[]; sets: string[] } {
  if (sweep.base.length > 0) return { files: sweep.base.map((f) => resolve(cwd, f)), sets: [] };
  const demo = [
    setArgument("model", resolve(PACKAGE_ROOT, "data", "demo-model")),
    setArgument("data.path", resolve(PACKAGE_ROOT, "data", "demo-task")),
  ];
  return { files: [DEFAULT_CONFIG_FILE], sets: demo };
}

/**
 * Expands and resolves every cell; a config problem names the cell and the key (one line). Deprecated keys
 * (of the sweep file or its base files) are read under their new names and reported once each to `warn`.
 */
export function resolveCells(
  loaded: LoadedSweep,
  options: { cwd: string; warn?: (line: string) => void },
): ResolvedCell[] {
  const { sweep, file } = loaded;
  const warnings = new Set(checkKeys(sweep, file));
  const layers = baseLayers(sweep, options.cwd);
  const fixed = [...layers.sets, ...Object.entries(sweep.set).map(([k, v]) => setArgument(currentKey(k), v))];
  const combos = expandGrid(sweep.grid);
  const width = String(combos.length - 1).length;
  const cells = combos.map((overrides, index) => {
    const sets = [...fixed, ...Object.entries(overrides).map(([k, v]) => setArgument(currentKey(k), v))];
    let config: RunConfig;
    try {
      const resolved = loadRunConfig({ files: layers.files, sets });
      config = resolved.config;
      for (const line of resolved.warnings) warnings.add(line);
    } catch (error) {
      if (!isTfewError(error)) throw error;
      throw new TfewError(`${file} cell ${index} (${describeOverrides(overrides)}): ${error.message}`);
    }
    const slug = cellSlug(overrides);
    const dir = `cells/${String(index).padStart(width, "0")}-${slug}`;
    return { index, slug, overrides, dir, task: config.data.path, seed: config.seed, config };
  });
  for (const line of warnings) options.warn?.(line);
  return cells;
}

/** `data.path=raft:x, seed=1` for messages and progress lines. */
export function describeOverrides(overrides: Record<string, unknown>): string {
  return Object.entries(overrides)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(", ");
}
