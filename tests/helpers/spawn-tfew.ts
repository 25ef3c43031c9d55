// Spawns the built CLI (node bin/tfew.js → dist/, so `npm run build` first; `npm test` does) in a scratch
// folder with start/kill control for the resume and bad-input tests, and copies of the embedded demo.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runInProcess } from "./in-process.js";
import { REPO_ROOT } from "./shared.js";

export const CLI = join(REPO_ROOT, "bin", "tfew.js");
export const DEMO_MODEL = join(REPO_ROOT, "data", "demo-model");
export const DEMO_TASK = join(REPO_ROOT, "data", "demo-task");

/** Quiet training settings shared by the CLI tests (one worker, no nvidia-smi). */
export const QUICK = ["--set", "workers=1", "--set", "monitor.gpu=off"];

export interface CliResult {
  code: number | null; // exit code; null when killed by a signal
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Throws a clear message when dist/ has not been built (these tests spawn the compiled CLI). */
export function requireBuild(): void {
  if (!existsSync(join(REPO_ROOT, "dist", "cli", "main.js"))) {
    throw new Error("dist/cli/main.js is missing: run `npm run build` before these tests (`npm test` builds first)");
  }
}

/** The environment of every spawned CLI: never touch the network or the user's hub cache. */
function cliEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HF_HUB_OFFLINE: "1", HF_HUB_CACHE: join(home, "hub-cache") };
  delete env.TFEW_BACKEND; // each test picks its backend with --backend
  return env;
}

export interface Spawned {
  child: ChildProcess;
  /** resolves when stderr contains `text` (rejects if the process ends first) */
  waitFor: (text: string) => Promise<void>;
  done: Promise<CliResult>;
}

/** Starts `node bin/tfew.js ...args` in `cwd` (a scratch folder); killed after timeoutMs (default 100 s). */
export function startCli(
  args: string[],
  options: { cwd: string; timeoutMs?: number; env?: NodeJS.ProcessEnv },
): Spawned {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: { ...cliEnv(options.cwd), ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const waiters: { text: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 100_000);
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
    for (const w of [...waiters]) {
      if (!stderr.includes(w.text)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const done = new Promise<CliResult>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      for (const w of waiters.splice(0))
        w.reject(
          new Error(`tfew exited (code ${code}, signal ${signal}) before printing "${w.text}"; stderr:\n${stderr}`),
        );
      resolve({ code, signal, stdout, stderr });
    });
  });
  done.catch(() => undefined);
  const waitFor = (text: string) =>
    new Promise<void>((resolve, reject) => {
      if (stderr.includes(text)) resolve();
      else waiters.push({ text, resolve, reject });
    });
  return { child, waitFor, done };
}

/** Runs the CLI to completion in-process (main(argv, io)) in `cwd`, with the environment of startCli. */
export function runCli(args: string[], options: { cwd: string }): Promise<CliResult> {
  const env = cliEnv(options.cwd);
  return runInProcess(args, { cwd: options.cwd, env: { ...env, TFEW_BACKEND: undefined } });
}

/** Runs the CLI to completion as a child process (when the process itself is under test). */
export function runCliProcess(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  return startCli(args, options).done;
}

/** A fresh scratch folder under the OS temp dir. */
export function scratch(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `tfew-${prefix}-`));
}

/** Copies data/demo-task or data/demo-model into `dir` (as task/ or model/) and returns the copy's path. */
export async function copyDemo(which: "task" | "model", dir: string): Promise<string> {
  const to = join(dir, which);
  await cp(which === "task" ? DEMO_TASK : DEMO_MODEL, to, { recursive: true });
  return to;
}

/** Every file under `dir` (relative paths, sorted); [] when the folder does not exist. */
export async function listFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/** writeFileAtomic's temp-file names: `.<name>.tmp-<pid>@<host>-<hex>` (`.<name>.tmp-<pid>-<hex>` before). */
export const TEMP_FILE = /(^|\/)\.[^/]+\.tmp-\d+(@[^/]+)?-[0-9a-f]+$/;
