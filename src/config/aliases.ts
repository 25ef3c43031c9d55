// Deprecated config keys that are still read: each old key path maps to its new one, with one warning line per
// load. train.workers became the top-level workers (it also drives eval, audit and Fisher merging).
import { TfewError } from "../errors.js";
import { formatValue, type Layer } from "./issues.js";

interface Alias {
  from: readonly string[]; // the old key path, e.g. ["train", "workers"]
  to: readonly string[]; // the key path that replaced it
  why: string; // said in the warning
}

const ALIASES: readonly Alias[] = [
  { from: ["train", "workers"], to: ["workers"], why: "it also sets the workers of eval, audit and Fisher merging" },
];

/** The new key path of a deprecated one (train.workers -> workers), or undefined for any other path. */
export function aliasTarget(path: readonly string[]): readonly string[] | undefined {
  return ALIASES.find((alias) => samePath(alias.from, path))?.to;
}

/** One deprecated key as a load used it: its old and new key paths and the sources that gave it. */
export interface AliasUse {
  from: string; // "train.workers"
  to: string; // "workers"
  sources: string[]; // the files / --set entries that used the old name, in merge order
  warning: string; // the one deprecation line to print
}

/**
 * Moves every deprecated key of the layers to its new path, in place, and says which were used. `groups` are
 * the sources that must not give both names (one file, or all the --set overrides together; between groups the
 * later value wins as for any key): both names in one group throw a one-line TfewError.
 */
export function applyAliases(groups: readonly (readonly Layer[])[]): AliasUse[] {
  const uses: AliasUse[] = [];
  for (const alias of ALIASES) {
    const [from, to] = [alias.from.join("."), alias.to.join(".")];
    const used: { source: string; value: unknown }[] = [];
    for (const group of groups) {
      const fromSource = group.find((layer) => hasPath(layer.data, alias.from))?.source;
      const toSource = group.find((layer) => hasPath(layer.data, alias.to))?.source;
      if (fromSource !== undefined && toSource !== undefined) {
        const where = fromSource === toSource ? `in ${fromSource}` : `in ${fromSource} and ${toSource}`;
        throw new TfewError(
          `${from} and ${to} are both given ${where}; ${from} is the old name of ${to}: keep only ${to}`,
        );
      }
      for (const layer of group) {
        if (!hasPath(layer.data, alias.from)) continue;
        const value = takePath(layer.data, alias.from);
        putPath(layer.data, alias.to, value);
        used.push({ source: layer.source, value });
      }
    }
    const last = used[used.length - 1];
    if (last === undefined) continue;
    const sources = used.map((u) => u.source);
    uses.push({ from, to, sources, warning: deprecationWarning(alias.from, sources.join(", "), last.value) });
  }
  return uses;
}

/** `warning: train.workers (a.yaml) is deprecated: it is now the key workers (...); write workers: 1` */
export function deprecationWarning(from: readonly string[], where: string, value: unknown): string {
  const alias = ALIASES.find((a) => samePath(a.from, from));
  if (alias === undefined) throw new Error(`deprecationWarning: ${from.join(".")} is no deprecated key`);
  const to = alias.to.join(".");
  return `warning: ${from.join(".")} (${where}) is deprecated: it is now the key ${to} (${alias.why}); write ${to}: ${formatValue(value)}`;
}

function samePath(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((key, i) => key === b[i]);
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function hasPath(data: Record<string, unknown>, path: readonly string[]): boolean {
  let current: unknown = data;
  for (const key of path) {
    if (!isMapping(current) || !Object.hasOwn(current, key)) return false;
    current = current[key];
  }
  return true;
}

/** Removes the value at `path` (present: checked by hasPath) and returns it. */
function takePath(data: Record<string, unknown>, path: readonly string[]): unknown {
  const [key, ...rest] = path as [string, ...string[]];
  if (rest.length > 0) return takePath(data[key] as Record<string, unknown>, rest);
  const value = data[key];
  delete data[key];
  return value;
}

function putPath(data: Record<string, unknown>, path: readonly string[], value: unknown): void {
  const [key, ...rest] = path as [string, ...string[]];
  if (rest.length === 0) {
    data[key] = value;
    return;
  }
  const section = isMapping(data[key]) ? data[key] : {};
  data[key] = section;
  putPath(section, rest, value);
}
