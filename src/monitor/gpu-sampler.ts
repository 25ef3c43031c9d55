// Samples GPU utilization and memory in the background with ONE long-lived `nvidia-smi ... -lms <interval>`
// child process; the parent only reads its stdout. Mirrors what `nvidia-smi dmon` users do by hand.
//
// Why one looping child and not a re-spawn per interval: the training loop blocks the event loop for a whole
// step, so a parent-side timer would only fire (and sample) BETWEEN steps, when the GPU is idle, biasing
// utilization low. A looping child samples on its own clock during the step; its lines wait in the pipe
// (64 KiB ≈ 1000 lines, minutes of steps) and are read when the loop yields. It also pays NVML start-up
// (up to seconds without persistence mode) once, not every interval.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { TfewError } from "../errors.js";
import { summarizeSeries } from "./metrics-log.js";
import { NVIDIA_SMI_QUERY_ARGS, parseNvidiaSmiLine } from "./nvidia-smi.js";
import type { GpuSample } from "./nvidia-smi.js";

export interface GpuSamplerOptions {
  /** Sampling period, ms (nvidia-smi -lms). 500 is plenty for per-run statistics. */
  intervalMs: number;
  /** Executable to run; default "nvidia-smi" looked up on PATH (tests put a fake one there). */
  command?: string;
  /** Called at most once per sampler, with one line, when monitoring turns itself off. */
  onWarning: (line: string) => void;
  /** Extra allowance for the FIRST line (NVML start-up on multi-GPU hosts); default 10000 ms. */
  startupGraceMs?: number;
}

/** Run-level GPU statistics; summary.json's `gpu` key. Stats pool every GPU nvidia-smi lists. */
export interface GpuSummary {
  gpus: string[];
  utilization_mean_pct: number | null;
  utilization_p95_pct: number | null;
  memory_peak_mib: number | null;
  /** Number of readings (one per GPU per tick) the statistics use. */
  samples: number;
}

export interface GpuSampler {
  /** Process id of the child; it leads its own process group. */
  readonly pid: number;
  /** Latest reading of each GPU, by index; empty before the first line. */
  latest(): readonly GpuSample[];
  /** Statistics over readings taken at or after `sinceMs` (Date.now() clock; default all); null when none. */
  summary(options?: { sinceMs?: number }): GpuSummary | null;
  /** False once stopped, by stop() or by itself (hang, garbage, child exit). */
  running(): boolean;
  /** Kills the child's process group (SIGTERM, SIGKILL after 1 s) and waits for the child to exit. Idempotent. */
  stop(): Promise<void>;
}

/** Silence allowed between lines, as a multiple of intervalMs, before the child counts as hung. */
const HANG_INTERVALS = 5;
const KILL_GRACE_MS = 1000;

/**
 * Starts sampling. Resolves to null (after calling onWarning once) when the command cannot be started,
 * e.g. "GPU monitor off: nvidia-smi not found". Never throws for a missing or broken nvidia-smi.
 */
export async function startGpuSampler(options: GpuSamplerOptions): Promise<GpuSampler | null> {
  const { intervalMs, onWarning } = options;
  const command = options.command ?? "nvidia-smi";
  if (!Number.isInteger(intervalMs) || intervalMs < 10) {
    throw new TfewError(`GPU monitor interval ${intervalMs} ms is invalid; use an integer >= 10 (monitor interval)`);
  }
  // detached: the child leads a new process group, so stop() can kill it and anything it started.
  const child = spawn(command, [...NVIDIA_SMI_QUERY_ARGS, "-lms", String(intervalMs)], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const spawnError = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    child.once("spawn", () => resolve(null));
    child.once("error", (error) => resolve(error));
  });
  if (spawnError !== null) {
    const name = command.split("/").pop() ?? command;
    onWarning(
      spawnError.code === "ENOENT"
        ? `GPU monitor off: ${name} not found`
        : `GPU monitor off: cannot run ${command} (${spawnError.code ?? spawnError.message})`,
    );
    return null;
  }
  return new RunningSampler(child, {
    intervalMs,
    onWarning,
    startupGraceMs: options.startupGraceMs ?? 10_000,
    command,
  });
}

class RunningSampler implements GpuSampler {
  readonly pid: number;
  private readonly latestByIndex = new Map<number, GpuSample>();
  private readonly names = new Map<number, string>();
  // Parallel series (numbers only: ~16 bytes a reading, 10 h at 500 ms ≈ 1 MB).
  private readonly times: number[] = [];
  private readonly utilization: (number | null)[] = [];
  private readonly memoryUsed: (number | null)[] = [];
  private partial = "";
  private stderrTail = "";
  private lastLineMs: number;
  private sawLine = false;
  private warned = false;
  private isRunning = true;
  private readonly exited: Promise<void>;
  private readonly watchdog: NodeJS.Timeout;
  private readonly onProcessExit = (): void => this.killGroup("SIGKILL");

  constructor(
    private readonly child: ChildProcess,
    private readonly options: {
      intervalMs: number;
      onWarning: (line: string) => void;
      startupGraceMs: number;
      command: string;
    },
  ) {
    this.pid = child.pid as number;
    this.lastLineMs = Date.now();
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    child.on("error", () => undefined); // a failed kill() must not become an uncaught 'error'
    // 'close' (not 'exit'): by then every line the child wrote has been read, so garbage is reported as such.
    child.once("close", (code, signal) => {
      if (this.isRunning)
        this.shutDown(`GPU monitor off: ${options.command} exited (${signal ?? `code ${code}`})${this.context()}`);
    });
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => this.onData(chunk));
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-300);
    });
    // Nothing here may keep the process alive: if the caller forgets stop(), exit still happens and
    // onProcessExit kills the group (a child that outlives a crashed parent dies of SIGPIPE at its next line).
    child.unref();
    (child.stdout as { unref?: () => void } | null)?.unref?.();
    (child.stderr as { unref?: () => void } | null)?.unref?.();
    process.once("exit", this.onProcessExit);
    // The check runs in setImmediate, i.e. AFTER the poll phase: when a long synchronous training step
    // delays this timer, lines that arrived meanwhile are read first and do not count as silence.
    this.watchdog = setInterval(() => setImmediate(() => this.checkSilence()), options.intervalMs);
    this.watchdog.unref();
  }

  latest(): readonly GpuSample[] {
    return [...this.latestByIndex.values()].sort((a, b) => a.index - b.index);
  }

  summary(options: { sinceMs?: number } = {}): GpuSummary | null {
    const since = options.sinceMs ?? Number.NEGATIVE_INFINITY;
    const utilization: number[] = [];
    const memory: number[] = [];
    let samples = 0;
    for (let i = 0; i < this.times.length; i++) {
      if ((this.times[i] as number) < since) continue;
      samples++;
      const u = this.utilization[i];
      const m = this.memoryUsed[i];
      if (u !== null && u !== undefined) utilization.push(u);
      if (m !== null && m !== undefined) memory.push(m);
    }
    if (samples === 0) return null;
    const util = summarizeSeries(utilization);
    const mem = summarizeSeries(memory);
    return {
      gpus: [...this.names.entries()].sort(([a], [b]) => a - b).map(([, name]) => name),
      utilization_mean_pct: util === null ? null : util.mean,
      utilization_p95_pct: util === null ? null : util.p95,
      memory_peak_mib: mem === null ? null : mem.max,
      samples,
    };
  }

  running(): boolean {
    return this.isRunning;
  }

  async stop(): Promise<void> {
    this.shutDown(null);
    // The child is unref'd; without this, a caller with nothing else pending would see the event loop end
    // (node exits with code 13, the rest of its code never runs) before 'exit' arrives.
    this.child.ref();
    await this.exited;
  }

  private onData(chunk: string): void {
    if (!this.isRunning) return;
    const now = Date.now();
    const lines = (this.partial + chunk).split(/\r?\n/);
    this.partial = lines.pop() ?? "";
    for (const raw of lines) {
      const line = raw.trim();
      if (line === "") continue;
      const sample = parseNvidiaSmiLine(line, now);
      if (sample === null) {
        this.shutDown(
          `GPU monitor off: unexpected ${this.options.command} output: ${JSON.stringify(line.slice(0, 120))}`,
        );
        return;
      }
      this.sawLine = true;
      this.lastLineMs = now;
      this.latestByIndex.set(sample.index, sample);
      this.names.set(sample.index, sample.name);
      this.times.push(now);
      this.utilization.push(sample.utilizationPct);
      this.memoryUsed.push(sample.memoryUsedMiB);
    }
  }

  private checkSilence(): void {
    if (!this.isRunning) return;
    const allowed = HANG_INTERVALS * this.options.intervalMs + (this.sawLine ? 0 : this.options.startupGraceMs);
    const silentMs = Date.now() - this.lastLineMs;
    if (silentMs > allowed) {
      this.shutDown(`GPU monitor off: no output from ${this.options.command} for ${silentMs} ms (> ${allowed} ms)`);
    }
  }

  /** Stops everything once; `warning` (when not null) goes to onWarning, at most once per sampler. */
  private shutDown(warning: string | null): void {
    if (!this.isRunning) return;
    this.isRunning = false;
    clearInterval(this.watchdog);
    process.removeListener("exit", this.onProcessExit);
    if (warning !== null && !this.warned) {
      this.warned = true;
      this.options.onWarning(warning);
    }
    this.killGroup("SIGTERM");
    const escalate = setTimeout(() => this.killGroup("SIGKILL"), KILL_GRACE_MS);
    escalate.unref();
    void this.exited.then(() => {
      clearTimeout(escalate);
      this.killGroup("SIGKILL"); // anything the child started that ignored SIGTERM
    });
  }

  private killGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  }

  private context(): string {
    const text = (this.partial + " " + this.stderrTail).trim().split(/\r?\n/)[0] ?? "";
    return text === "" ? "" : `: ${text.slice(0, 120)}`;
  }
}
