// Parses `nvidia-smi --query-gpu=<NVIDIA_SMI_FIELDS> --format=csv,noheader,nounits` output into samples.
// Mirrors nvidia-smi's CSV query mode: one line per GPU per tick, fields in the order queried.
import { parseSmiNumber, splitSmiLine } from "../backend/nvidia-smi-csv.js";

/** One GPU reading. Fields nvidia-smi reports as `[N/A]`, `N/A` or `[Not Supported]` are null. */
export interface GpuSample {
  /** nvidia-smi's GPU index (the `index` field; NVML order, not CUDA_VISIBLE_DEVICES order). */
  index: number;
  /** Product name as nvidia-smi prints it, e.g. "NVIDIA H100 80GB HBM3". */
  name: string;
  /** Percent of the last sample period in which a kernel was running (0-100). */
  utilizationPct: number | null;
  /** Device memory in use by all processes, MiB. */
  memoryUsedMiB: number | null;
  /** Device memory size, MiB. */
  memoryTotalMiB: number | null;
  /** Board power draw, W. */
  powerW: number | null;
  /** When tfew read the line (Date.now()), not when nvidia-smi sampled it: lines read in a burst share it. */
  timeMs: number;
}

/** The --query-gpu fields, in the order parseNvidiaSmiCsv expects them. */
export const NVIDIA_SMI_FIELDS = [
  "index",
  "name",
  "utilization.gpu",
  "memory.used",
  "memory.total",
  "power.draw",
] as const;

/** Arguments for one CSV query; the sampler appends `-lms <interval>` to loop. */
export const NVIDIA_SMI_QUERY_ARGS: readonly string[] = [
  `--query-gpu=${NVIDIA_SMI_FIELDS.join(",")}`,
  "--format=csv,noheader,nounits",
];

/** Parses one line; null when it is not a well-formed sample. */
export function parseNvidiaSmiLine(line: string, timeMs: number): GpuSample | null {
  const parts = splitSmiLine(line);
  if (parts.length < NVIDIA_SMI_FIELDS.length) return null;
  // A product name never contains a comma today; if one ever does, the middle fields are the name.
  const indexRaw = parts[0] ?? "";
  const numeric = parts.slice(-4).map(parseSmiNumber);
  const name = parts.slice(1, -4).join(", ");
  if (!/^\d+$/.test(indexRaw) || name === "" || numeric.some((value) => value === undefined)) return null;
  const [utilizationPct, memoryUsedMiB, memoryTotalMiB, powerW] = numeric as (number | null)[];
  return {
    index: Number(indexRaw),
    name,
    utilizationPct: utilizationPct ?? null,
    memoryUsedMiB: memoryUsedMiB ?? null,
    memoryTotalMiB: memoryTotalMiB ?? null,
    powerW: powerW ?? null,
    timeMs,
  };
}

/**
 * Parses nvidia-smi CSV output (any number of lines, any number of GPUs). Blank lines are skipped; every
 * other line that is not a sample goes to `bad` verbatim (trimmed), in order.
 */
export function parseNvidiaSmiCsv(
  text: string,
  options: { timeMs?: number } = {},
): { samples: GpuSample[]; bad: string[] } {
  const timeMs = options.timeMs ?? Date.now();
  const samples: GpuSample[] = [];
  const bad: string[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === "") continue;
    const sample = parseNvidiaSmiLine(line, timeMs);
    if (sample === null) bad.push(line);
    else samples.push(sample);
  }
  return { samples, bad };
}
