// What a command loads, from --run / --adapter / --model (+ --config / --set and flag values): one resolver
// for eval, predict, score, audit and merge. A run folder brings its config.resolved.yaml and its adapter/;
// an adapter alone brings its base model (adapter_config.json); a model alone is zero-shot.
import { join, resolve } from "node:path";
import { DEFAULT_CONFIG_FILE, loadRunConfig, type ConfigValue, type LoadOptions } from "../config/load.js";
import type { RunConfig } from "../config/schema.js";
import { TfewError } from "../errors.js";
import { isStartedRun, runPaths } from "../io/run-dir.js";
import { PACKAGE_ROOT } from "./common.js";
import { flagValue } from "./command.js";
import type { CommandContext } from "./io.js";

export interface SourceArgs {
  run?: string;
  adapter?: string;
  model?: string;
  config?: string[];
  set?: string[];
}

export interface Sources {
  config: RunConfig;
  adapterDir: string | null; // the run's adapter/, --adapter, or null (zero-shot)
}

/**
 * --config files (default: the embedded configs/default.yaml, whose demo paths are resolved against the
 * package so `npx tfew train` works from any folder), then `defaults`, --set, then flag values.
 */
export function configFromArgs(
  ctx: CommandContext,
  args: { config?: string[]; set?: string[] },
  values: { defaults?: ConfigValue[]; flags?: ConfigValue[] } = {},
): RunConfig {
  const files = args.config && args.config.length > 0 ? args.config : [DEFAULT_CONFIG_FILE];
  const demo: ConfigValue[] =
    files.length === 1 && files[0] === DEFAULT_CONFIG_FILE
      ? [
          { source: "the embedded demo", key: "model", value: join(PACKAGE_ROOT, "data", "demo-model") },
          { source: "the embedded demo", key: "data.path", value: join(PACKAGE_ROOT, "data", "demo-task") },
        ]
      : [];
  const defaults = [...demo, ...(values.defaults ?? [])];
  return loadConfig(ctx, { files, sets: args.set ?? [], defaults, flags: values.flags ?? [] });
}

/** loadRunConfig, printing its warnings (a deprecated key such as train.workers) on stderr. */
export function loadConfig(ctx: CommandContext, options: LoadOptions): RunConfig {
  const loaded = loadRunConfig(options);
  for (const line of loaded.warnings) ctx.log(line);
  return loaded.config;
}

/** The config.resolved.yaml of a run folder; one line naming the command when `dir` is not a run. */
export function runConfigFile(command: string, dir: string, hint: string): string {
  const file = runPaths(dir).config;
  if (!isStartedRun(dir))
    throw new TfewError(`${command}: ${dir} is not a tfew run folder (no config.resolved.yaml); ${hint}`);
  return file;
}

/** The base model an adapter names (adapter_config.json's base_model_name_or_path); one line when it names none. */
export async function baseModelOf(command: string, adapterDir: string): Promise<string> {
  const { adapterBaseModel } = await import("../adapters/smear-files.js");
  const base = await adapterBaseModel(adapterDir);
  if (base === null) throw new TfewError(`${command}: the adapter ${adapterDir} names no base model; add --model M`);
  return base;
}

/** Config and adapter folder from --run, else --adapter / --model; `flags` are the command's other flag values. */
export async function resolveSources(
  ctx: CommandContext,
  command: string,
  args: SourceArgs,
  flags: ConfigValue[],
): Promise<Sources> {
  const model = flagValue("model", "model", args.model);
  if (args.run !== undefined) {
    const files = [
      runConfigFile(command, args.run, "give the folder tfew train wrote, or --model/--adapter"),
      ...(args.config ?? []),
    ];
    const config = loadConfig(ctx, { files, sets: args.set ?? [], flags: [...model, ...flags] });
    if (args.adapter === undefined) return { config, adapterDir: runPaths(args.run).adapter };
    return { config, adapterDir: await adapterOverRun(ctx, command, args.run, args.adapter, config) };
  }
  const base =
    args.adapter !== undefined && args.model === undefined
      ? [
          {
            source: `the base model of --adapter ${args.adapter}`,
            key: "model",
            value: await baseModelOf(command, args.adapter),
          },
        ]
      : [];
  const config = configFromArgs(ctx, args, { defaults: base, flags: [...model, ...flags] });
  return { config, adapterDir: args.adapter ?? null };
}

/**
 * --run R --adapter A: A is scored with R's config (its data, template, model), not R's own adapter, and one
 * line says so. A multi-task run scores each task on its own adapter, so an --adapter there is refused.
 */
async function adapterOverRun(
  ctx: CommandContext,
  command: string,
  run: string,
  adapter: string,
  config: RunConfig,
): Promise<string> {
  if (config.data.tasks !== null)
    throw new TfewError(
      `${command}: --run ${run} is a multi-task run, scored on its own task adapters; drop --adapter, or give ` +
        `--adapter ${adapter} with --model and --data instead of --run`,
    );
  const { adapterBaseModel } = await import("../adapters/smear-files.js");
  const base = await adapterBaseModel(adapter);
  const same = base === null || base === config.model || resolve(base) === resolve(config.model);
  const other = !same ? ` (it names base model ${base}; scored on ${config.model})` : "";
  ctx.log(
    `${command}: scoring --adapter ${adapter}${other} with the config of --run ${run}, not the run's own adapter`,
  );
  return adapter;
}
