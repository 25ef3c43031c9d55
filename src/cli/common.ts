// CLI plumbing shared by the commands: config loading from --config/--set/--backend/--out, one-line
// error reporting (stack only with --verbose), and signal handling. Only src/cli touches process state.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_CONFIG_FILE, loadRunConfig } from "../config/load.js";
import type { RunConfig } from "../config/schema.js";
import { isTfewError, TfewError } from "../errors.js";

/** The package root (where data/demo-model lives), from src/cli or dist/cli. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface ConfigArgs {
  config?: string[];
  set?: string[];
  backend?: string;
  out?: string;
}

/**
 * --config files (default: the embedded configs/default.yaml, whose demo paths are resolved against the
 * package so `npx tfew train` works from any folder), then --set, then --backend / --out.
 */
export function configFromArgs(args: ConfigArgs): { config: RunConfig; sources: string[] } {
  const files = args.config && args.config.length > 0 ? args.config : [DEFAULT_CONFIG_FILE];
  const sets = [...(args.set ?? [])];
  if (files.length === 1 && files[0] === DEFAULT_CONFIG_FILE) {
    sets.unshift(
      `model=${join(PACKAGE_ROOT, "data", "demo-model")}`,
      `data.path=${join(PACKAGE_ROOT, "data", "demo-task")}`,
    );
  }
  if (args.backend !== undefined) sets.push(`backend=${args.backend}`);
  if (args.out !== undefined) sets.push(`out=${args.out}`);
  const loaded = loadRunConfig({ files, sets });
  for (const line of loaded.warnings) log(line); // deprecated keys, e.g. train.workers
  return loaded;
}

/**
 * Refuses, before any compute, to replace an output that already exists unless --overwrite is given
 * (`command`: eval / predict; `other`: what else the user can give, e.g. "another --out folder").
 */
export function refuseToReplace(
  paths: readonly string[],
  options: { overwrite: boolean; command: string; other: string },
): void {
  if (options.overwrite) return;
  const existing = paths.find((path) => existsSync(path));
  if (existing !== undefined)
    throw new TfewError(
      `${options.command}: ${existing} already exists; give --overwrite to replace it, or ${options.other}`,
    );
}

/** Prints an error as one line (`tfew: error: ...`) and returns the exit code. */
export function reportError(error: unknown, options: { verbose: boolean }): number {
  if (isTfewError(error)) {
    process.stderr.write(`tfew: error: ${error.message}\n`);
    if (options.verbose && error.stack) process.stderr.write(`${error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`tfew: internal error: ${message.split("\n")[0]}\n`);
  if (options.verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  else process.stderr.write("tfew: (run again with --verbose for the stack trace; this is a bug, please report it)\n");
  return 70;
}

/** Records SIGINT/SIGTERM instead of dying, so the loop can checkpoint; a second signal exits at once. */
export function trapSignals(): { requested: () => "SIGINT" | "SIGTERM" | null; release: () => void } {
  let got: "SIGINT" | "SIGTERM" | null = null;
  const handler = (signal: "SIGINT" | "SIGTERM") => {
    if (got !== null) process.exit(signal === "SIGINT" ? 130 : 143);
    got = signal;
    process.stderr.write(`\ntfew: ${signal} received, writing a checkpoint then stopping (send again to exit now)\n`);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    requested: () => got,
    release: () => {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}

export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}
