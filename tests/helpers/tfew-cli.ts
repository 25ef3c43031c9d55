// Runs the built CLI (`node bin/tfew.js`) as a child process for integration tests, building dist/ first when
// it is missing or older than src/ (one build at a time across vitest workers), plus CSV helpers.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { runInProcess } from "./in-process.js";
import { REPO_ROOT } from "./shared.js";

export const TFEW_BIN = join(REPO_ROOT, "bin", "tfew.js");
export const DEMO_MODEL_DIR = join(REPO_ROOT, "data", "demo-model");
export const DEMO_TASK_DIR = join(REPO_ROOT, "data", "demo-task");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallS: number;
}

/** Newest mtime (ms) of the .ts files tsconfig.build.json compiles (src/ without tests). */
function newestSourceMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMs(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts"))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function distIsFresh(): boolean {
  try {
    return statSync(join(REPO_ROOT, "dist", "cli", "main.js")).mtimeMs >= newestSourceMs(join(REPO_ROOT, "src"));
  } catch {
    return false;
  }
}

/** `npm run build` unless dist/ is newer than src/; a lock folder keeps parallel test files from building at once. */
export async function ensureBuilt(): Promise<void> {
  const lock = join(tmpdir(), `tfew-build-${REPO_ROOT.replace(/[^A-Za-z0-9]/g, "_")}.lock`);
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (distIsFresh()) return;
    try {
      mkdirSync(lock);
    } catch {
      // Another worker is building; a lock older than 5 minutes is left over from a killed run.
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held !== undefined && Date.now() - held.mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for the build lock ${lock}`);
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    try {
      if (distIsFresh()) return;
      const r = spawnSync("npm", ["run", "build"], { cwd: REPO_ROOT, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`npm run build failed (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
      return;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

/** Runs `tfew ...args` in-process (main(argv, io)) in the repo root; env values override process.env. */
export async function runTfew(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return runInProcess(args, { cwd: REPO_ROOT, env: options.env });
}

/** Like runTfew, but fails with the command's output when the exit code is not 0. */
export async function runTfewOk(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return checkOk(args, await runTfew(args, options));
}

/** Runs `node bin/tfew.js ...args` in the repo root; resolves when it exits (kills it after timeoutMs). */
export function runTfewProcess(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TFEW_BIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 110_000);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, wallS: (performance.now() - t0) / 1000 });
    });
  });
}

/** Like runTfewProcess, but fails with the command's output when the exit code is not 0. */
export async function runTfewProcessOk(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return checkOk(args, await runTfewProcess(args, options));
}

function checkOk(args: string[], r: CliResult): CliResult {
  if (r.code !== 0)
    throw new Error(
      `tfew ${args.join(" ")} exited with ${r.code ?? r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
    );
  return r;
}

/** A fresh temporary folder; remove it with removeTempDir. */
export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tfew-${prefix}-`));
}

export function removeTempDir(dir: string | undefined): void {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}

/** The demo training command's arguments: few steps, one worker, given extra --set values. */
export function demoTrainArgs(outDir: string, sets: string[]): string[] {
  return ["train", "--out", outDir, ...sets.flatMap((s) => ["--set", s])];
}

/** A CSV file's header and records (strings), parsed as tfew reads task files (BOM, leading spaces dropped). */
export function parseCsv(text: string): { header: string[]; rows: string[][] } {
  const [header, ...rows] = parse(text, { bom: true, ltrim: true, skip_empty_lines: true }) as string[][];
  if (header === undefined) throw new Error("CSV has no header");
  return { header, rows };
}

/** One CSV field: quoted (with "" for ") when it holds a comma, quote, newline or leading/trailing space. */
export function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** A CSV text from a header and records, "\n" line ends. */
export function toCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(",")).join("\n") + "\n";
}
