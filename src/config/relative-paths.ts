// Relative paths in a config file resolve against the current folder (so `--config` files layer with `--set`
// values the same way and a run's config.resolved.yaml means what it meant at train time). When such a path is
// missing there but exists beside the config file, the user almost surely meant that: one line says so.
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { TfewError } from "../errors.js";
import type { Layer } from "./issues.js";

/** Keys holding local paths (model may also be a hub id: it is checked only when it exists beside the file). */
const PATH_KEYS: readonly (readonly string[])[] = [
  ["model"],
  ["data", "path"],
  ["data", "test_path"],
  ["adapter", "init_from"],
];

/** Throws when a relative path a config file set is missing from the current folder but exists beside the file. */
export function checkConfigRelativePaths(
  layers: readonly Layer[],
  files: readonly string[],
  cwd = process.cwd(),
): void {
  for (const key of PATH_KEYS) {
    const layer = layers.findLast((l) => valueAt(l.data, key) !== undefined);
    if (layer === undefined || !files.includes(layer.source)) continue;
    check(key.join("."), valueAt(layer.data, key), layer.source, cwd);
  }
  for (const layer of layers) {
    if (!files.includes(layer.source)) continue;
    const tasks = valueAt(layer.data, ["data", "tasks"]);
    if (!Array.isArray(tasks)) continue;
    tasks.forEach((task, i) => {
      if (typeof task === "object" && task !== null)
        check(`data.tasks[${i}].path`, (task as { path?: unknown }).path, layer.source, cwd);
    });
  }
}

function check(key: string, value: unknown, file: string, cwd: string): void {
  if (typeof value !== "string" || value === "" || isAbsolute(value) || /^[a-z]+:/.test(value)) return;
  if (existsSync(join(cwd, value))) return;
  const beside = join(dirname(file), value);
  if (!existsSync(beside)) return;
  throw new TfewError(
    `${key} ${value} in ${file} does not exist in the current folder ${cwd}, which relative paths in a config ` +
      `file resolve against, but does beside the config file: write it as ${beside}, or run tfew from ${dirname(file)}`,
  );
}

function valueAt(data: Record<string, unknown>, key: readonly string[]): unknown {
  let at: unknown = data;
  for (const segment of key) {
    if (typeof at !== "object" || at === null) return undefined;
    at = (at as Record<string, unknown>)[segment];
  }
  return at;
}
