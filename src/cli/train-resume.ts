// `tfew train --resume DIR` with other flags: the run keeps the config it was started with
// (DIR/config.resolved.yaml). --backend, --set and --config may change only how fast it runs and what it monitors
// (RESUME_KEYS); anything else, --out included, is refused in one line naming the flag and the key.
import { resolve } from "node:path";
import { aliasTarget } from "../config/aliases.js";
import { formatValue } from "../config/issues.js";
import { loadRunConfig } from "../config/load.js";
import { parseOverride } from "../config/overrides.js";
import type { RunConfig } from "../config/schema.js";
import { TfewError } from "../errors.js";
import { runPaths } from "../io/run-dir.js";
import { flagValue } from "./command.js";
import type { CommandContext } from "./io.js";
import { loadConfig, runConfigFile } from "./sources.js";

/** The keys a resume may change: the backend, threads, micro-batches (memory) and monitoring; never what is trained. */
export const RESUME_KEYS = [
  "backend",
  "workers",
  "train.micro_batch_size",
  "monitor.gpu",
  "monitor.interval_ms",
  "monitor.peak_tflops",
] as const;

export interface ResumeArgs {
  resume: string;
  config?: string[];
  set?: string[];
  backend?: string;
  out?: string;
}

/** The run's recorded config, and the config to run with (the recorded one plus the allowed changes). */
export interface ResumeConfig {
  recorded: RunConfig;
  config: RunConfig;
}

export function resumeConfig(ctx: CommandContext, args: ResumeArgs): ResumeConfig {
  const dir = args.resume;
  const hint = "the run stopped before writing it, or the path is wrong; start a new run or fix the path";
  const file = runConfigFile("resume", dir, hint);
  if (args.out !== undefined && resolve(args.out) !== resolve(dir)) {
    throw new TfewError(
      `--out ${args.out}: a resumed run stays in its folder ${dir}; ` +
        "drop --out, or start a new run with --out and no --resume",
    );
  }
  const recorded = loadRunConfig({ files: [file], sets: [] }).config;
  const config = loadConfig(ctx, {
    files: [file, ...(args.config ?? [])],
    sets: args.set ?? [],
    flags: flagValue("backend", "backend", args.backend),
  });
  for (const key of changedKeys(recorded, config)) {
    if ((RESUME_KEYS as readonly string[]).includes(key)) continue;
    throw new TfewError(refusal(key, sourceOf(key, args), recorded, dir));
  }
  return { recorded, config };
}

function refusal(key: string, source: string, recorded: RunConfig, dir: string): string {
  const file = runPaths(dir).config;
  if (key === "out")
    return `${source}: a resumed run stays in its folder ${dir}; drop it, or start a new run with --out and no --resume`;
  if (key === "train.steps") {
    return (
      `${source}: a resumed run keeps train.steps (${recorded.train.steps} in ${file}): its learning rate decays ` +
      `linearly to 0 at that step, so more or fewer steps would be another schedule; to train on from its vectors, ` +
      `start a new run: tfew train --out NEW --set adapter.init_from=${runPaths(dir).adapter}`
    );
  }
  return (
    `${source}: a resumed run keeps its config (${key} is ${formatValue(valueAt(recorded, key))} in ${file}); ` +
    `drop it, or start a new run with --out (a resume may change only ${RESUME_KEYS.join(", ")})`
  );
}

/** The flag that gave `key`: the last --set naming it (or a section above it), else the --config files. */
function sourceOf(key: string, args: ResumeArgs): string {
  for (const arg of [...(args.set ?? [])].reverse()) {
    const path = parseOverride(arg).path;
    const named = (aliasTarget(path) ?? path).join(".");
    if (key === named || key.startsWith(`${named}.`)) return `--set ${arg}`;
  }
  return args.config !== undefined && args.config.length > 0 ? `--config ${args.config.join(", ")}` : key;
}

/** Key paths ("train.lr") whose values differ between two configs; lists and scalars compare as a whole. */
export function changedKeys(a: unknown, b: unknown, prefix = ""): string[] {
  if (isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => changedKeys(a[k], b[k], prefix === "" ? k : `${prefix}.${k}`));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix];
}

function valueAt(config: RunConfig, key: string): unknown {
  return key.split(".").reduce<unknown>((at, k) => (isRecord(at) ? at[k] : undefined), config);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
