// One test body, every backend (tfjs's describeWithFlags pattern): the gold check, 20 demo training steps
// (the adapter within 1e-3 of wasm's), eval / predict with wasm's adapter (the same predictions), score
// (≤ 1e-4), the Fisher (≤ 1e-3), an interrupted run resumed to the same bytes, and device reads per step.
// Backends: TFEW_TEST_BACKENDS (comma-separated; unset = skipped); wasm is the reference and always runs
// first. The backend suites run it with webgpu inside the lavapipe root and with tensorflow on a pip TF.
import { spawn } from "node:child_process";
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSafetensors } from "../src/io/safetensors.js";
import { REPO_ROOT } from "./helpers/shared.js";
import {
  DEMO_TASK_DIR,
  ensureBuilt,
  makeTempDir,
  removeTempDir,
  runTfewProcessOk,
  TFEW_BIN,
} from "./helpers/tfew-cli.js";

// The slow tier: `npm run test:backends` (wasm, cpu) and the backend suites set TFEW_TEST_BACKENDS; plain npm test skips.
const REQUESTED = process.env.TFEW_TEST_BACKENDS;
const BACKENDS = (REQUESTED ?? "")
  .split(",")
  .map((b) => b.trim())
  .filter((b) => b !== "");
const OTHERS = BACKENDS.filter((b) => b !== "wasm");
const STEPS = 20;
const quick = (backend: string) => ["--backend", backend, "--set", "monitor.gpu=off", "--set", "workers=1"];
const trainArgs = (backend: string, out: string) => [
  "train",
  "--out",
  out,
  ...quick(backend),
  "--set",
  `train.steps=${STEPS}`,
  "--set",
  "train.checkpoint_every=10",
];
const TIMEOUT = { timeoutMs: 600_000 };

console.log(
  REQUESTED === undefined
    ? "backend suite: skipped (set TFEW_TEST_BACKENDS, or run npm run test:backends)"
    : `backend suite: ${BACKENDS.join(", ")} (TFEW_TEST_BACKENDS; wasm is the reference)`,
);

let tmp: string;
beforeAll(async () => {
  if (BACKENDS.length === 0) return;
  await ensureBuilt();
  tmp = makeTempDir("backends");
  await runOn("wasm");
}, 900_000);
afterAll(() => removeTempDir(tmp)); // undefined when skipped: a no-op

interface BackendRun {
  run: string; // the 20-step run folder
  summary: { final_loss: number; device_reads_per_step: number | null; steps: number; tensors_leaked: number | null };
  vectors: Map<string, Float32Array>;
  confusion: unknown; // eval --adapter <wasm's adapter>
  predictions: string; // predict --adapter <wasm's adapter>
  scores: number[]; // score --adapter <wasm's adapter>
  fisher: Map<string, Float32Array>; // merge --method fisher on a copy of wasm's adapter
}
const runs = new Map<string, BackendRun>();

async function vectorsOf(file: string): Promise<Map<string, Float32Array>> {
  const { tensors } = await readSafetensors(file);
  return new Map([...tensors].map(([name, t]) => [name, Float32Array.from(t.data as ArrayLike<number>)]));
}

/** max |a − b| over max |b − center| (center 1 for (IA)³ vectors: how far training moved them; 0 otherwise). */
function relativeTo(a: Map<string, Float32Array>, b: Map<string, Float32Array>, center: number): number {
  let diff = 0;
  let scale = 0;
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [name, want] of b) {
    const got = a.get(name) as Float32Array;
    want.forEach((w, i) => {
      diff = Math.max(diff, Math.abs((got[i] as number) - w));
      scale = Math.max(scale, Math.abs(w - center));
    });
  }
  return diff / scale;
}

/** Everything the suite compares, computed once per backend (wasm's adapter for eval / score / Fisher). */
async function runOn(backend: string): Promise<BackendRun> {
  const run = join(tmp, `run-${backend}`);
  await runTfewProcessOk(trainArgs(backend, run), TIMEOUT);
  const reference = join(tmp, "run-wasm", "adapter");
  const out = (name: string) => join(tmp, `${name}-${backend}`);
  await runTfewProcessOk(
    [
      "eval",
      "--adapter",
      reference,
      "--model",
      "data/demo-model",
      "--data",
      DEMO_TASK_DIR,
      "--out",
      out("eval"),
      ...quick(backend),
    ],
    TIMEOUT,
  );
  await runTfewProcessOk(
    [
      "predict",
      "--adapter",
      reference,
      "--model",
      "data/demo-model",
      "--data",
      DEMO_TASK_DIR,
      "--split",
      "test",
      "--output",
      out("predict"),
      ...quick(backend),
    ],
    TIMEOUT,
  );
  const pairs = join(tmp, "pairs.jsonl");
  if (!existsSync(pairs))
    writeFileSync(
      pairs,
      ["my invoice is wrong\tbilling", "the app crashes\tbug report", "add dark mode\tfeature request"]
        .map((l) => JSON.stringify({ source: l.split("\t")[0], target: l.split("\t")[1] }))
        .join("\n") + "\n",
    );
  await runTfewProcessOk(
    [
      "score",
      "--adapter",
      reference,
      "--model",
      "data/demo-model",
      "--input",
      pairs,
      "--output",
      `${out("score")}.jsonl`,
      "--backend",
      backend,
    ],
    TIMEOUT,
  );
  // fisher.safetensors is cached in the adapter folder: fresh copies of the adapter files, so each backend computes its own
  const [copy, second] = [out("fisher-adapter"), out("fisher-adapter-2")];
  for (const dir of [copy, second]) {
    cpSync(reference, dir, { recursive: true });
    rmSync(join(dir, "fisher.safetensors"), { force: true });
  }
  await runTfewProcessOk(
    [
      "merge",
      "--method",
      "fisher",
      "--adapter",
      copy,
      "--data",
      DEMO_TASK_DIR,
      "--adapter",
      second,
      "--data",
      DEMO_TASK_DIR,
      "--out",
      out("merged"),
      ...quick(backend),
    ],
    TIMEOUT,
  );
  const merged = JSON.parse(readFileSync(join(out("merged"), "merge.json"), "utf8")) as {
    inputs: { fisher: { reused: boolean } }[];
  };
  expect(merged.inputs.map((i) => i.fisher.reused)).toEqual([false, false]);
  const result: BackendRun = {
    run,
    summary: JSON.parse(readFileSync(join(run, "summary.json"), "utf8")),
    vectors: await vectorsOf(join(run, "adapter", "adapter_model.safetensors")),
    confusion: JSON.parse(readFileSync(join(out("eval"), "metrics.json"), "utf8")).confusion,
    predictions: readFileSync(out("predict"), "utf8"),
    scores: readFileSync(`${out("score")}.jsonl`, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).logprob as number),
    fisher: await vectorsOf(join(copy, "fisher.safetensors")),
  };
  runs.set(backend, result);
  return result;
}

/** Trains into `dir`, SIGKILLs the process once metrics.jsonl holds `after` rows (past a checkpoint), then resumes. */
async function killAndResume(backend: string, dir: string, after: number): Promise<void> {
  const child = spawn(process.execPath, [TFEW_BIN, ...trainArgs(backend, dir)], { cwd: REPO_ROOT, stdio: "ignore" });
  const closed = new Promise((resolve) => child.once("close", resolve));
  const rows = () =>
    existsSync(join(dir, "metrics.jsonl"))
      ? readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").length
      : 0;
  while (child.exitCode === null && rows() < after) await new Promise((r) => setTimeout(r, 50));
  child.kill("SIGKILL");
  await closed;
  await runTfewProcessOk(["train", "--resume", dir], TIMEOUT);
}

describe.skipIf(BACKENDS.length === 0).each(BACKENDS.length === 0 ? ["none"] : BACKENDS)("backend %s", (backend) => {
  it("passes the gold check (logits ≤ 1e-3, gradients ≤ 1e-3 relative)", async () => {
    const r = await runTfewProcessOk(["gold-check", "--backend", backend], TIMEOUT);
    const result = JSON.parse(r.stdout.trim().split("\n").at(-1) as string);
    console.log(
      `[${backend}] gold-check logits ${result.logits_max_abs} ia3 grads ${result.ia3_grad_rel} tfew grads ${result.tfew_grad_rel}`,
    );
    expect(result.backend).toBe(backend);
    expect(result.pass).toBe(true);
  });

  it("trains 20 demo steps without a tensor leak; a GPU or native backend reads once per step", async () => {
    const mine = runs.get(backend) ?? (await runOn(backend));
    expect(mine.summary.steps).toBe(STEPS);
    expect(Number.isFinite(mine.summary.final_loss)).toBe(true);
    expect(mine.summary.tensors_leaked).toBe(0);
    console.log(
      `[${backend}] final loss ${mine.summary.final_loss}, device reads per step ${mine.summary.device_reads_per_step}`,
    );
    if (backend !== "wasm" && backend !== "cpu") expect(mine.summary.device_reads_per_step).toBe(1);
  }, 900_000);

  it("resumes a killed run to the bytes of the uninterrupted one", async () => {
    const mine = runs.get(backend) ?? (await runOn(backend));
    const dir = join(tmp, `resumed-${backend}`);
    await killAndResume(backend, dir, 12);
    const want = readFileSync(join(mine.run, "adapter", "adapter_model.safetensors"));
    expect(readFileSync(join(dir, "adapter", "adapter_model.safetensors")).equals(want)).toBe(true);
  }, 900_000);
});

describe.skipIf(OTHERS.length === 0).each(OTHERS)("backend %s against wasm", (backend) => {
  it("adapter after 20 steps within 1e-3; the same eval and predictions; score ≤ 1e-4; Fisher ≤ 1e-3", async () => {
    const wasm = runs.get("wasm") as BackendRun;
    const mine = runs.get(backend) ?? (await runOn(backend));
    const adapter = relativeTo(mine.vectors, wasm.vectors, 1);
    const fisher = relativeTo(mine.fisher, wasm.fisher, 0);
    const score = Math.max(
      ...mine.scores.map((s, i) => Math.abs(s - (wasm.scores[i] as number)) / Math.abs(wasm.scores[i] as number)),
    );
    console.log(
      `[${backend} vs wasm] adapter ${adapter.toExponential(2)}, score ${score.toExponential(2)}, fisher ${fisher.toExponential(2)}`,
    );
    expect(adapter).toBeLessThanOrEqual(1e-3);
    expect(mine.confusion).toEqual(wasm.confusion);
    expect(mine.predictions).toBe(wasm.predictions);
    expect(score).toBeLessThanOrEqual(1e-4);
    expect(fisher).toBeLessThanOrEqual(1e-3);
  }, 900_000);
});
