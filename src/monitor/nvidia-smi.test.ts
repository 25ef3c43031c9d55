import { describe, expect, it } from "vitest";
import { parseNvidiaSmiCsv } from "./nvidia-smi.js";

// Canned lines in the format of `nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,memory.total,
// power.draw --format=csv,noheader,nounits` (nvidia-smi pads with a space after each comma).
const H100 = "0, NVIDIA H100 80GB HBM3, 87, 1234, 81559, 312.45";

describe("parseNvidiaSmiCsv", () => {
  it("parses one GPU", () => {
    const { samples, bad } = parseNvidiaSmiCsv(`${H100}\n`, { timeMs: 42 });
    expect(bad).toEqual([]);
    expect(samples).toEqual([
      {
        index: 0,
        name: "NVIDIA H100 80GB HBM3",
        utilizationPct: 87,
        memoryUsedMiB: 1234,
        memoryTotalMiB: 81559,
        powerW: 312.45,
        timeMs: 42,
      },
    ]);
  });

  it("parses several GPUs and CRLF line ends", () => {
    const text = [
      "0, NVIDIA A100-SXM4-80GB, 100, 70000, 81920, 398.12",
      "1, NVIDIA A100-SXM4-80GB, 0, 4, 81920, 61.03",
      "2, Tesla T4, 55, 15000, 15360, 70.00",
    ].join("\r\n");
    const { samples, bad } = parseNvidiaSmiCsv(text, { timeMs: 1 });
    expect(bad).toEqual([]);
    expect(samples.map((s) => [s.index, s.name, s.utilizationPct, s.memoryUsedMiB, s.powerW])).toEqual([
      [0, "NVIDIA A100-SXM4-80GB", 100, 70000, 398.12],
      [1, "NVIDIA A100-SXM4-80GB", 0, 4, 61.03],
      [2, "Tesla T4", 55, 15000, 70],
    ]);
  });

  it("maps [N/A], N/A, [Not Supported] and other bracketed values to null", () => {
    const text = [
      "0, NVIDIA GeForce RTX 3090, [N/A], 500, 24576, [Not Supported]",
      "1, NVIDIA L4, N/A, [N/A], [Unknown Error], 20.5",
    ].join("\n");
    const { samples, bad } = parseNvidiaSmiCsv(text);
    expect(bad).toEqual([]);
    expect(samples[0]).toMatchObject({ utilizationPct: null, memoryUsedMiB: 500, memoryTotalMiB: 24576, powerW: null });
    expect(samples[1]).toMatchObject({ utilizationPct: null, memoryUsedMiB: null, memoryTotalMiB: null, powerW: 20.5 });
  });

  it("sends garbage lines to bad, keeps good lines, skips blank lines", () => {
    const text = [
      "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
      "",
      H100,
      'Field "power.draw" is not a valid field to query.',
      "0, NVIDIA H100 80GB HBM3, 87 %, 1234 MiB, 81559 MiB, 312.45 W", // units: not what nounits prints
      "x, name, 1, 2, 3, 4",
      "0, , 1, 2, 3, 4",
      "0, NVIDIA H100, 1, 2, 3",
    ].join("\n");
    const { samples, bad } = parseNvidiaSmiCsv(text);
    expect(samples).toHaveLength(1);
    expect(bad).toEqual([
      "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
      'Field "power.draw" is not a valid field to query.',
      "0, NVIDIA H100 80GB HBM3, 87 %, 1234 MiB, 81559 MiB, 312.45 W",
      "x, name, 1, 2, 3, 4",
      "0, , 1, 2, 3, 4",
      "0, NVIDIA H100, 1, 2, 3",
    ]);
  });

  it("returns nothing for empty output", () => {
    expect(parseNvidiaSmiCsv("")).toEqual({ samples: [], bad: [] });
    expect(parseNvidiaSmiCsv("\n \n")).toEqual({ samples: [], bad: [] });
  });
});
