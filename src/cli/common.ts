// CLI plumbing shared by the commands: the package root, refusing to replace outputs, one-line error reporting
// (stack only with --verbose), and signal handling. Only src/cli touches process state.
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isTfewError } from "../errors.js";
import { DISK_CODES } from "../io/atomic.js";
import { removeLiveTemps } from "../io/temp-files.js";
import type { CliIo } from "./io.js";

/** The package root (where data/demo-model lives), from src/cli or dist/cli. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Prints an error as one line (`tfew: error: ...`) and returns the exit code. */
export function reportError(error: unknown, options: { verbose: boolean; io: CliIo }): number {
  const { io } = options;
  if (isTfewError(error)) {
    io.stderr(`tfew: error: ${error.message}\n`);
    if (options.verbose && error.stack) io.stderr(`${error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && DISK_CODES.has(code)) {
    // a write that no caller named: still the disk, not a bug
    io.stderr(`tfew: error: ${message.split("\n")[0]}; check the disk (free space, quota, permissions) and re-run\n`);
    return 1;
  }
  io.stderr(`tfew: internal error: ${message.split("\n")[0]}\n`);
  if (options.verbose && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
  else io.stderr("tfew: (run again with --verbose for the stack trace; this is a bug, please report it)\n");
  return 70;
}

/** The exit code of a process stopped by `signal` (128 + its number, as shells report it). */
export const signalExitCode = (signal: NodeJS.Signals): number => (signal === "SIGINT" ? 130 : 143);

/** Removes the temp files and folders this process is filling (unfinished outputs), then exits as for `signal`. */
export function exitOnSignal(signal: NodeJS.Signals): never {
  removeLiveTemps();
  process.exit(signalExitCode(signal));
}

let takenOver = 0;

/**
 * While a command runs (main): SIGINT/SIGTERM remove its unfinished outputs (temp files and folders) and exit
 * 130/143 at once, unless the command traps signals itself (trapSignals, sweep's) at the time.
 */
export function exitCleanlyOnSignals(io: CliIo): () => void {
  const handler = (signal: NodeJS.Signals) => {
    if (takenOver > 0) return;
    io.stderr(`\ntfew: ${signal} received; stopping (unfinished outputs removed)\n`);
    exitOnSignal(signal);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

/** A command that handles SIGINT/SIGTERM itself (a graceful stop) calls this; the returned function hands back. */
export function takeOverSignals(handler: (signal: NodeJS.Signals) => void): () => void {
  takenOver++;
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    takenOver--;
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

/** Records SIGINT/SIGTERM instead of dying, so the loop can checkpoint; a second signal exits at once. */
export function trapSignals(io: CliIo): { requested: () => "SIGINT" | "SIGTERM" | null; release: () => void } {
  let got: "SIGINT" | "SIGTERM" | null = null;
  const release = takeOverSignals((signal) => {
    if (got !== null) exitOnSignal(signal);
    got = signal as "SIGINT" | "SIGTERM";
    io.stderr(`\ntfew: ${signal} received, writing a checkpoint then stopping (send again to exit now)\n`);
  });
  return { requested: () => got, release };
}

/** A path as the user would type it: relative to the current folder when inside it, else absolute. */
export function shownPath(path: string): string {
  const rel = relative(process.cwd(), resolve(path));
  return rel === "" ? "." : rel.startsWith("..") || isAbsolute(rel) ? resolve(path) : rel;
}
