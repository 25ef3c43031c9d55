// The bad-input matrix of `tfew train`, one test per case, through the built CLI where the case is user-facing:
// a non-zero exit code, exactly one `tfew: error: ...` line naming the file or key (no stack trace unless
// --verbose), and nothing half-written in the output folder. Bad inputs are corrupted copies of the demo in
// temp folders. A full disk is simulated through writeFileAtomic's injectable fs (a unit test of saveCheckpoint).
import { existsSync } from "node:fs";
import { appendFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TfewError } from "../src/errors.js";
import type { AtomicFsOps } from "../src/io/atomic.js";
import { serializeSafetensors } from "../src/io/safetensors.js";
import { CHECKPOINT_FILE, loadCheckpoint, saveCheckpoint, type TrainState } from "../src/train/checkpoint.js";
import {
  copyDemo,
  listFiles,
  QUICK,
  requireBuild,
  runCli,
  scratch,
  startCli,
  TEMP_FILE,
  type CliResult,
} from "./helpers/spawn-tfew.js";

let work: string;
let caseCount = 0;

beforeAll(async () => {
  requireBuild();
  work = await scratch("bad-input");
});

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

/** A fresh folder for one case; its `out` subfolder is the run folder the CLI is pointed at. */
async function caseDir(): Promise<{ dir: string; out: string }> {
  const dir = join(work, `case-${++caseCount}`);
  await mkdir(dir);
  return { dir, out: join(dir, "out") };
}

/** `tfew train` on the demo (one short step on wasm) into `out`, with extra --set values and arguments. */
function train(dir: string, out: string, sets: string[], extra: string[] = []): Promise<CliResult> {
  const args = [
    "train",
    "--backend",
    "wasm",
    "--out",
    out,
    ...QUICK,
    "--set",
    "train.steps=1",
    ...sets.flatMap((s) => ["--set", s]),
    ...extra,
  ];
  return runCli(args, { cwd: dir });
}

/**
 * The error contract: exit code not 0 (and not 70, the internal-error code), stderr is one `tfew: error:` line
 * holding every `mentions` text, no stack, and `out` holds no files at all (nothing half-written). `preceding`:
 * prefixes of progress lines allowed before the error (cases that fail after the model has loaded).
 */
async function expectCleanError(
  r: CliResult,
  options: { mentions: string[]; out?: string; preceding?: string[] },
): Promise<void> {
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  const context = `stderr:\n${r.stderr}`;
  expect(r.code, context).not.toBe(0);
  expect(r.code, context).not.toBe(70);
  expect(r.code, context).not.toBeNull();
  const last = lines.at(-1) ?? "";
  expect(last, context).toMatch(/^tfew: error: \S/);
  const before = lines.slice(0, -1);
  expect(
    before.filter((l) => !(options.preceding ?? []).some((p) => l.startsWith(p))),
    context,
  ).toEqual([]);
  expect(r.stderr, context).not.toMatch(/^\s+at /m);
  for (const text of options.mentions) expect(last, context).toContain(text);
  if (options.out !== undefined) expect(await listFiles(options.out)).toEqual([]);
}

type Header = Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;

/** Rewrites a safetensors file's JSON header (data bytes unchanged); `edit` also gets the data area's length. */
async function editHeader(file: string, edit: (header: Header, dataLength: number) => void): Promise<void> {
  const bytes = await readFile(file);
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString("utf8")) as Header;
  const data = bytes.subarray(8 + length);
  edit(header, data.length);
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const padded = Buffer.alloc(Math.ceil(json.length / 8) * 8, 0x20);
  json.copy(padded);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(padded.length));
  await writeFile(file, Buffer.concat([prefix, padded, data]));
}

describe("task data", () => {
  async function badTask(corrupt: (task: string) => Promise<void>) {
    const { dir, out } = await caseDir();
    const task = await copyDemo("task", dir);
    await corrupt(task);
    return { dir, out, task, csv: join(task, "train.csv") };
  }
  const editCsv = (edit: (text: string) => string) => async (task: string) => {
    const file = join(task, "train.csv");
    await writeFile(file, edit(await readFile(file, "utf8")));
  };

  it("missing train.csv", async () => {
    const { dir, out, task, csv } = await badTask((t) => rm(join(t, "train.csv")));
    await expectCleanError(await train(dir, out, [`data.path=${task}`]), {
      mentions: ["missing train file", csv],
      out,
    });
  });

  it("empty train.csv", async () => {
    const { dir, out, task, csv } = await badTask((t) => writeFile(join(t, "train.csv"), ""));
    await expectCleanError(await train(dir, out, [`data.path=${task}`]), { mentions: [csv, "is empty"], out });
  });

  it("malformed CSV (a quote that is never closed)", async () => {
    const { dir, out, task, csv } = await badTask((t) =>
      appendFile(join(t, "train.csv"), '"this ticket never closes its quote,billing,999\n'),
    );
    await expectCleanError(await train(dir, out, [`data.path=${task}`]), { mentions: [csv, "is not valid CSV"], out });
  });

  it("missing text column", async () => {
    const { dir, out, task, csv } = await badTask(editCsv((t) => t.replace(/^Ticket,/, "Text,")));
    await expectCleanError(await train(dir, out, [`data.path=${task}`]), {
      mentions: [csv, 'has no column "Ticket"'],
      out,
    });
  });

  it("missing label column", async () => {
    const { dir, out, task, csv } = await badTask(editCsv((t) => t.replace(/^Ticket,Label,/, "Ticket,Category,")));
    await expectCleanError(await train(dir, out, [`data.path=${task}`]), {
      mentions: [csv, 'has no column "Label"'],
      out,
    });
  });

  it("a label that is not in the label list", async () => {
    const { dir, out, task, csv } = await badTask(editCsv((t) => t.replace(",billing,", ",refund,")));
    await expectCleanError(await train(dir, out, [`data.path=${task}`]), {
      mentions: ['label "refund"', csv, "row 1", "not in the label list"],
      out,
    });
  });

  it("an empty label list", async () => {
    const { dir, out, task } = await badTask(async (t) => {
      const file = join(t, "labels.json");
      await writeFile(file, JSON.stringify({ ...(JSON.parse(await readFile(file, "utf8")) as object), labels: [] }));
    });
    await expectCleanError(await train(dir, out, [`data.path=${task}`]), {
      mentions: [join(task, "labels.json"), "has 0 label(s)"],
      out,
    });
  });

  it("a one-label list", async () => {
    const { dir, out, task } = await badTask(async () => undefined);
    await expectCleanError(await train(dir, out, [`data.path=${task}`, "data.labels=[billing]"]), {
      mentions: ["data.labels", "has 1 label(s)"],
      out,
    });
  });

  it("a data.id_field that names no column (a CSV file: the real ID column would become prompt text)", async () => {
    const { dir, out, csv } = await badTask(async () => undefined);
    await expectCleanError(await train(dir, out, [`data.path=${csv}`, "data.id_field=Id"]), {
      mentions: [csv, 'has no ID column "Id"', '"ID"', "data.id_field"],
      out,
    });
  });

  it("a data.id_field other than ID on a RAFT folder (whose ID column is ID)", async () => {
    const { dir, out, task } = await badTask(async () => undefined);
    await expectCleanError(await train(dir, out, [`data.path=${task}`, "data.id_field=Id"]), {
      mentions: ['data.id_field "Id" does not apply to a RAFT task'],
      out,
    });
  });

  it("answer choices made identical by data.max_choice_len", async () => {
    const { dir, out, task } = await badTask(async () => undefined);
    await expectCleanError(await train(dir, out, [`data.path=${task}`, "data.max_choice_len=1"]), {
      mentions: ['"billing" and "bug report"', "data.max_choice_len", "at least 2"],
      out,
      preceding: ["backend: ", "model: "], // it fails once the tokenizer has loaded
    });
  });

  it("duplicate IDs", async () => {
    const { dir, out, task, csv } = await badTask(editCsv((t) => t.replace(",bug report,1\n", ",bug report,0\n")));
    await expectCleanError(await train(dir, out, [`data.path=${task}`]), { mentions: ['duplicate ID "0"', csv], out });
  });

  it("text over data.max_seq_len is truncated with one warning, and training goes on", async () => {
    const long = Array.from({ length: 400 }, (_, i) => `word${i}`).join(" ");
    const { dir, out, task } = await badTask((t) =>
      appendFile(join(t, "train.csv"), `"${long}",billing,1000\n"${long} again",bug report,1001\n`),
    );
    const r = await train(dir, out, [`data.path=${task}`]);
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stderr.split("\n").filter((l) => l.startsWith("warning:"));
    expect(warnings).toEqual([
      expect.stringMatching(/^warning: 2 of 62 training prompts were longer than data\.max_seq_len=64 tokens/),
    ]);
    expect(existsSync(join(out, "adapter", "adapter_model.safetensors"))).toBe(true);
  });

  it("bytes that are not UTF-8", async () => {
    const { dir, out, task, csv } = await badTask(async (t) => {
      const file = join(t, "train.csv");
      const text = await readFile(file);
      const at = text.indexOf("invoice");
      await writeFile(file, Buffer.concat([text.subarray(0, at), Buffer.from([0xff, 0xfe]), text.subarray(at)]));
    });
    await expectCleanError(await train(dir, out, [`data.path=${task}`]), {
      mentions: [csv, "is not valid UTF-8", "line 2"],
      out,
    });
  });
});

describe("run config", () => {
  async function withConfig(yaml: string) {
    const { dir, out } = await caseDir();
    const file = join(dir, "bad.yaml");
    await writeFile(file, yaml);
    return { dir, out, file };
  }

  it("an unknown key", async () => {
    const { dir, out, file } = await withConfig("train:\n  stpes: 3\n");
    const r = await runCli(["train", "--config", file, "--out", out], { cwd: dir });
    await expectCleanError(r, { mentions: ['unknown key "train.stpes"', file, 'did you mean "steps"'], out });
  });

  it("a value of the wrong type", async () => {
    const { dir, out, file } = await withConfig("train:\n  batch_size: eight\n");
    const r = await runCli(["train", "--config", file, "--out", out], { cwd: dir });
    await expectCleanError(r, { mentions: ["train.batch_size", file, "must be a positive integer", '"eight"'], out });
  });

  it("a negative learning rate", async () => {
    const { dir, out } = await caseDir();
    await expectCleanError(await train(dir, out, ["train.lr=-0.01"]), {
      mentions: ["train.lr", "--set train.lr=-0.01", "must be a positive number"],
      out,
    });
  });

  it("zero steps", async () => {
    const { dir, out } = await caseDir();
    await expectCleanError(await train(dir, out, ["train.steps=0"]), {
      mentions: ["train.steps", "must be a positive integer", "got 0"],
      out,
    });
  });

  it("a model folder that does not exist", async () => {
    const { dir, out } = await caseDir();
    const missing = join(dir, "no-such-model");
    await expectCleanError(await train(dir, out, [`model=${missing}`]), {
      mentions: [`model folder ${missing} does not exist`],
      out,
    });
  });

  it("--verbose adds the stack trace (and only then)", async () => {
    const { dir, out } = await caseDir();
    const r = await train(dir, out, ["train.lr=-0.01"], ["--verbose"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tfew: error: train\.lr /);
    expect(r.stderr).toMatch(/^\s+at /m);
  });

  it("--resume of a folder that is not a run folder", async () => {
    const { dir, out } = await caseDir();
    await mkdir(out);
    await expectCleanError(await runCli(["train", "--resume", out], { cwd: dir }), {
      mentions: [out, "is not a tfew run folder"],
      out,
    });
  });
});

describe("model folder and weights", () => {
  async function badModel(corrupt: (model: string) => Promise<void>) {
    const { dir, out } = await caseDir();
    const model = await copyDemo("model", dir);
    await corrupt(model);
    return { dir, out, model, weights: join(model, "model.safetensors") };
  }

  it("no config.json", async () => {
    const { dir, out, model } = await badModel((m) => rm(join(m, "config.json")));
    await expectCleanError(await train(dir, out, [`model=${model}`]), {
      mentions: [`no config.json in ${model}`],
      out,
    });
  });

  it("no weights", async () => {
    const { dir, out, model } = await badModel((m) => rm(join(m, "model.safetensors")));
    await expectCleanError(await train(dir, out, [`model=${model}`]), {
      mentions: [`no weights in ${model}`, "model.safetensors"],
      out,
    });
  });

  it("truncated safetensors", async () => {
    const { dir, out, model, weights } = await badModel(async (m) => {
      const file = join(m, "model.safetensors");
      const bytes = await readFile(file);
      await writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    });
    await expectCleanError(await train(dir, out, [`model=${model}`]), {
      mentions: [weights, "corrupt or truncated"],
      out,
    });
  });

  it("header data_offsets out of bounds", async () => {
    let dataLength = 0;
    const { dir, out, model, weights } = await badModel(async (m) => {
      await editHeader(join(m, "model.safetensors"), (h, length) => {
        const t = h["shared.weight"] as { data_offsets: number[] };
        const size = (t.data_offsets[1] as number) - (t.data_offsets[0] as number);
        t.data_offsets = [length, length + size]; // just past the end of the data area
        dataLength = length;
      });
    });
    await expectCleanError(await train(dir, out, [`model=${model}`]), {
      mentions: ['tensor "shared.weight"', weights, `outside the ${dataLength}-byte data area`],
      out,
    });
  });

  it("an unknown dtype", async () => {
    const { dir, out, model, weights } = await badModel(async (m) => {
      await editHeader(join(m, "model.safetensors"), (h) => {
        (h["shared.weight"] as { dtype: string }).dtype = "F8_E4M3";
      });
    });
    await expectCleanError(await train(dir, out, [`model=${model}`]), {
      mentions: ['tensor "shared.weight"', weights, 'dtype "F8_E4M3"'],
      out,
    });
  });

  it("weight shapes that disagree with config.json", async () => {
    const { dir, out, model } = await badModel(async (m) => {
      const file = join(m, "config.json");
      await writeFile(file, JSON.stringify({ ...(JSON.parse(await readFile(file, "utf8")) as object), d_ff: 96 }));
    });
    await expectCleanError(await train(dir, out, [`model=${model}`]), {
      mentions: [model, "has shape [128, 64] but config.json implies [96, 64]"],
      out,
    });
  });

  it("an adapter made for another model (adapter.init_from)", async () => {
    const { dir, out } = await caseDir();
    // PEFT IA3 vectors of a T5 like the demo's but with d_ff 256: k/v [64, 1] fit, wo [1, 256] does not
    const adapter = join(dir, "other-adapter");
    await mkdir(adapter);
    const tensors: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {};
    const vector = (path: string, shape: number[]) => {
      tensors[`base_model.model.${path}.ia3_l`] = {
        dtype: "F32",
        shape,
        data: new Float32Array((shape[0] as number) * (shape[1] as number)).fill(1),
      };
    };
    for (let i = 0; i < 2; i++) {
      for (const m of ["k", "v"]) vector(`encoder.block.${i}.layer.0.SelfAttention.${m}`, [64, 1]);
      vector(`encoder.block.${i}.layer.1.DenseReluDense.wo`, [1, 256]);
      for (const a of ["layer.0.SelfAttention", "layer.1.EncDecAttention"])
        for (const m of ["k", "v"]) vector(`decoder.block.${i}.${a}.${m}`, [64, 1]);
      vector(`decoder.block.${i}.layer.2.DenseReluDense.wo`, [1, 256]);
    }
    await writeFile(join(adapter, "adapter_model.safetensors"), serializeSafetensors(tensors, { format: "pt" }));
    await writeFile(
      join(adapter, "adapter_config.json"),
      JSON.stringify({
        peft_type: "IA3",
        target_modules: ["k", "v", "wo"],
        feedforward_modules: ["wo"],
        base_model_name_or_path: "other/t5",
      }),
    );
    const r = await train(dir, out, [`adapter.init_from=${adapter}`]);
    await expectCleanError(r, {
      mentions: ["adapter: vector encoder.block.0.layer.1.DenseReluDense.wo", adapter, "is [1, 256]", "need [1, 128]"],
      out,
      preceding: ["backend: ", "model: "],
    });
  });
});

describe("hub ids", () => {
  it("a hub id with '..'", async () => {
    const { dir, out } = await caseDir();
    await expectCleanError(await train(dir, out, ["model=google/../t5-small"]), {
      mentions: ['invalid hub id "google/../t5-small"', "'..'"],
      out,
    });
  });

  it("a hub id with characters a repo name cannot have", async () => {
    const { dir, out } = await caseDir();
    await expectCleanError(await train(dir, out, ["model=google/t5 small"]), {
      mentions: ['invalid hub id "google/t5 small"', 'contains " "'],
      out,
    });
  });
});

describe("output folder and disk", () => {
  it("an output folder that cannot be written (a path under a regular file: ENOTDIR, even as root)", async () => {
    const { dir } = await caseDir();
    const file = join(dir, "a-file");
    await writeFile(file, "not a folder\n");
    const out = join(file, "run");
    await expectCleanError(await train(dir, out, []), { mentions: [`run folder ${out} cannot be created (ENOTDIR)`] });
    expect(await readFile(file, "utf8")).toBe("not a folder\n");
  });

  it.skipIf(!existsSync("/proc/self"))(
    "an output folder under /proc (mkdir fails with ENOENT; once hung Node's recursive mkdir)",
    async () => {
      const { dir } = await caseDir();
      const out = `/proc/tfew-test-${process.pid}/run`;
      await expectCleanError(await train(dir, out, []), {
        mentions: [`run folder /proc/tfew-test-${process.pid}/run cannot be created (ENOENT)`],
      });
    },
  );

  it("a full disk while appending metrics.jsonl: one line saying how to resume, the last checkpoint kept", async () => {
    const { dir, out } = await caseDir();
    const args = ["train", "--backend", "wasm", "--out", out, ...QUICK];
    const sets = ["train.steps=4", "train.log_every=1", "train.checkpoint_every=1"].flatMap((s) => ["--set", s]);
    // a real process: the 3rd metrics.jsonl row fails as on a full disk (once full, every later append fails too)
    const cli = startCli([...args, ...sets], { cwd: dir, env: { TFEW_TEST_FAIL_WRITE: "metrics.jsonl:3" } });
    const r = await cli.done;
    const line = `disk full while writing ${join(out, "metrics.jsonl")}; free space and run \`tfew train --resume ${out}\``;
    await expectCleanError(r, { mentions: [line], preceding: ["backend: ", "model: ", "train"] });
    expect((await loadCheckpoint(out))?.step).toBe(2); // the checkpoint of the last step logged, whole
    expect((await listFiles(out)).filter((f) => TEMP_FILE.test(f))).toEqual([]);
    const resumed = await runCli(["train", "--resume", out], { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    const steps = (await readFile(join(out, "metrics.jsonl"), "utf8"))
      .trimEnd()
      .split("\n")
      .map((l) => (JSON.parse(l) as { step: number }).step);
    expect(steps).toEqual([1, 2, 3, 4]);
  });

  it("a full disk while checkpointing keeps the previous checkpoint intact (simulated ENOSPC)", async () => {
    const { dir } = await caseDir();
    const state = (step: number): TrainState => ({
      step,
      vectors: new Map([["encoder.block.0.layer.0.SelfAttention.k", new Float32Array(64).fill(1 + step / 10)]]),
      optimizer: { step, "encoder.block.0.layer.0.SelfAttention.k.exp_avg_sq": new Float32Array(64).fill(step) },
      sampler: { epoch: 0, position: 8 * step },
      nonfiniteSkipped: 0,
      configSha: "0".repeat(64),
    });
    const file = join(dir, CHECKPOINT_FILE);
    await saveCheckpoint(dir, state(3));
    const good = await readFile(file);
    const enospc = () => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    const failures: Partial<AtomicFsOps>[] = [
      {
        write: async (handle, data) => {
          await handle.write(data.subarray(0, data.length >> 1));
          throw enospc();
        },
      }, // half written, then full
      {
        fsync: async () => {
          throw enospc();
        },
      }, // all written, flush fails
    ];
    for (const fs of failures) {
      const error = await saveCheckpoint(dir, state(4), { fs }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TfewError);
      expect((error as TfewError).message).toBe(`disk full while writing ${file}; free space and re-run`);
      expect((await readFile(file)).equals(good)).toBe(true);
      expect(await listFiles(dir)).toEqual([CHECKPOINT_FILE]); // the temp file is gone too
      expect((await loadCheckpoint(dir))?.step).toBe(3);
    }
    expect((await listFiles(dir)).filter((f) => TEMP_FILE.test(f))).toEqual([]);
  });
});
