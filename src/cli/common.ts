// CLI plumbing shared by the commands: the package root, refusing to replace outputs, one-line error reporting
// (stack only with --verbose), and signal handling. Only src/cli touches process state.
import { existsSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isTfewError, TfewError } from "../errors.js";
import type { CliIo } from "./io.js";

/** The package root (where data/demo-model lives), from src/cli or dist/cli. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

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
export function reportError(error: unknown, options: { verbose: boolean; io: CliIo }): number {
  const { io } = options;
  if (isTfewError(error)) {
    io.stderr(`tfew: error: ${error.message}\n`);
    if (options.verbose && error.stack) io.stderr(`${error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr(`tfew: internal error: ${message.split("\n")[0]}\n`);
  if (options.verbose && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
  else io.stderr("tfew: (run again with --verbose for the stack trace; this is a bug, please report it)\n");
  return 70;
}

/** Records SIGINT/SIGTERM instead of dying, so the loop can checkpoint; a second signal exits at once. */
export function trapSignals(io: CliIo): { requested: () => "SIGINT" | "SIGTERM" | null; release: () => void } {
  let got: "SIGINT" | "SIGTERM" | null = null;
  const handler = (signal: "SIGINT" | "SIGTERM") => {
    if (got !== null) process.exit(signal === "SIGINT" ? 130 : 143);
    got = signal;
    io.stderr(`\ntfew: ${signal} received, writing a checkpoint then stopping (send again to exit now)\n`);
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

/** A path as the user would type it: relative to the current folder when inside it, else absolute. */
export function shownPath(path: string): string {
  const rel = relative(process.cwd(), resolve(path));
  return rel === "" ? "." : rel.startsWith("..") || isAbsolute(rel) ? resolve(path) : rel;
}
