// Runs `tfew ...args` in this test process: main(argv, io) with captured stdout/stderr, the given environment
// and working folder, one run at a time (env and cwd are process-wide). No child process, no second load of
// TensorFlow.js; tests that need the process itself (signals, kill -9, the kit) spawn bin/tfew.js instead.
import { main } from "../../src/cli/main.js";

export interface InProcessResult {
  code: number;
  signal: null;
  stdout: string;
  stderr: string;
  wallS: number;
}

let queue: Promise<void> = Promise.resolve();
const stderrWrite = process.stderr.write.bind(process.stderr);

/** `tfew ...args` in-process; `env` values override process.env for the run (undefined removes a key). */
export async function runInProcess(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<InProcessResult> {
  const before = queue;
  let release = () => {};
  queue = new Promise<void>((resolve) => (release = resolve));
  await before;
  const savedEnv = { ...process.env };
  const savedCwd = process.cwd();
  try {
    for (const [key, value] of Object.entries(options.env ?? {})) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    if (options.cwd !== undefined) process.chdir(options.cwd);
    let stdout = "";
    let stderr = "";
    // progress lines of the lower rooms go to process.stderr, as in a real run: captured with the rest
    process.stderr.write = ((chunk: string | Uint8Array) => {
      stderr += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      return true;
    }) as typeof process.stderr.write;
    const t0 = performance.now();
    const code = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
    return { code, signal: null, stdout, stderr, wallS: (performance.now() - t0) / 1000 };
  } finally {
    process.stderr.write = stderrWrite;
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
    process.chdir(savedCwd);
    release();
  }
}
