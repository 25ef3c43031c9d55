import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  DEVICE_MEMORY_QUERY_ARGS,
  deviceFreeBytes,
  deviceMemory,
  parseGpuMemoryCsv,
  visibleGpu,
} from "./device-memory.js";

const MIB = 1024 * 1024;
// Canned output of `nvidia-smi --query-gpu=index,uuid,memory.total,memory.used,name --format=csv,noheader,nounits`
// with each card's reported total (MiB): V100 16 GB, A10 24 GB, A100 40 GB, H100 80 GB.
const CARDS = {
  "16 GB": "0, GPU-1d2a7f7c-0000-0000-0000-000000000016, 16384, 310, Tesla V100-SXM2-16GB",
  "24 GB": "0, GPU-1d2a7f7c-0000-0000-0000-000000000024, 23028, 1200, NVIDIA A10G",
  "40 GB": "0, GPU-1d2a7f7c-0000-0000-0000-000000000040, 40960, 4, NVIDIA A100-SXM4-40GB",
  "80 GB": "0, GPU-1d2a7f7c-0000-0000-0000-000000000080, 81559, 71000, NVIDIA H100 80GB HBM3",
};

describe("parseGpuMemoryCsv", () => {
  it.each([
    ["16 GB", 16384 - 310, "Tesla V100-SXM2-16GB"],
    ["24 GB", 23028 - 1200, "NVIDIA A10G"],
    ["40 GB", 40960 - 4, "NVIDIA A100-SXM4-40GB"],
    ["80 GB", 81559 - 71000, "NVIDIA H100 80GB HBM3"],
  ] as const)("reads a %s card: free = total − used, in bytes", (card, freeMiB, name) => {
    const [gpu] = parseGpuMemoryCsv(`${CARDS[card]}\n`);
    expect(gpu?.name).toBe(name);
    expect(gpu?.freeBytes).toBe(freeMiB * MIB);
    expect((gpu?.totalBytes ?? 0) - (gpu?.usedBytes ?? 0)).toBe(freeMiB * MIB);
  });

  it("skips blank, garbage and [N/A] lines; keeps every GPU of a multi-GPU host", () => {
    const text = [
      CARDS["40 GB"],
      "",
      "1, GPU-x, [N/A], [N/A], NVIDIA GRID",
      "No devices were found",
      CARDS["80 GB"].replace(/^0/, "2"),
    ].join("\r\n");
    expect(parseGpuMemoryCsv(text).map((g) => g.index)).toEqual([0, 2]);
  });
});

describe("visibleGpu", () => {
  const gpus = parseGpuMemoryCsv([CARDS["16 GB"], CARDS["80 GB"].replace(/^0/, "1")].join("\n"));
  it("takes CUDA_VISIBLE_DEVICES' first entry, by index or UUID prefix, else GPU 0", () => {
    expect(visibleGpu(gpus, undefined)?.index).toBe(0);
    expect(visibleGpu(gpus, "1,0")?.index).toBe(1);
    expect(visibleGpu(gpus, "GPU-1d2a7f7c-0000-0000-0000-000000000080")?.index).toBe(1);
    expect(visibleGpu(gpus, "7")).toBeNull();
  });
});

describe("deviceMemory / deviceFreeBytes", () => {
  it("asks nvidia-smi with the documented query and picks the visible GPU", async () => {
    const seen: string[][] = [];
    const run = async (args: readonly string[]) => {
      seen.push([...args]);
      return `${CARDS["24 GB"]}\n${CARDS["40 GB"].replace(/^0/, "1")}\n`;
    };
    expect(await deviceFreeBytes({ run, env: { CUDA_VISIBLE_DEVICES: "1" } })).toBe((40960 - 4) * MIB);
    expect(seen).toEqual([[...DEVICE_MEMORY_QUERY_ARGS]]);
    expect(
      await deviceMemory({
        run,
        env: {},
        adapterLimits: { maxBufferSize: 2 ** 32, maxStorageBufferBindingSize: 2 ** 31 },
      }),
    ).toEqual({
      source: "nvidia-smi",
      device: "GPU 0 NVIDIA A10G",
      freeBytes: (23028 - 1200) * MIB,
      totalBytes: 23028 * MIB,
      maxBufferBytes: 2 ** 31,
    });
  });

  it("falls back to the WebGPU adapter's limits, then to null, when nvidia-smi fails", async () => {
    const fail = async () => {
      throw new Error("spawn nvidia-smi ENOENT");
    };
    expect(await deviceMemory({ run: fail, adapterLimits: { maxBufferSize: 2 ** 30 } })).toEqual({
      source: "webgpu-adapter",
      device: "WebGPU adapter",
      freeBytes: null,
      totalBytes: null,
      maxBufferBytes: 2 ** 30,
    });
    expect(await deviceMemory({ run: fail })).toBeNull();
    expect(await deviceFreeBytes({ run: fail })).toBeNull();
  });

  describe("with a fake nvidia-smi on PATH", () => {
    const dir = mkdtempSync(join(tmpdir(), "tfew-smi-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    it("runs the real executable and parses its output", async () => {
      const fake = join(dir, "nvidia-smi");
      writeFileSync(
        fake,
        `#!/bin/sh\n[ "$1" = "${DEVICE_MEMORY_QUERY_ARGS[0]}" ] || exit 3\necho "${CARDS["80 GB"]}"\n`,
      );
      chmodSync(fake, 0o755);
      const path = process.env.PATH;
      process.env.PATH = `${dir}:${path ?? ""}`;
      try {
        expect(await deviceFreeBytes({ env: {} })).toBe((81559 - 71000) * MIB);
      } finally {
        process.env.PATH = path;
      }
    });
  });
});
