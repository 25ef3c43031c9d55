// Integration through the built CLI: the README's ColD-Fusion-style round on the demo (two runs with
// different seeds → merge average → train from the merged vectors → export → score), `tfew score --run`,
// and the bad inputs of merge / export / score: exit 1, one `tfew: error:` line, nothing written.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAdapter, writeAdapterFiles, type LoadedAdapter } from "../src/adapters/peft-adapter.js";
import { DEMO_RUN_SETS, demoRun } from "./helpers/demo-runs.js";
import { DEMO_MODEL_DIR, ensureBuilt, makeTempDir, removeTempDir, runTfew, runTfewOk } from "./helpers/tfew-cli.js";

const QUICK = DEMO_RUN_SETS.flatMap((s) => ["--set", s]); // the shared demo runs' recipe

interface ScoreLine {
  logprob: number;
  tokens: number;
}
const readScores = (file: string) =>
  readFileSync(file, "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as ScoreLine);

let tmp: string;
let pairs: string;
beforeAll(async () => {
  await ensureBuilt();
  tmp = makeTempDir("merge-export");
  pairs = join(tmp, "pairs.jsonl");
  writeFileSync(
    pairs,
    [
      { source: "Ticket: my invoice is wrong", target: "billing" },
      { source: "Ticket: the app crashes on start", target: "bug report" },
      { source: "Ticket: please add dark mode", target: "feature request" },
    ]
      .map((r) => JSON.stringify(r))
      .join("\n") + "\n",
  );
}, 300_000);
afterAll(() => removeTempDir(tmp));

describe("a ColD-Fusion-style round on the demo", () => {
  it("train ×2 → merge average → train with init_from → export → the exported model scores as --run", async () => {
    const run = (name: string) => join(tmp, name);
    const [r1, r2] = [await demoRun("seed1"), await demoRun("seed2")]; // the QUICK recipe, seeds 1 and 2
    const m = await runTfewOk([
      "merge",
      "--adapter",
      join(r1, "adapter"),
      "--adapter",
      join(r2, "adapter"),
      "--method",
      "average",
      "--out",
      run("merged"),
    ]);
    expect(m.stdout).toMatch(
      /^merged 2 adapters \(average, weights 0\.5000, 0\.5000\): 16 vectors, 1,280 parameters → /,
    );
    // the merged vectors are the element-wise mean of the two runs' vectors
    const [a, b, merged] = await Promise.all([
      readAdapter(join(r1, "adapter")),
      readAdapter(join(r2, "adapter")),
      readAdapter(run("merged")),
    ]);
    for (const [path, v] of merged.values) {
      const x = a.values.get(path) as Float32Array;
      const y = b.values.get(path) as Float32Array;
      expect(Array.from(v)).toEqual(Array.from(x, (xi, i) => Math.fround((xi + (y[i] as number)) / 2)));
    }
    expect(merged.baseModel).toBe(a.baseModel);

    await runTfewOk([
      "train",
      "--out",
      run("r3"),
      ...QUICK,
      "--set",
      "seed=3",
      "--set",
      `adapter.init_from=${run("merged")}`,
    ]);
    const e = await runTfewOk([
      "export",
      "--model",
      DEMO_MODEL_DIR,
      "--adapter",
      join(run("r3"), "adapter"),
      "--out",
      run("exported"),
    ]);
    expect(e.stdout).toContain("with 16 (IA)³ vectors folded in (F32, 1 weight file)");

    await runTfewOk(["score", "--run", run("r3"), "--input", pairs, "--output", join(tmp, "s-run.jsonl")]);
    await runTfewOk([
      "score",
      "--adapter",
      join(run("r3"), "adapter"),
      "--input",
      pairs,
      "--output",
      join(tmp, "s-adapter.jsonl"),
    ]);
    await runTfewOk(["score", "--model", run("exported"), "--input", pairs, "--output", join(tmp, "s-exported.jsonl")]);
    await runTfewOk(["score", "--model", DEMO_MODEL_DIR, "--input", pairs, "--output", join(tmp, "s-base.jsonl")]);
    const [byRun, byAdapter, exported, base] = ["s-run", "s-adapter", "s-exported", "s-base"].map((n) =>
      readScores(join(tmp, `${n}.jsonl`)),
    );
    expect(byAdapter).toEqual(byRun); // --adapter alone takes the base model from adapter_config.json
    byRun?.forEach((line, i) => {
      expect(Math.abs(line.logprob - (exported?.[i]?.logprob as number)), `pair ${i}`).toBeLessThanOrEqual(1e-4);
      expect(
        Math.abs(line.logprob - (base?.[i]?.logprob as number)),
        `pair ${i}: the adapter changes the score`,
      ).toBeGreaterThan(1e-2);
    });
  }, 300_000);
});

describe("bad input: exit 1, one line, nothing written", () => {
  const vectors = (targets: string[], baseModel = DEMO_MODEL_DIR): LoadedAdapter => ({
    config: { targetModules: targets, feedforwardModules: [] },
    baseModel,
    values: new Map([["encoder.block.0.layer.0.SelfAttention.k", Float32Array.of(1, 2)]]),
    shapes: new Map([["encoder.block.0.layer.0.SelfAttention.k", [2, 1]]]),
  });

  async function expectOneLineError(args: string[], message: string | RegExp, out: string | null): Promise<void> {
    const r = await runTfew(args);
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    expect(r.code, r.stderr).toBe(1);
    expect(lines, r.stderr).toHaveLength(1);
    if (typeof message === "string") expect(lines[0]).toBe(`tfew: error: ${message}`);
    else expect(lines[0]).toMatch(message);
    if (out !== null) expect(existsSync(out)).toBe(false);
  }

  it("merge: adapters with different targets", async () => {
    const a = join(tmp, "t-kv");
    const b = join(tmp, "t-k");
    await writeAdapterFiles(a, vectors(["k", "v"]));
    await writeAdapterFiles(b, vectors(["k"]));
    const out = join(tmp, "never-1");
    await expectOneLineError(
      ["merge", "--adapter", a, "--adapter", b, "--out", out],
      `merge: ${b} has target_modules ["k"] but ${a} has ["k","v"]; merge only adapters trained with the same adapter.target_modules`,
      out,
    );
  });

  it("merge: adapters of different base models", async () => {
    const a = join(tmp, "m-demo");
    const b = join(tmp, "m-other");
    await writeAdapterFiles(a, vectors(["k"]));
    await writeAdapterFiles(b, vectors(["k"], "google/flan-t5-small"));
    const out = join(tmp, "never-2");
    await expectOneLineError(
      ["merge", "--adapter", a, "--adapter", b, "--out", out],
      // the demo's absolute path is recorded relative to the current folder (the repo root), as the message says it
      `merge: ${b} was trained on google/flan-t5-small but ${a} on data/demo-model; merge only adapters of the same base model`,
      out,
    );
  });

  it("merge: weights count mismatch, a missing folder, fisher without fisher.safetensors", async () => {
    const a = join(tmp, "w-a");
    await writeAdapterFiles(a, vectors(["k"]));
    const out = join(tmp, "never-3");
    await expectOneLineError(
      ["merge", "--adapter", a, "--adapter", a, "--method", "weighted", "--weight", "1", "--out", out],
      "merge: 1 --weight values for 2 --adapter folders; give one --weight per adapter, in the same order",
      out,
    );
    await expectOneLineError(
      ["merge", "--adapter", a, "--adapter", join(tmp, "nope"), "--out", out],
      /^tfew: error: merge: adapter folder .*nope does not exist; /,
      out,
    );
    await expectOneLineError(
      ["merge", "--adapter", a, "--adapter", a, "--method", "fisher", "--out", out],
      new RegExp(
        `^tfew: error: merge: ${a} has no fisher\\.safetensors; --method fisher needs each adapter's Fisher diagonal`,
      ),
      out,
    );
  });

  it("merge: λ / density out of range, or given to a method that does not use them", async () => {
    const a = join(tmp, "tv-a");
    await writeAdapterFiles(a, vectors(["k"]));
    const out = join(tmp, "never-tv");
    const merge = (...flags: string[]) => ["merge", "--adapter", a, "--adapter", a, ...flags, "--out", out];
    await expectOneLineError(
      merge("--method", "ties", "--lambda", "-0.5"),
      "merge: --lambda -0.5 is out of range; λ scales the merged task vector (l = 1 + λ·τ) and must be finite and > 0",
      out,
    );
    await expectOneLineError(
      merge("--method", "dare", "--density", "0"),
      "merge: --density 0 is out of range; it is the fraction of each task vector kept and must be in (0, 1]",
      out,
    );
    await expectOneLineError(
      merge("--lambda", "2"),
      "merge: --lambda is for --method task-arithmetic or ties or dare; --method average does not use it (drop --lambda)",
      out,
    );
    await expectOneLineError(
      merge("--method", "task-arithmetic", "--density", "0.5"),
      "merge: --density is for --method ties or dare; --method task-arithmetic does not use it (drop --density)",
      out,
    );
    const ok = await runTfewOk(merge("--method", "dare", "--density", "0.5", "--seed", "3"));
    expect(ok.stdout).toMatch(/^merged 2 adapters \(dare, lambda 1, density 0\.5, drop_rate 0\.5, seed 3\): 1 vectors/);
  });

  it("export: a non-empty --out is left alone; an adapter of another model writes nothing", async () => {
    const taken = join(tmp, "taken");
    await writeAdapterFiles(taken, vectors(["k"])); // any non-empty folder
    const before = readFileSync(join(taken, "adapter_config.json"), "utf8");
    await expectOneLineError(
      ["export", "--model", DEMO_MODEL_DIR, "--adapter", taken, "--out", taken],
      `export: --out ${taken} is the same folder as --adapter ${taken}; give another --out (an input is never overwritten, not even with --overwrite)`,
      null,
    );
    expect(readFileSync(join(taken, "adapter_config.json"), "utf8")).toBe(before);
    const out = join(tmp, "never-4");
    await expectOneLineError(
      ["export", "--model", DEMO_MODEL_DIR, "--adapter", taken, "--out", out],
      `adapter: vector encoder.block.0.layer.0.SelfAttention.k in ${taken} is [2, 1] (output scaling) but this model and config need [64, 1] (output scaling); the adapter was made for another model or other adapter.feedforward_modules`,
      out,
    );
  });

  it("score: --run and --adapter together; a folder that is not a run", async () => {
    const out = join(tmp, "never-5.jsonl");
    await expectOneLineError(
      ["score", "--run", tmp, "--adapter", tmp, "--input", pairs, "--output", out],
      "score: give --run DIR or --adapter DIR, not both (--run uses the run's adapter/)",
      out,
    );
    await expectOneLineError(
      ["score", "--run", tmp, "--input", pairs, "--output", out],
      `score: ${tmp} is not a tfew run folder (no config.resolved.yaml); give the folder tfew train wrote, or --model/--adapter`,
      out,
    );
  });
});
