// Schema look-ups by key path and one-line config errors: what is wrong, the key path, the file (or --set)
// that supplied it, and what is allowed. The zod issue list is mapped here so no zod text reaches users.
import { z } from "zod";
import { TfewError } from "../errors.js";
import { RunConfigSchema } from "./schema.js";

/** One source of config values, in merge order: a file, the caller's base, or one `--set`. */
export interface Layer {
  source: string; // "configs/x.yaml", "--set", ...
  data: Record<string, unknown>;
}

/** The schema with `.default()` / `.prefault()` / `.optional()` wrappers removed. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodDefault || current instanceof z.ZodPrefault || current instanceof z.ZodOptional)
    current = current.unwrap() as z.ZodType;
  return current;
}

/** A list of sections (data.tasks) reads as its entries' section: data.tasks.labels is checked like data.labels. */
function entrySection(schema: z.ZodType): z.ZodType {
  let inner = unwrap(schema);
  if (inner instanceof z.ZodNullable) inner = unwrap(inner.unwrap() as z.ZodType);
  return inner instanceof z.ZodArray && unwrap(inner.element as z.ZodType) instanceof z.ZodObject
    ? (inner.element as z.ZodType)
    : inner;
}

/** The keys of a section schema, in schema order; undefined for a value (leaf) schema. */
export function sectionKeys(schema: z.ZodType): string[] | undefined {
  const inner = unwrap(entrySection(schema));
  return inner instanceof z.ZodObject ? Object.keys(inner.shape) : undefined;
}

/** The schema of a known key path ([] = the whole config), or undefined when any segment is unknown. */
export function schemaAt(path: readonly string[]): z.ZodType | undefined {
  let current: z.ZodType = RunConfigSchema;
  for (const key of path) {
    const inner = unwrap(entrySection(current));
    if (!(inner instanceof z.ZodObject)) return undefined;
    const shape = inner.shape as Record<string, z.ZodType>;
    if (!Object.hasOwn(shape, key)) return undefined;
    current = shape[key] as z.ZodType;
  }
  return current;
}

/** What a key accepts, for "must be ..." in messages. */
export function allowedText(schema: z.ZodType): string {
  const keys = sectionKeys(schema);
  if (keys !== undefined) return `a mapping with keys ${keys.join(", ")}`;
  return unwrap(schema).description ?? "a valid value";
}

/** `unknown key "train.stpes" in b.yaml; allowed keys in train: steps, ...; did you mean "steps"?` */
export function unknownKeyMessage(path: readonly string[], source: string): string {
  // The first segment the schema does not know decides the message: trian.steps lists the top-level keys.
  let known = 0;
  while (known < path.length && schemaAt(path.slice(0, known + 1)) !== undefined) known += 1;
  const parentPath = path.slice(0, known);
  const parentKeys = sectionKeys(schemaAt(parentPath) ?? RunConfigSchema);
  const where = `unknown key ${JSON.stringify(path.join("."))} in ${source}`;
  if (parentKeys === undefined) return `${where}; ${parentPath.join(".")} is a value, not a section`;
  const scope = parentPath.length === 0 ? "allowed top-level keys" : `allowed keys in ${parentPath.join(".")}`;
  const near = closestKey(path[known] ?? "", parentKeys);
  return `${where}; ${scope}: ${parentKeys.join(", ")}${near === undefined ? "" : `; did you mean "${near}"?`}`;
}

/** The allowed key within edit distance 2 of a misspelt one (stpes -> steps), if any. */
function closestKey(key: string, keys: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of keys) {
    const distance = editDistance(key.toLowerCase(), candidate);
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

/** Levenshtein distance: insertions, deletions and substitutions cost 1 (stpes -> steps is 2). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitute = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitute));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The value at a key path, or undefined when a segment is missing. */
export function valueAt(data: unknown, path: readonly (string | number)[]): unknown {
  let current = data;
  for (const key of path) {
    if (typeof current !== "object" || current === null || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** The last layer that sets this key path: the one whose value survived the merge. */
export function sourceOf(layers: readonly Layer[], path: readonly (string | number)[]): string {
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i] as Layer;
    if (valueAt(layer.data, path) !== undefined) return layer.source;
  }
  return "the defaults";
}

/** A value as it appears in a message: JSON-like, one line, at most ~80 characters. */
export function formatValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "number") return String(value); // keeps NaN / Infinity readable
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

/** The one-line TfewError for a failed validation of the merged layers (first problem; count of the rest). */
export function validationError(
  issues: readonly z.core.$ZodIssue[],
  merged: unknown,
  layers: readonly Layer[],
): TfewError {
  // Unknown keys first: a misspelt key usually explains the other problems.
  const ordered = [...issues].sort(
    (a, b) => Number(b.code === "unrecognized_keys") - Number(a.code === "unrecognized_keys"),
  );
  const first = ordered[0];
  if (first === undefined) return new TfewError("invalid run config: validation failed without a reason");
  const more = ordered.length - 1 + (first.code === "unrecognized_keys" ? first.keys.length - 1 : 0);
  const suffix = more > 0 ? ` (and ${more} more problem${more === 1 ? "" : "s"})` : "";
  return new TfewError(issueMessage(first, merged, layers) + suffix);
}

function issueMessage(issue: z.core.$ZodIssue, merged: unknown, layers: readonly Layer[]): string {
  // Key path without list indices: data.labels, not data.labels.1; the whole list is shown as the value.
  const keyPath = issue.path.filter((key): key is string => typeof key === "string");
  if (issue.code === "unrecognized_keys") {
    const path = [...keyPath, issue.keys[0] ?? ""];
    return unknownKeyMessage(path, sourceOf(layers, path));
  }
  const name = keyPath.length === 0 ? "the config" : keyPath.join(".");
  // with the indices of lists of sections (data.tasks.0.labels), not of a value's own list (data.labels, whole)
  const fullPath = issue.path.filter((key): key is string | number => typeof key !== "symbol");
  while (typeof fullPath[fullPath.length - 1] === "number") fullPath.pop();
  const source = sourceOf(layers, fullPath);
  if (issue.code === "custom") return `${name} in ${source} ${issue.message}`;
  const schema = schemaAt(keyPath);
  const allowed = schema === undefined ? "a valid value" : allowedText(schema);
  return `${name} in ${source} must be ${allowed}, got ${formatValue(valueAt(merged, fullPath))}`;
}
