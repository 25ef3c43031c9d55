// One CLI command as one declarative object: its yargs form, help line, flags and action together
// (citty's defineCommand). main.ts only lists them. Shared flags live here so each has one spelling and help.
import type { InferredOptionTypes, Options, PositionalOptions } from "yargs";
import { BACKEND_NAMES } from "../backend/backend-names.js";
import type { ConfigValue } from "../config/load.js";
import type { InputSource } from "../io/outputs.js";
import type { CommandContext } from "./io.js";

export interface TfewCommand<O extends Record<string, Options> = Record<string, Options>> {
  command: string; // yargs form: "train", "report <folders..>", "cell <dir> [index]"
  describe: string; // one help line
  options: O;
  positionals?: Record<string, PositionalOptions>;
  run?: (args: InferredOptionTypes<O> & Record<string, unknown>, ctx: CommandContext) => Promise<number>;
  subcommands?: readonly TfewCommand[]; // `tfew sweep run|cell|...`
}

/** Types a command's flags for its action. */
export function defineCommand<O extends Record<string, Options>>(command: TfewCommand<O>): TfewCommand {
  return command as unknown as TfewCommand;
}

/** A repeated single-value flag (`--out a --out b`): the last one wins, as with --set. */
export function lastValue(value: unknown): string | undefined {
  const v = Array.isArray(value) ? value.at(-1) : value;
  return v === undefined ? undefined : String(v);
}

export const verboseOption = {
  verbose: { type: "boolean", default: false, describe: "print stack traces on errors" },
} as const;

export const overwriteOption = {
  overwrite: { type: "boolean", default: false, describe: "replace an earlier output of this command" },
} as const;

/** The inputs a command reads, for checkOutputs: an output is never one of them. */
export function inputPaths(args: Record<string, unknown>, flags: readonly string[]): InputSource[] {
  return flags.flatMap((flag) => {
    const value = args[flag];
    const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
    return values.map((v) => ({ flag: `--${flag}`, path: String(v) }));
  });
}

export const backendOption = {
  backend: { type: "string", choices: BACKEND_NAMES, describe: "TF.js backend (also TFEW_BACKEND)" },
} as const;

/** --config / --set / --backend / --out (a folder) / --verbose: commands that build a run config. */
export const configOptions = {
  config: { type: "string", array: true, describe: "config file (YAML/JSON); repeat to layer, later wins" },
  set: { type: "string", array: true, describe: "override one key: section.key=value (repeatable)" },
  ...backendOption,
  out: { type: "string", describe: "output folder", coerce: lastValue },
  ...verboseOption,
} as const;

/** What to load: a run folder, an adapter, a model (resolved by sources.ts). */
export const sourceOptions = {
  run: { type: "string", describe: "run folder of tfew train (its config and adapter)" },
  adapter: { type: "string", describe: "adapter folder (tfew or PEFT IA3)" },
  model: { type: "string", describe: "model folder or hub id (zero-shot without --adapter)" },
} as const;

export const dataOption = {
  data: {
    type: "string",
    describe:
      "task: RAFT folder, raft:<task>, hf:<org>/<dataset>[/<config>], .csv, .jsonl, .parquet, .arrow or Label Studio .json",
  },
} as const;

/**
 * The first value-taking flag of `options` that `argv` gives without a value (`--out` last or before another
 * flag, `--out=`), as one usage line ("--out needs a folder"); null when every such flag has one. yargs itself
 * reads a bare `--out` as "" and drops a bare number flag, so the command would run on its defaults.
 */
export function missingFlagValue(argv: readonly string[], options: Record<string, Options>): string | null {
  for (const [i, token] of argv.entries()) {
    if (token === "--") break;
    const m = /^--([^=]+)(=(.*))?$/.exec(token);
    const option = m === null ? undefined : options[m[1] as string];
    if (m === null || option === undefined || (option.type !== "string" && option.type !== "number")) continue;
    const next = argv[i + 1];
    const bare = m[2] === undefined && (next === undefined || (next.startsWith("-") && Number.isNaN(Number(next))));
    if (bare || m[3] === "") return `--${m[1]} needs ${valueName(option)}`;
  }
  return null;
}

/** What a flag takes, from its type and help line: "a folder", "a file", "a number", "a folder or hub id" ... */
function valueName(option: Options): string {
  if (option.type === "number") return "a number";
  const describe = typeof option.describe === "string" ? option.describe : "";
  if (/folder or hub id/.test(describe)) return "a folder or hub id";
  const noun = /\b(folder|file)\b/.exec(describe);
  return noun === null ? "a value" : `a ${noun[1]}`;
}

/** A flag's value as a config value, so a bad value is reported against the flag the user typed. */
export function flagValue(flag: string, key: string, value: unknown): ConfigValue[] {
  return value === undefined ? [] : [{ source: `--${flag}`, key, value }];
}

/**
 * An old spelling kept for a while: returns `value` of the new flag, else of the old one with a deprecation
 * line on stderr (e.g. `report --out FILE` → `--output FILE`).
 */
export function deprecatedAlias<T>(
  ctx: CommandContext,
  use: { command: string; old: string; now: string },
  now: T | undefined,
  old: T | undefined,
): T | undefined {
  if (old === undefined) return now;
  ctx.log(`tfew: warning: ${use.command} --${use.old} is deprecated; use --${use.now} (same value)`);
  return now ?? old;
}
