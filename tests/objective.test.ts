// One objective on every machine: a step's gradient is the gradient of the FULL batch's loss whatever
// micro_batch_size and workers are (≤ 1e-6 relative), the same micro-batches on 1 or 2 workers give the
// same bytes, and 20 training steps with micro-batches 1 / 8 or 2 workers end at the same vectors.
// Needs the compiled worker (npm test builds dist/ first).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "@tensorflow/tfjs-backend-wasm";
import { createVectorSet } from "../src/adapters/ia3.js";
import { IA3_DEFAULTS } from "../src/adapters/ia3-config.js";
import { readAdapter } from "../src/adapters/peft-adapter.js";
import { selectBackend } from "../src/backend/select.js";
import { loadRunConfig } from "../src/config/load.js";
import { createLocalEngine, createWorkerEngine, type StepGradients } from "../src/engine/accumulate.js";
import type { TfewExample } from "../src/engine/batch.js";
import { startPool } from "../src/engine/pool.js";
import { buildExamples, prepareTask } from "../src/engine/workspace.js";
import { loadTokenizer } from "../src/data/tokenizer.js";
import { loadT5 } from "../src/model/load.js";
import { QUICK, DEMO_MODEL, DEMO_TASK, requireBuild, runCli } from "./helpers/spawn-tfew.js";

const settings = { lengthNorm: 1, ulWeight: 1, lnWeight: 1 };

function maxRelDiff(a: ReadonlyMap<string, Float32Array>, b: ReadonlyMap<string, Float32Array>, center = 0): number {
  let diff = 0;
  let scale = 0;
  for (const [path, x] of a) {
    const y = b.get(path) as Float32Array;
    for (let i = 0; i < x.length; i++) {
      diff = Math.max(diff, Math.abs((x[i] as number) - (y[i] as number)));
      scale = Math.max(scale, Math.abs((x[i] as number) - center));
    }
  }
  return diff / scale;
}

describe("one objective for any micro-batch size and worker count", () => {
  it("micro-batches 1/2/4/8 and 2 workers give the full-batch gradient; workers never change the bytes", async () => {
    const backend = await selectBackend("wasm");
    const model = await loadT5(DEMO_MODEL, backend);
    const { config } = loadRunConfig({ files: [], sets: [`model=${DEMO_MODEL}`, `data.path=${DEMO_TASK}`] });
    const task = await prepareTask(config);
    const tokenizer = await loadTokenizer(DEMO_MODEL);
    // prompts of different lengths and all three labels: padding differs between micro-batches
    const { examples } = buildExamples(task, task.train.slice(0, 8), tokenizer, config);
    expect(new Set(examples.map((e) => e.inputIds.length)).size).toBeGreaterThan(3);
    const set = createVectorSet("t", model.weights, IA3_DEFAULTS.t5);
    const values = new Map(
      set.specs
        .map((s) => [s.path, new Float32Array(s.shape[0] * s.shape[1])] as const)
        .map(([p, v]) => [p, v.map((_, i) => 1 + 0.1 * Math.sin(i + p.length))]),
    );
    const local = async (micro: number): Promise<StepGradients> => {
      const engine = createLocalEngine(model, set, settings, micro);
      await engine.setVectors(values);
      return engine.compute(examples);
    };
    const full = await local(8);
    for (const micro of [1, 2, 4]) {
      const r = await local(micro);
      const err = maxRelDiff(full.grads, r.grads);
      console.log(
        `micro-batch ${micro} vs full batch: gradient ${err.toExponential(2)}, loss ${r.losses.total} vs ${full.losses.total}`,
      );
      expect(err).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(r.losses.total - full.losses.total) / full.losses.total).toBeLessThanOrEqual(1e-6);
    }
    const micro2 = await local(2);
    const pool = await startPool(2, {
      modelDir: DEMO_MODEL,
      backend: "wasm",
      ia3Config: IA3_DEFAULTS.t5,
      initial: values,
    });
    const workers = createWorkerEngine(pool, { microBatchSize: 2, settings });
    try {
      const two = await workers.compute(examples);
      expect(two.examples).toBe(8);
      expect(maxRelDiff(full.grads, two.grads)).toBeLessThanOrEqual(1e-6);
      for (const [path, g] of micro2.grads)
        expect(Buffer.from((two.grads.get(path) as Float32Array).buffer).equals(Buffer.from(g.buffer))).toBe(true);
      expect(two.losses).toEqual(micro2.losses);
    } finally {
      await workers.close();
    }
  });
});

describe("mixed answer-choice counts in one batch (tasks with 2, 3 and 7 labels)", () => {
  it("padded choices change nothing: micro-batches 1/2/4/8 and 2 workers give one gradient and loss", async () => {
    const backend = await selectBackend("wasm");
    const model = await loadT5(DEMO_MODEL, backend);
    const { config } = loadRunConfig({ files: [], sets: [`model=${DEMO_MODEL}`, `data.path=${DEMO_TASK}`] });
    const task = await prepareTask(config);
    const tokenizer = await loadTokenizer(DEMO_MODEL);
    const { examples: base } = buildExamples(task, task.train.slice(0, 8), tokenizer, config);
    // 2 choices (the first two), 3 (the demo's own), 7 (four more made-up answers), interleaved so that every
    // micro-batch of 2 or more mixes counts; labels moved into range where needed
    const extra = [
      [37, 1],
      [52, 9, 1],
      [64, 1],
      [71, 30, 12, 1],
    ];
    const examples: TfewExample[] = base.map((e, i) => {
      const kind = i % 3;
      if (kind === 0) return { ...e, choices: e.choices.slice(0, 2), label: e.label % 2, task: 0 };
      if (kind === 1) return { ...e, task: 1 };
      return { ...e, choices: [...e.choices, ...extra], label: (e.label + i) % 7, task: 2 };
    });
    expect(new Set(examples.map((e) => e.choices.length))).toEqual(new Set([2, 3, 7]));
    const set = createVectorSet("t", model.weights, IA3_DEFAULTS.t5);
    const values = new Map(
      set.specs.map((s) => [s.path, new Float32Array(s.shape[0] * s.shape[1]).map((_, i) => 1 + 0.1 * Math.cos(i))]),
    );
    const untagged = examples.map(({ task: _task, ...e }) => e); // one shared set: the tags only label the tasks
    const local = async (micro: number): Promise<StepGradients> => {
      const engine = createLocalEngine(model, set, settings, micro);
      await engine.setVectors(values);
      return engine.compute(untagged);
    };
    const alone = await local(1); // every example in a pass of its own: no choice is ever padded
    for (const micro of [2, 4, 8]) {
      const r = await local(micro);
      const err = maxRelDiff(alone.grads, r.grads);
      console.log(`mixed counts, micro-batch ${micro} vs one example per pass: gradient ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(1e-6);
      for (const key of ["total", "lm", "ul", "ln"] as const)
        expect(Math.abs(r.losses[key] - alone.losses[key]) / Math.abs(alone.losses[key])).toBeLessThanOrEqual(1e-6);
    }
    const pool = await startPool(2, {
      modelDir: DEMO_MODEL,
      backend: "wasm",
      ia3Config: IA3_DEFAULTS.t5,
      initial: values,
    });
    const workers = createWorkerEngine(pool, { microBatchSize: 4, settings });
    try {
      expect(maxRelDiff(alone.grads, (await workers.compute(untagged)).grads)).toBeLessThanOrEqual(1e-6);
    } finally {
      await workers.close();
    }
  });
});

describe("20 training steps end at the same vectors", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tfew-objective-"));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("micro-batches 1 and 8, workers 1 and 2", async () => {
    requireBuild();
    const variants = {
      "micro-8": ["train.micro_batch_size=8"],
      "micro-1": ["train.micro_batch_size=1"],
      "workers-2": ["train.micro_batch_size=2", "workers=2"],
      "workers-1": ["train.micro_batch_size=2"],
    };
    const adapters = new Map<string, Map<string, Float32Array>>();
    for (const [name, sets] of Object.entries(variants)) {
      const out = join(dir, name);
      const args = [
        "train",
        "--out",
        out,
        ...QUICK,
        "--set",
        `model=${DEMO_MODEL}`,
        "--set",
        `data.path=${DEMO_TASK}`,
        "--set",
        "train.steps=20",
        "--set",
        "train.batch_size=8",
        ...sets.flatMap((s) => ["--set", s]),
      ];
      const r = await runCli(args, { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      adapters.set(name, (await readAdapter(join(out, "adapter"))).values);
    }
    const ref = adapters.get("micro-8") as Map<string, Float32Array>;
    for (const name of ["micro-1", "workers-2", "workers-1"]) {
      const err = maxRelDiff(ref, adapters.get(name) as Map<string, Float32Array>, 1);
      console.log(`20 steps, ${name} vs micro-8: max |Δ vector| / max |vector − 1| = ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(1e-5);
    }
    // the same micro-batches on 1 or 2 workers: byte-identical adapters
    const one = adapters.get("workers-1") as Map<string, Float32Array>;
    for (const [path, v] of adapters.get("workers-2") as Map<string, Float32Array>)
      expect(Array.from(v)).toEqual(Array.from(one.get(path) as Float32Array));
  }, 120_000);
});
