// The CLI's smaller messages, through the built CLI: a too-long prompt names the config key data.max_seq_len; a
// BERT folder is called what it is before any tokenizer message; resuming a finished run says so and exits 0 (no
// "done: ... on wasm, ;"); a mistyped command gets a suggestion, and a bad option never starts the command; a bad
// flag value names the flag; --help; old spellings kept as aliases say they are deprecated.
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listFiles, QUICK, requireBuild, runCli, scratch, type CliResult } from "./helpers/spawn-tfew.js";

let work: string;

beforeAll(async () => {
  requireBuild();
  work = await scratch("messages");
});

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

function train(args: string[]): Promise<CliResult> {
  return runCli(["train", "--backend", "wasm", ...QUICK, "--set", "train.steps=2", ...args], { cwd: work });
}

/** The last stderr line, which must be the only `tfew: error:` line, with a non-zero exit that is not the bug code 70. */
function errorLine(r: CliResult): string {
  const context = `stderr:\n${r.stderr}`;
  expect(r.code, context).not.toBe(0);
  expect(r.code, context).not.toBe(70);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("tfew: "));
  expect(errors, context).toHaveLength(1);
  expect(r.stderr.trimEnd().split("\n").at(-1), context).toBe(errors[0]);
  return errors[0] as string;
}

describe("messages", () => {
  it("a prompt that cannot fit names the config key data.max_seq_len", async () => {
    const line = errorLine(await train(["--out", join(work, "short"), "--set", "data.max_seq_len=4"]));
    expect(line).toContain("over data.max_seq_len=4; raise data.max_seq_len");
    expect(line).not.toContain("maxSeqLen");
  });

  it("a BERT folder fails with its model_type before any tokenizer message", async () => {
    const bert = join(work, "bert-base-uncased");
    await mkdir(bert);
    await writeFile(
      join(bert, "config.json"),
      JSON.stringify({
        architectures: ["BertForMaskedLM"],
        model_type: "bert",
        hidden_size: 768,
        num_attention_heads: 12,
        num_hidden_layers: 12,
        vocab_size: 30522,
      }),
    );
    await writeFile(join(bert, "vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n");
    for (const args of [
      ["train", "--backend", "wasm", ...QUICK, "--set", `model=${bert}`, "--out", join(work, "bert-run")],
      ["inspect", "--model", bert],
    ]) {
      const line = errorLine(await runCli(args, { cwd: work }));
      expect(line).toContain("model_type bert is not a T5-family model (");
      expect(line).toContain(join(bert, "config.json"));
      expect(line).not.toMatch(/tokenizer/i);
    }
    expect(await listFiles(join(work, "bert-run"))).toEqual([]);
  });

  it("--resume of a finished run says so, exits 0 and rewrites nothing", async () => {
    const run = join(work, "finished");
    const first = await train(["--out", run]);
    expect(first.code, first.stderr).toBe(0);
    const mtimes = async () =>
      Promise.all((await listFiles(run)).map(async (f) => `${f}@${(await stat(join(run, f))).mtimeMs}`));
    const before = await mtimes();
    const r = await runCli(["train", "--resume", run], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      `resume: ${run} already finished 2 of 2 steps; nothing to do (adapter: ${join(run, "adapter")})\n`,
    );
    expect(await mtimes()).toEqual(before);
  });

  it("--resume of a run killed after its last checkpoint writes the adapter; the done line has no empty parts", async () => {
    const run = join(work, "no-adapter");
    expect((await train(["--out", run])).code).toBe(0);
    await rm(join(run, "adapter"), { recursive: true }); // as if killed between the final checkpoint and the adapter
    await rm(join(run, "summary.json"));
    const r = await runCli(["train", "--resume", run], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^done: 2 steps in \d+\.\d s on wasm; adapter: \S+\n/);
    expect(r.stdout).not.toContain(", ;");
    expect(existsSync(join(run, "adapter", "adapter_model.safetensors"))).toBe(true);
    expect(JSON.parse(await readFile(join(run, "summary.json"), "utf8"))).toMatchObject({ steps: 2, stopped_by: null });
  });

  it("a mistyped command suggests the right one and exits non-zero", async () => {
    const r = await runCli(["trian"], { cwd: work });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("tfew: error: unknown command trian; did you mean train? (see tfew --help)\n");
    expect(r.stdout).toBe("");
  });

  it("an unknown option is one error and the command does not run", async () => {
    const out = join(work, "bogus");
    const r = await runCli(["train", "--out", out, "--stpes", "3"], { cwd: work });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("tfew: error: Unknown argument: stpes (see tfew --help)\n");
    expect(existsSync(out)).toBe(false);
  });

  it("a flag that takes a value, given none, is one line and the command does not run (never runs/<time>)", async () => {
    const runs = join(work, "runs");
    for (const [args, line] of [
      [["train", "--out"], "--out needs a folder"],
      [["train", "--out", "--verbose"], "--out needs a folder"],
      [["train", "--out="], "--out needs a folder"],
      [["predict", "--model", "m", "--output"], "--output needs a file"],
      [["export", "--model", "m", "--adapter", "a", "--out"], "--out needs a folder"],
      [["eval", "--model", "m", "--folds", "--out", "x"], "--folds needs a number"],
      [["score", "--input", "a", "--output", "b", "--model"], "--model needs a folder or hub id"],
    ] as const) {
      const r = await runCli([...args], { cwd: work });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toBe(`tfew: error: ${line} (see tfew --help)\n`);
    }
    expect(existsSync(runs)).toBe(false);
  });

  it("a bad flag value names the flag the user typed, not a rebuilt --set", async () => {
    const r = await runCli(["eval", "--model", "nowhere", "--data", ""], { cwd: work });
    expect(errorLine(r)).toBe('tfew: error: data.path in --data must be a non-empty string, got ""');
  });

  it("a value outside a flag's choices is one line; --backend gpu says how to reach a GPU", async () => {
    const out = join(work, "gpu");
    const r = await runCli(["train", "--backend", "gpu", "--out", out], { cwd: work });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'tfew: error: --backend "gpu" is not one of auto, tensorflow, wasm, cpu, webgpu; on a GPU use webgpu, or ' +
        'tensorflow with a CUDA TensorFlow (README "GPU hosts") (see tfew --help)\n',
    );
    expect(existsSync(out)).toBe(false);
    const split = await runCli(["eval", "--model", "m", "--split", "dev"], { cwd: work });
    expect(split.stderr).toBe('tfew: error: --split "dev" is not one of train, test (see tfew --help)\n');
  });

  it("--help lists every command on stdout and exits 0", async () => {
    const r = await runCli(["--help"], { cwd: work });
    expect(r.code).toBe(0);
    for (const command of ["train", "eval", "predict", "score", "merge", "export", "inspect", "audit", "report"])
      expect(r.stdout).toContain(`tfew ${command}`);
    expect(r.stderr).toBe("");
  });

  it("an old spelling (report --out FILE) still works, with one deprecation line", async () => {
    const run = join(work, "deprecated-run");
    expect((await train(["--out", run])).code).toBe(0);
    const r = await runCli(["report", run, "--out", join(work, "old.html")], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("tfew: warning: report --out is deprecated; use --output (same value)\n");
    expect(existsSync(join(work, "old.html"))).toBe(true);
  });

  it("a deprecated key (train.workers) still works, with one warning line naming where it was given", async () => {
    const out = join(work, "old-key");
    const r = await runCli(
      ["train", "--out", out, "--set", "monitor.gpu=off", "--set", "train.steps=1", "--set", "train.workers=1"],
      {
        cwd: work,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stderr.split("\n").filter((l) => l.startsWith("warning: train.workers"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("(--set train.workers=1) is deprecated");
    expect(await readFile(join(out, "config.resolved.yaml"), "utf8")).not.toMatch(/^ {2}workers:/m);
  });
});
