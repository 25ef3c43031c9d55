import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createProgress, formatDuration, formatFields, formatLine, formatScientific } from "./progress.js";

/** Collects what is written; `isTTY` and `columns` make cli-progress treat it as a terminal. */
class FakeStream extends Writable {
  text = "";
  constructor(
    readonly isTTY: boolean,
    readonly columns = 200,
  ) {
    super();
  }
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe("formatFields", () => {
  it("formats the known fields in a fixed order with units", () => {
    const fields = {
      eta_s: 12.4,
      gpu_mem_mib: 1234.4,
      gpu_util_pct: 86.6,
      examples_per_s: 12.34,
      lr: 0.003,
      loss: 1.23449,
    };
    expect(formatFields(fields)).toBe("loss=1.234 lr=3.0e-03 ex/s=12.3 gpu=87% mem=1234MiB eta=12s");
  });

  it("prints unknown fields as key=value before eta, strings verbatim", () => {
    expect(formatFields({ loss: 0.5, eta_s: 65, grad_norm: 0.123456, epoch: 2, phase: "warmup" })).toBe(
      "loss=0.500 grad_norm=0.1235 epoch=2 phase=warmup eta=1m05s",
    );
  });

  it("keeps tiny, huge and broken losses readable", () => {
    expect(formatFields({ loss: 0.00001234 })).toBe("loss=1.2e-05");
    expect(formatFields({ loss: 123456 })).toBe("loss=1.2e+05");
    expect(formatFields({ loss: 0 })).toBe("loss=0.000");
    expect(formatFields({ loss: Number.NaN })).toBe("loss=NaN");
    expect(formatFields({})).toBe("");
  });

  it("formats durations and learning rates", () => {
    expect([0, 59.4, 60, 3599, 3600, 7500].map(formatDuration)).toEqual([
      "0s",
      "59s",
      "1m00s",
      "59m59s",
      "1h00m",
      "2h05m",
    ]);
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe("?");
    expect([3e-3, 1, 0.000125, 12].map(formatScientific)).toEqual(["3.0e-03", "1.0e+00", "1.3e-04", "1.2e+01"]);
  });

  it("builds the plain line", () => {
    expect(formatLine("", 10, 60, { loss: 1.234 })).toBe("step 10/60 loss=1.234");
    expect(formatLine("train", 10, 60, {})).toBe("train step 10/60");
  });
});

describe("createProgress", () => {
  it("writes one plain line per update off a TTY, with an ETA from the rate since the first update", () => {
    const stream = new FakeStream(false);
    let t = 0;
    const progress = createProgress({
      total: 60,
      label: "train",
      stream: stream as unknown as NodeJS.WriteStream,
      now: () => t,
    });
    progress.update(1, { loss: 2 }); // first update: rate unknown, no eta
    t = 5000; // 4 steps in 5 s → 1.25 s/step; 55 steps left
    progress.update(5, { loss: 1.5, lr: 3e-3 });
    progress.log("GPU monitor off: nvidia-smi not found");
    progress.stop();
    progress.update(6, { loss: 1 }); // after stop: ignored
    expect(stream.text).toBe(
      [
        "train step 1/60 loss=2.000",
        "train step 5/60 loss=1.500 lr=3.0e-03 eta=1m09s",
        "GPU monitor off: nvidia-smi not found",
        "",
      ].join("\n"),
    );
  });

  it("draws a bar on a TTY and finishes it on stop()", () => {
    const stream = new FakeStream(true);
    const progress = createProgress({ total: 4, label: "train", stream: stream as unknown as NodeJS.WriteStream });
    progress.update(2, { loss: 1.25, gpu_util_pct: 90, gpu_mem_mib: 2048, eta_s: 3 });
    progress.log("a warning");
    progress.stop();
    progress.stop();
    const text = stream.text;
    expect(text).toContain(`train ${"█".repeat(15)}${"░".repeat(15)} 2/4 loss=1.250 gpu=90% mem=2048MiB eta=3s`);
    expect(text).toContain("a warning\n");
    expect(text.endsWith("\n")).toBe(true);
    expect(text).toContain("\x1B[?25h"); // cursor shown again
  });
});
