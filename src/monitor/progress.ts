// Training progress: a cli-progress bar on a terminal, one plain line per update elsewhere (CI, files,
// docker logs). All text comes from the pure formatFields / formatLine, as in nanoGPT's one-line step log.
import cliProgress from "cli-progress";

/** Field values by name. Known names (below) get units and fixed precision; others print as key=value. */
export type ProgressFields = Record<string, string | number>;

export interface Progress {
  /** Reports that `step` (1-based) of total is done. Adds eta_s unless the caller gave it. */
  update(step: number, fields: ProgressFields): void;
  /** Prints a line (e.g. a warning) without breaking the bar. */
  log(line: string): void;
  /** Finishes the bar (newline, cursor back); idempotent. */
  stop(): void;
}

export interface ProgressOptions {
  total: number;
  /** Names the loop: "train", "eval". Printed before the bar / step. */
  label: string;
  /** Default process.stderr, leaving stdout to results. */
  stream?: NodeJS.WriteStream;
  /** Bar or plain lines; default stream.isTTY. */
  isTTY?: boolean;
  /** Clock for the ETA, ms (tests); default Date.now. */
  now?: () => number;
}

// Display label and formatter of each known field, in display order; eta_s always prints last.
const KNOWN: readonly [key: string, label: string, format: (value: number) => string][] = [
  ["loss", "loss", formatLoss],
  ["lr", "lr", formatScientific],
  ["learning_rate", "lr", formatScientific],
  ["examples_per_s", "ex/s", (v) => v.toFixed(1)],
  ["gpu_util_pct", "gpu", (v) => `${Math.round(v)}%`],
  ["gpu_mem_mib", "mem", (v) => `${Math.round(v)}MiB`],
];
const LAST: readonly [key: string, label: string, format: (value: number) => string][] = [
  ["eta_s", "eta", formatDuration],
];

/** `loss=1.234 lr=3.0e-03 ex/s=12.3 gpu=87% mem=1234MiB <others> eta=12s` for the fields present. */
export function formatFields(fields: ProgressFields): string {
  const parts: string[] = [];
  const done = new Set<string>();
  const add = (key: string, label: string, format: (value: number) => string): void => {
    const value = fields[key];
    if (value === undefined) return;
    done.add(key);
    parts.push(`${label}=${typeof value === "number" ? format(value) : value}`);
  };
  for (const [key, label, format] of KNOWN) add(key, label, format);
  for (const key of Object.keys(fields)) {
    if (!done.has(key) && !LAST.some(([last]) => last === key)) add(key, key, formatNumber);
  }
  for (const [key, label, format] of LAST) add(key, label, format);
  return parts.join(" ");
}

/** One plain progress line: `train step 10/60 loss=1.234 ...` (label omitted when empty). */
export function formatLine(label: string, step: number, total: number, fields: ProgressFields): string {
  const text = formatFields(fields);
  return [label, `step ${step}/${total}`, text].filter((part) => part !== "").join(" ");
}

/** 7s, 3m04s, 2h05m; "?" when unknown (NaN, Infinity, negative). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** 3.0e-03: one decimal, two-digit exponent, so learning rates line up. */
export function formatScientific(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const [mantissa, exponent = "0"] = value.toExponential(1).split("e");
  const sign = exponent.startsWith("-") ? "-" : "+";
  return `${mantissa}e${sign}${exponent.replace(/^[+-]/, "").padStart(2, "0")}`;
}

function formatLoss(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return value === 0 || (Math.abs(value) >= 1e-3 && Math.abs(value) < 1e4) ? value.toFixed(3) : formatScientific(value);
}

function formatNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  if (!Number.isFinite(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

/** Draws `width` cells, `fraction` of them full. */
function drawBar(fraction: number, width: number): string {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return "█".repeat(full) + "░".repeat(width - full);
}

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = options.isTTY ?? stream.isTTY === true;
  const now = options.now ?? Date.now;
  const { total, label } = options;
  // ETA from the rate since the FIRST update, so step 1 (graph build, warm-up) does not skew it.
  let first: { step: number; timeMs: number } | null = null;
  let stopped = false;

  const withEta = (step: number, fields: ProgressFields): ProgressFields => {
    if (fields.eta_s !== undefined) return fields;
    const t = now();
    if (first === null) first = { step, timeMs: t };
    if (step <= first.step) return fields;
    const secondsPerStep = (t - first.timeMs) / 1000 / (step - first.step);
    return { ...fields, eta_s: Math.max(0, total - step) * secondsPerStep };
  };

  if (!tty) {
    return {
      update(step, fields) {
        if (!stopped) stream.write(`${formatLine(label, step, total, withEta(step, fields))}\n`);
      },
      log(line) {
        stream.write(`${line}\n`);
      },
      stop() {
        stopped = true;
      },
    };
  }

  const bar = new cliProgress.SingleBar({
    stream,
    format: (_options, params, payload: { fields?: string }) =>
      `${label} ${drawBar(params.total > 0 ? params.value / params.total : 0, 30)} ${params.value}/${params.total} ${payload.fields ?? ""}`.trimEnd(),
    hideCursor: true,
    clearOnComplete: false,
    gracefulExit: false, // its SIGINT handler would swallow Ctrl-C
    fps: 10,
    forceRedraw: true, // so render() redraws the bar after log() wrote over it
  });
  bar.start(total, 0, { fields: "" });
  return {
    update(step, fields) {
      if (!stopped) bar.update(step, { fields: formatFields(withEta(step, fields)) });
    },
    log(line) {
      if (stopped) {
        stream.write(`${line}\n`);
        return;
      }
      // Replace the bar's line with the message, then draw the bar again below it.
      stream.write(`\r\x1b[2K${line}\n`);
      bar.render();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
