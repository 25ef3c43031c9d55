// Child processes of a sweep: the tfew CLI itself (node bin/tfew.js train/eval, output teed into a log file,
// last error line kept) and scheduler commands (sbatch, squeue, kubectl) with one line when they are missing.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { TfewError } from "../errors.js";
import { PACKAGE_ROOT } from "./cells.js";

/** The tfew launcher of this installation, run with this Node: what cells, sbatch files and pools call. */
export const TFEW_LAUNCHER = join(PACKAGE_ROOT, "bin", "tfew.js");

export function tfewCommand(): string[] {
  return [process.execPath, TFEW_LAUNCHER];
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  lastError: string; // the last "tfew: error: ..." line, else the last line of output
}

export interface RunningChild {
  pid: number | undefined;
  done: Promise<ChildResult>;
  /** Passes a stop signal on, unless the child already printed that it got one (a terminal's Ctrl-C reaches both). */
  forward: (signal: NodeJS.Signals) => void;
}

/** Starts `node bin/tfew.js ...args` with stdout and stderr appended to `logFile`. */
export function startTfew(
  args: string[],
  options: { cwd: string; logFile: string; env?: NodeJS.ProcessEnv },
): RunningChild {
  const [node, launcher] = tfewCommand() as [string, string];
  const log = createWriteStream(options.logFile, { flags: "a" });
  log.write(`\n$ tfew ${args.join(" ")}\n`);
  const child: ChildProcess = spawn(node, [launcher, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let tail = "";
  let gotSignal = false;
  const take = (chunk: Buffer) => {
    log.write(chunk);
    tail = (tail + chunk.toString("utf8")).slice(-8192);
    if (/(SIGINT|SIGTERM) received/.test(tail)) gotSignal = true;
  };
  child.stdout?.on("data", take);
  child.stderr?.on("data", take);
  const done = new Promise<ChildResult>((resolveDone) => {
    let spawnError: string | null = null;
    child.on("error", (error) => (spawnError = `cannot start ${node}: ${error.message}`));
    child.on("close", (code, signal) => {
      const lastError =
        spawnError ?? lastErrorLine(tail) ?? (signal !== null ? `killed by ${signal}` : `exited with code ${code}`);
      log.end(() => resolveDone({ code, signal, lastError }));
    });
  });
  const forward = (signal: NodeJS.Signals) => {
    setTimeout(() => {
      if (!gotSignal && child.exitCode === null && child.signalCode === null) child.kill(signal);
    }, 1000).unref();
  };
  return { pid: child.pid, done, forward };
}

/** The last `tfew: error:` (or internal error) line of some output, else its last non-empty line. */
export function lastErrorLine(output: string): string | null {
  const lines = output
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const errors = lines.filter((l) => /^tfew: (internal )?error:/.test(l));
  return errors.at(-1) ?? lines.at(-1) ?? null;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a scheduler command; a missing binary is a one-line TfewError with `hint`. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { hint: string; input?: string },
): Promise<CommandResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") reject(new TfewError(`${command} not found on PATH; ${options.hint}`));
      else reject(new TfewError(`cannot run ${command} (${error.code ?? error.message}); ${options.hint}`));
    });
    child.on("close", (code) => resolveRun({ code, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}
