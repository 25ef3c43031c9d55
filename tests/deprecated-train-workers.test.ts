// train.workers, the old name of the top-level key workers, through the built CLI: a new run given it prints one
// deprecation line and writes only workers into config.resolved.yaml; a run folder of the older tfew (its
// config.resolved.yaml and checkpoint hold train.workers) resumes to the bytes of an uninterrupted run.
// The fixture tests/fixtures/old-run/train-workers is what tfew 0.1.0 wrote before the rename (commit 9d7d4e2):
// `tfew train --backend wasm --out run --set model=data/demo-model --set data.path=data/demo-task
// --set train.workers=1 --set monitor.gpu=off --set train.steps=12 --set train.checkpoint_every=1`,
// stopped by SIGTERM after step 2 (checkpoint at step 2, metrics.jsonl one row ahead). Spawns dist/.
import { cp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { legacyConfigYaml, loadRunConfig } from "../src/config/load.js";
import { sha256Text } from "../src/io/run-dir.js";
import { readSafetensors } from "../src/io/safetensors.js";
import { REPO_ROOT } from "./helpers/shared.js";
import { DEMO_MODEL, DEMO_TASK, requireBuild, runCliProcess, scratch } from "./helpers/spawn-tfew.js";

const OLD_RUN = join(REPO_ROOT, "tests", "fixtures", "old-run", "train-workers");
const ADAPTER = join("adapter", "adapter_model.safetensors");
const STEPS = 12;

let work: string;

beforeAll(async () => {
  requireBuild();
  work = await scratch("deprecated-workers");
  // the fixture's config names data/demo-model and data/demo-task relative to the folder it ran in
  await cp(DEMO_MODEL, join(work, "data", "demo-model"), { recursive: true });
  await cp(DEMO_TASK, join(work, "data", "demo-task"), { recursive: true });
});

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe("an old run folder (train.workers in config.resolved.yaml)", () => {
  it("loads with workers from train.workers, and legacyConfigYaml gives back its text and checkpoint sha", async () => {
    const file = join(OLD_RUN, "config.resolved.yaml");
    const loaded = loadRunConfig({ files: [file], sets: [] });
    expect(loaded.config.workers).toBe(1);
    expect(loaded.warnings).toEqual([
      `warning: train.workers (${file}) is deprecated: it is now the key workers (it also sets the workers of eval, audit and Fisher merging); write workers: 1`,
    ]);
    const text = await readFile(file, "utf8");
    expect(legacyConfigYaml(loaded.config)).toBe(text);
    const { metadata } = await readSafetensors(join(OLD_RUN, "checkpoint.safetensors"));
    expect(metadata.config_sha).toBe(sha256Text(text));
  });

  it("resumes to the adapter bytes of an uninterrupted run given --set train.workers=1 (one warning line)", async () => {
    const oldRun = join(work, "run");
    await cp(OLD_RUN, oldRun, { recursive: true });
    // fresh processes on wasm's own matMul, as the fixture's first steps were computed (with OpenBLAS present the
    // native matMul would round steps 3.. differently from steps 1..2 and the bytes could not match)
    const env = { TFEW_NATIVE_MATMUL: "0" };
    const resumed = await runCliProcess(["train", "--resume", "run"], { cwd: work, env });
    expect(resumed.code, resumed.stderr).toBe(0);
    const { metadata } = await readSafetensors(join(oldRun, "checkpoint.safetensors"));
    expect(metadata.step).toBe(String(STEPS));
    const rows = (await readFile(join(oldRun, "metrics.jsonl"), "utf8")).trim().split("\n");
    expect(rows.map((l) => (JSON.parse(l) as { step: number }).step)).toEqual(
      Array.from({ length: STEPS }, (_, i) => i + 1),
    );

    const fresh = await runCliProcess(
      [
        "train",
        "--backend",
        "wasm",
        "--out",
        "fresh",
        ...["--set", "model=data/demo-model", "--set", "data.path=data/demo-task", "--set", "train.workers=1"],
        ...["--set", "monitor.gpu=off", "--set", `train.steps=${STEPS}`, "--set", "train.checkpoint_every=1"],
      ],
      { cwd: work, env },
    );
    expect(fresh.code, fresh.stderr).toBe(0);
    const warnings = fresh.stderr.split("\n").filter((line) => line.startsWith("warning: "));
    expect(warnings).toEqual([
      "warning: train.workers (--set train.workers=1) is deprecated: it is now the key workers (it also sets the workers of eval, audit and Fisher merging); write workers: 1",
    ]);
    const freshRun = join(work, "fresh");
    expect((await readFile(join(oldRun, ADAPTER))).equals(await readFile(join(freshRun, ADAPTER)))).toBe(true);

    // both folders now hold the new form: workers at the top level only, and otherwise the same config
    const freshConfig = await readFile(join(freshRun, "config.resolved.yaml"), "utf8");
    const resumedConfig = await readFile(join(oldRun, "config.resolved.yaml"), "utf8");
    for (const text of [freshConfig, resumedConfig]) {
      expect(text).toMatch(/^workers: 1$/m);
      expect(text).not.toMatch(/^ +workers:/m);
    }
    expect(resumedConfig.replace(/^out: .*$/m, "")).toBe(freshConfig.replace(/^out: .*$/m, ""));
  });
});
