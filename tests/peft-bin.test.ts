// Adapters saved as adapter_model.bin (torch.save; PEFT's default before 0.7) are read through the safe pickle
// reader by every command that takes an adapter, the same as their safetensors twin: tests/fixtures/peft-bin/ holds
// one PEFT-made adapter of the demo model saved both ways by PEFT itself (scripts/interop/make_peft_bin_fixture.py).
// Also: where tfew records the base model (base_model_name_or_path) of what it trains.
import { readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAdapter } from "../src/adapters/peft-adapter.js";
import { demoRun } from "./helpers/demo-runs.js";
import { REPO_ROOT } from "./helpers/shared.js";
import { makeTempDir, removeTempDir, runTfewOk } from "./helpers/tfew-cli.js";

const FIXTURE = join(REPO_ROOT, "tests", "fixtures", "peft-bin");
const BIN = join(FIXTURE, "bin");
const SAFETENSORS = join(FIXTURE, "safetensors");

let work: string;
beforeAll(() => {
  work = makeTempDir("peft-bin");
});
afterAll(() => removeTempDir(work));

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe("a PEFT adapter saved as adapter_model.bin", () => {
  it("reads to the same vectors, shapes, config and base model as its safetensors twin", async () => {
    const [bin, twin] = [await readAdapter(BIN), await readAdapter(SAFETENSORS)];
    expect([...bin.values.keys()].sort()).toEqual([...twin.values.keys()].sort());
    expect(bin.values.size).toBe(16); // demo model: 2+2 blocks, k/v/wo and cross-attention k/v
    for (const [path, values] of twin.values) {
      expect(bytes(bin.values.get(path) as Float32Array).equals(bytes(values)), path).toBe(true);
      expect(bin.shapes.get(path)).toEqual(twin.shapes.get(path));
    }
    expect(bin.config).toEqual(twin.config);
    expect(bin.baseModel).toBe("data/demo-model");
  });

  it("tfew score, export and merge give the same results from the .bin as from the safetensors twin", async () => {
    const input = join(work, "pairs.jsonl");
    const pairs = [
      { source: "Ticket: my invoice is wrong", target: "billing" },
      { source: "Ticket: the app crashes on start", target: "bug report" },
    ];
    await writeFile(input, pairs.map((p) => JSON.stringify(p)).join("\n"));
    const scores: string[] = [];
    for (const [name, adapter] of [
      ["bin", BIN],
      ["st", SAFETENSORS],
    ] as const) {
      const output = join(work, `scores-${name}.jsonl`);
      await runTfewOk(["score", "--adapter", adapter, "--input", input, "--output", output]); // base from the adapter
      scores.push(await readFile(output, "utf8"));
      await runTfewOk([
        "export",
        "--model",
        "data/demo-model",
        "--adapter",
        adapter,
        "--out",
        join(work, `export-${name}`),
      ]);
    }
    expect(scores[0]).toBe(scores[1]);
    expect(scores[0]?.trim().split("\n")).toHaveLength(2);
    const weights = (name: string) => readFileSync(join(work, `export-${name}`, "model.safetensors"));
    expect(weights("bin").equals(weights("st"))).toBe(true);

    const merged = join(work, "merged");
    await runTfewOk(["merge", "--adapter", BIN, "--adapter", SAFETENSORS, "--out", merged]);
    const [average, twin] = [await readAdapter(merged), await readAdapter(SAFETENSORS)];
    for (const [path, values] of twin.values)
      expect(bytes(average.values.get(path) as Float32Array).equals(bytes(values)), path).toBe(true);
    expect(average.baseModel).toBe("data/demo-model"); // as PEFT recorded it: relative stays relative
  });

  it("tfew train starts from it (adapter.init_from)", async () => {
    const run = join(work, "init-from-bin");
    const sets = ["workers=1", "monitor.gpu=off", "train.steps=1", `adapter.init_from=${BIN}`];
    await runTfewOk(["train", "--out", run, ...sets.flatMap((s) => ["--set", s])]);
    expect((await readAdapter(join(run, "adapter"))).values.size).toBe(16);
  });
});

describe("base_model_name_or_path of what tfew train writes", () => {
  it("the embedded demo, trained from the clone, is recorded as data/demo-model (not the clone's absolute path)", async () => {
    const run = await demoRun("seed1"); // `tfew train` with the embedded default, in the repo root
    const config = JSON.parse(await readFile(join(run, "adapter", "adapter_config.json"), "utf8")) as {
      base_model_name_or_path: string;
    };
    expect(config.base_model_name_or_path).toBe("data/demo-model");
  });
});
