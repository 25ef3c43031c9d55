// Run-config loading: YAML/JSON files deep-merged in order, then `--set` overrides, then schema validation
// (nanoGPT's configurator.py, with key paths and file names in every error). Also writes config.resolved.yaml.
import { readFileSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { TfewError } from "../errors.js";
import { applyAliases } from "./aliases.js";
import { type Layer, formatValue, schemaAt, sectionKeys, validationError } from "./issues.js";
import { overrideData, parseOverride } from "./overrides.js";
import { checkConfigRelativePaths } from "./relative-paths.js";
import { type RunConfig, RunConfigSchema } from "./schema.js";

export interface LoadOptions {
  files: string[]; // config files, merged in order (later wins)
  sets: string[]; // `section.key=value` overrides, applied after the files, in order
  base?: Record<string, unknown>; // values under the files, e.g. from the CLI; validated like a file
  defaults?: readonly ConfigValue[]; // after the files, before --set (e.g. the embedded demo's paths)
  flags?: readonly ConfigValue[]; // after --set, in order: values of CLI flags such as --backend or --data
}

/** One value set by name rather than by file: an error about it names `source` (e.g. "--backend"). */
export interface ConfigValue {
  source: string; // what the user typed or what put it there: "--data", "the embedded demo"
  key: string; // key path as in the config file: "data.path"
  value: unknown;
}

export interface LoadedConfig {
  config: RunConfig;
  sources: string[]; // the files, named values and "--set k=v" entries, in the order they were applied
  // one line each ("warning: train.workers (a.yaml) is deprecated: ..."), for the caller to print: the config
  // used a deprecated key, read under its new name (src/config/aliases.ts)
  warnings: string[];
}

/** configs/default.yaml of this package (the demo run); same relative place from src/config and dist/config. */
export const DEFAULT_CONFIG_FILE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "configs",
  "default.yaml",
);

/** The schema defaults: the T-Few recipe (a fresh object each call). */
export function defaultConfig(): RunConfig {
  return RunConfigSchema.parse({});
}

/**
 * Merge files, base and overrides, validate, and return the config (with a warning line per deprecated key
 * used); throws a one-line TfewError.
 */
export function loadRunConfig(options: LoadOptions): LoadedConfig {
  const groups: Layer[][] = []; // a deprecated key and its new name must not both come from one group
  if (options.base !== undefined) groups.push([{ source: "the base config", data: structuredClone(options.base) }]);
  for (const file of options.files) groups.push([{ source: file, data: readConfigFile(file) }]);
  if (options.defaults !== undefined) groups.push(options.defaults.map(valueLayer));
  groups.push(
    options.sets.map((arg) => {
      const override = parseOverride(arg);
      return { source: `--set ${override.arg}`, data: overrideData(override) };
    }),
  );
  if (options.flags !== undefined) groups.push(options.flags.map(valueLayer));
  const aliases = applyAliases(groups);
  const layers = groups.flat();
  const merged = layers.reduce<Record<string, unknown>>((into, layer) => mergeDeep(into, layer.data), {});
  const result = RunConfigSchema.safeParse(merged);
  if (!result.success) {
    const error = validationError(result.error.issues, merged, layers);
    const renamed = aliases.find((use) => use.sources.some((src) => error.message.startsWith(`${use.to} in ${src} `)));
    if (renamed === undefined) throw error;
    throw new TfewError(`${error.message} (given as ${renamed.from}, its deprecated name)`);
  }
  checkConfigRelativePaths(layers, options.files);
  const sources = layers.filter((layer) => layer.source !== "the base config").map((layer) => layer.source);
  return { config: result.data, sources, warnings: aliases.map((use) => use.warning) };
}

/** A named value as a layer: `data.path` → { data: { path: value } }. */
function valueLayer({ source, key, value }: ConfigValue): Layer {
  const data = key.split(".").reduceRight<unknown>((inner, segment) => ({ [segment]: inner }), value) as Record<
    string,
    unknown
  >;
  return { source, data };
}

/** Read one .yaml/.yml/.json file into a mapping (an empty file is an empty mapping). */
export function readConfigFile(file: string): Record<string, unknown> {
  const extension = extname(file).toLowerCase();
  if (![".yaml", ".yml", ".json"].includes(extension)) {
    throw new TfewError(`config file ${file} has extension ${JSON.stringify(extension)}; use .yaml, .yml or .json`);
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new TfewError(
        `config file not found: ${file} (from ${process.cwd()}); pass an existing .yaml or .json file`,
      );
    }
    throw new TfewError(
      `cannot read config file ${file}: ${code ?? String(error)}; pass a readable .yaml or .json file`,
    );
  }
  const data = extension === ".json" ? parseJson(text, file) : parseYaml(text, file);
  if (data === null || data === undefined) return {};
  if (typeof data !== "object" || Array.isArray(data)) {
    throw new TfewError(
      `config file ${file} must hold a mapping of keys (model, data, train, ...) at the top level, got ${formatValue(data)}`,
    );
  }
  return data as Record<string, unknown>;
}

function parseYaml(text: string, file: string): unknown {
  const document = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const error = document.errors[0];
  if (error !== undefined) {
    const where =
      error.linePos === undefined ? "" : ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}`;
    const what = (error.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
    throw new TfewError(`YAML syntax error in ${file}${where}: ${what}`);
  }
  return document.toJS({ maxAliasCount: 100 });
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ");
    const position = /at position (\d+)/.exec(message);
    let where = "";
    if (position?.[1] !== undefined) {
      const before = text.slice(0, Number(position[1])).split("\n");
      where = ` at line ${before.length}, column ${(before[before.length - 1] ?? "").length + 1}`;
    }
    throw new TfewError(`JSON syntax error in ${file}${where}: ${message.slice(0, 120)}`);
  }
}

/** Deep merge of plain mappings: `over` wins, lists and scalars replace, null is a value. Returns `into`. */
export function mergeDeep(into: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(over)) {
    const current = into[key];
    if (isMapping(current) && isMapping(value)) mergeDeep(current, value);
    else into[key] = isMapping(value) ? mergeDeep({}, value) : value;
  }
  return into;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const RESOLVED_HEADER =
  "# tfew resolved run config: defaults, files and --set merged. Rerun with --config <this file>.\n";

/**
 * Sections and keys added after run folders were first written (generate:, data.target_field) are left out while
 * at their defaults, so the config.resolved.yaml (and the config sha in checkpoints and sweep cells) of older runs
 * stays the same.
 */
function withoutDefaultSections(config: RunConfig): Record<string, unknown> {
  const ordered = inSchemaOrder(config, []) as Record<string, unknown>;
  if (config.data.target_field === null) {
    const { target_field: _unset, ...data } = ordered.data as Record<string, unknown>;
    ordered.data = data;
  }
  if (JSON.stringify(config.generate) !== JSON.stringify(RunConfigSchema.parse({}).generate)) return ordered;
  const { generate: _atDefaults, ...rest } = ordered;
  return rest;
}

/** The config as YAML, keys in schema order, ready to load again (config.resolved.yaml). */
export function configToYaml(config: RunConfig): string {
  return RESOLVED_HEADER + YAML.stringify(withoutDefaultSections(config), { lineWidth: 0 });
}

/**
 * The config.resolved.yaml that tfew wrote for this config before workers left the train section
 * (train.workers, after train.log_every): what the checkpoints and sweep cells of older run folders hold,
 * so that resuming them still matches.
 */
export function legacyConfigYaml(config: RunConfig): string {
  const { workers, ...rest } = withoutDefaultSections(config);
  const train: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest.train as Record<string, unknown>)) {
    train[key] = value;
    if (key === "log_every") train.workers = workers;
  }
  return RESOLVED_HEADER + YAML.stringify({ ...rest, train }, { lineWidth: 0 });
}

function inSchemaOrder(value: unknown, path: string[]): unknown {
  if (!isMapping(value)) return value;
  const schema = schemaAt(path);
  const keys = (schema === undefined ? undefined : sectionKeys(schema)) ?? [];
  const ordered: Record<string, unknown> = {};
  for (const key of [...keys, ...Object.keys(value)]) {
    if (Object.hasOwn(value, key) && !Object.hasOwn(ordered, key))
      ordered[key] = inSchemaOrder(value[key], [...path, key]);
  }
  return ordered;
}
