// Data-parallel workers: the same micro-batches on 2 worker threads give the same losses and (IA)³
// gradients as one thread, up to float rounding (the summation order of the weighted average differs).
// Needs the compiled worker (npm test builds dist/ first).
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import "@tensorflow/tfjs-backend-wasm";
import { createVectorSet, readVectors } from "../src/adapters/ia3.js";
import { IA3_DEFAULTS } from "../src/adapters/ia3-config.js";
import { selectBackend } from "../src/backend/select.js";
import { loadRunConfig } from "../src/config/load.js";
import { loadT5 } from "../src/model/load.js";
import { createLocalEngine } from "../src/train/engine.js";
import { buildExamples, prepareTask } from "../src/train/prepare.js";
import { loadTokenizer } from "../src/data/tokenizer.js";
import { createWorkerEngine } from "../src/train/workers.js";
import { REPO_ROOT } from "./helpers/shared.js";

describe("worker_threads data parallelism", () => {
  it("2 workers = 1 worker with the same micro-batches (losses and gradients)", async () => {
    const modelDir = join(REPO_ROOT, "data", "demo-model");
    const backend = await selectBackend("wasm");
    const model = await loadT5(modelDir, { keepUntransposed: backend.keepUntransposed });
    const { config } = loadRunConfig({ files: [], sets: [`model=${modelDir}`, `data.path=${join(REPO_ROOT, "data", "demo-task")}`, "data.max_seq_len=64"] });
    const task = await prepareTask(config);
    const tokenizer = await loadTokenizer(modelDir);
    const { examples } = buildExamples(task, task.train.slice(0, 8), tokenizer, config);
    const set = createVectorSet("t", model.weights, IA3_DEFAULTS.t5);
    // non-identity vectors so that every gradient term is exercised
    const values = new Map([...readVectors(set)].map(([p, v]) => [p, v.map((_, i) => 1 + 0.1 * Math.sin(i + p.length))]));
    const settings = { lengthNorm: 1, ulWeight: 1, lnWeight: 1 };
    const local = createLocalEngine(model, set, settings, 2);
    await local.setVectors(values);
    const one = await local.compute(examples);
    const workers = await createWorkerEngine({ workers: 2, microBatchSize: 2, modelDir, backend: "wasm", ia3Config: IA3_DEFAULTS.t5, settings, initial: values });
    try {
      const two = await workers.compute(examples);
      expect(two.examples).toBe(8);
      expect(Math.abs(two.losses.total - one.losses.total) / Math.abs(one.losses.total)).toBeLessThan(1e-6);
      let worst = 0;
      for (const [path, g] of one.grads) {
        const h = two.grads.get(path) as Float32Array;
        const scale = Math.max(...g.map(Math.abs));
        for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs((g[i] as number) - (h[i] as number)) / scale);
      }
      console.log(`2 workers vs 1: max relative gradient difference ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-5);
    } finally {
      await workers.close();
    }
  });
});
