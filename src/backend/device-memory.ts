// Free memory of the GPU tfew runs on: nvidia-smi's memory.total − memory.used (NVIDIA, any backend), or
// only the WebGPU adapter's buffer limits where nvidia-smi is absent (WebGPU has no free-memory query).
import { readFileSync } from "node:fs";
import { freemem } from "node:os";
import { execFile } from "node:child_process";
import { parseSmiNumber, splitSmiLine } from "./nvidia-smi-csv.js";

/** The query deviceMemory runs: `nvidia-smi --query-gpu=index,uuid,memory.total,memory.used,name --format=csv,noheader,nounits`. */
export const DEVICE_MEMORY_QUERY_ARGS: readonly string[] = [
  "--query-gpu=index,uuid,memory.total,memory.used,name",
  "--format=csv,noheader,nounits",
];

const MIB = 1024 * 1024;

/** One GPU's memory as nvidia-smi reports it (MiB there, bytes here). */
export interface GpuMemory {
  index: number;
  uuid: string;
  name: string;
  totalBytes: number;
  usedBytes: number;
  /** totalBytes − usedBytes: what other processes and the driver leave */
  freeBytes: number;
}

/** Parses the output of DEVICE_MEMORY_QUERY_ARGS; lines without both memory readings ([N/A]) are left out. */
export function parseGpuMemoryCsv(text: string): GpuMemory[] {
  const gpus: GpuMemory[] = [];
  for (const line of text.split(/\r?\n/)) {
    const parts = splitSmiLine(line);
    if (parts.length < 5 || !/^\d+$/.test(parts[0] ?? "")) continue;
    const total = parseSmiNumber(parts[2] ?? "");
    const used = parseSmiNumber(parts[3] ?? "");
    if (typeof total !== "number" || typeof used !== "number") continue;
    const totalBytes = total * MIB;
    const usedBytes = used * MIB;
    gpus.push({
      index: Number(parts[0]),
      uuid: parts[1] ?? "",
      name: parts.slice(4).join(", "),
      totalBytes,
      usedBytes,
      freeBytes: Math.max(0, totalBytes - usedBytes),
    });
  }
  return gpus;
}

/** The GPU a CUDA process sees as device 0: CUDA_VISIBLE_DEVICES' first entry (index or UUID prefix), else the first. */
export function visibleGpu(gpus: readonly GpuMemory[], cudaVisibleDevices: string | undefined): GpuMemory | null {
  const first = (cudaVisibleDevices ?? "").split(",")[0]?.trim() ?? "";
  if (first === "") return gpus[0] ?? null;
  if (/^\d+$/.test(first)) return gpus.find((gpu) => gpu.index === Number(first)) ?? null;
  return gpus.find((gpu) => gpu.uuid.startsWith(first)) ?? null;
}

/** WebGPU adapter limits (GPUSupportedLimits) that bound one tensor. */
export interface AdapterLimits {
  maxBufferSize?: number;
  maxStorageBufferBindingSize?: number;
}

export interface DeviceMemory {
  source: "nvidia-smi" | "webgpu-adapter";
  /** e.g. "GPU 0 NVIDIA A10" or "WebGPU adapter" */
  device: string;
  /** memory.total − memory.used; null when only adapter limits are known */
  freeBytes: number | null;
  totalBytes: number | null;
  /** WebGPU: the largest buffer one tensor may use (min of maxBufferSize and maxStorageBufferBindingSize); else null */
  maxBufferBytes: number | null;
}

/** Runs nvidia-smi with these arguments and returns its stdout (tests inject canned output). */
export type NvidiaSmiRunner = (args: readonly string[]) => Promise<string>;

const runNvidiaSmi: NvidiaSmiRunner = (args) =>
  new Promise((resolve, reject) => {
    execFile("nvidia-smi", [...args], { timeout: 10_000, encoding: "utf8" }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
  });

/** The device's memory: nvidia-smi first, else the WebGPU adapter's limits, else null (CPU host, unknown GPU). */
export async function deviceMemory(
  options: { env?: NodeJS.ProcessEnv; run?: NvidiaSmiRunner; adapterLimits?: AdapterLimits } = {},
): Promise<DeviceMemory | null> {
  const env = options.env ?? process.env;
  const maxBufferBytes = bufferLimit(options.adapterLimits);
  let gpu: GpuMemory | null = null;
  try {
    gpu = visibleGpu(
      parseGpuMemoryCsv(await (options.run ?? runNvidiaSmi)(DEVICE_MEMORY_QUERY_ARGS)),
      env.CUDA_VISIBLE_DEVICES,
    );
  } catch {
    gpu = null; // no nvidia-smi, or it failed (no driver): fall back to the adapter
  }
  if (gpu !== null)
    return {
      source: "nvidia-smi",
      device: `GPU ${gpu.index} ${gpu.name}`,
      freeBytes: gpu.freeBytes,
      totalBytes: gpu.totalBytes,
      maxBufferBytes,
    };
  if (maxBufferBytes !== null)
    return { source: "webgpu-adapter", device: "WebGPU adapter", freeBytes: null, totalBytes: null, maxBufferBytes };
  return null;
}

/** Free bytes on the device tfew uses (nvidia-smi's memory.total − memory.used), or null when unknown. */
export async function deviceFreeBytes(
  options: { env?: NodeJS.ProcessEnv; run?: NvidiaSmiRunner } = {},
): Promise<number | null> {
  return (await deviceMemory(options))?.freeBytes ?? null;
}

function bufferLimit(limits: AdapterLimits | undefined): number | null {
  const values = [limits?.maxBufferSize, limits?.maxStorageBufferBindingSize].filter(
    (v): v is number => typeof v === "number" && v > 0,
  );
  return values.length === 0 ? null : Math.min(...values);
}

/**
 * Host memory a CPU engine (tensorflow without a GPU, cpu) may still use: MemAvailable of /proc/meminfo (Linux:
 * free memory plus what the kernel can reclaim), else os.freemem().
 */
export function hostAvailableBytes(readMeminfo: () => string = () => readFileSync("/proc/meminfo", "utf8")): number {
  try {
    const kb = /^MemAvailable:\s+(\d+) kB$/m.exec(readMeminfo())?.[1];
    if (kb !== undefined) return Number(kb) * 1024;
  } catch {
    // not Linux: fall through
  }
  return freemem();
}
