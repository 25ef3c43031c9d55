// `npm run bench:large -- --shape t5-large|t0-3b [--backend B] [--steps N] [--mode train|eval]`: models past the
// wasm heap on a CPU engine. train: `tfew train`'s code path at batch 8 × 256 (2 choices), N timed steps after
// one warm-up; eval: rank classification of 2-choice examples at 256 tokens, as `tfew eval` runs it. Prints and
// writes bench-results/large-<shape>-<mode>.json with s/step or examples/s and the process's peak RSS.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadRunConfig } from "../config/load.js";
import { rankAll } from "../engine/rank.js";
import { buildExamples, prepareModel, prepareTask } from "../engine/workspace.js";
import { runTraining } from "../train/run.js";
import { ensureRandomModel } from "./random-model.js";
import { BENCH_SHAPES, shapeParameters, type BenchShape } from "./shapes.js";
import { ensureBenchTask } from "./tasks.js";

export interface LargeOptions {
  root: string;
  shape: BenchShape;
  backend: string;
  mode: "train" | "eval";
  steps: number; // train: timed steps; eval: examples
  log: (line: string) => void;
}

const peakRssMb = (): number => process.resourceUsage().maxRSS / 1024;

export async function runLarge(o: LargeOptions): Promise<Record<string, unknown>> {
  const benchDir = join(o.root, "bench-results");
  const t0 = performance.now();
  const modelDir = await ensureRandomModel(join(benchDir, "models", `${o.shape}-random`), {
    shape: BENCH_SHAPES[o.shape],
    tokenizerDir: join(o.root, "data", "demo-model"),
    seed: 0,
  });
  o.log(`model ${modelDir} ready in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const task = await ensureBenchTask(join(benchDir, "tasks"), { labels: 2, rows: 64, words: 400, seed: 1 });
  const sets = [`model=${modelDir}`, `data.path=${task}`, "data.max_seq_len=256", `backend=${o.backend}`];
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    shape: o.shape,
    parameters: shapeParameters(o.shape),
    backend: o.backend,
    mode: o.mode,
  };
  if (o.mode === "train") {
    const { config } = loadRunConfig({
      files: [],
      sets: [
        ...sets,
        `train.steps=${o.steps + 1}`,
        "train.batch_size=8",
        "train.checkpoint_every=100000",
        "monitor.gpu=off",
        `out=${join(benchDir, "runs", `large-${o.shape}-${Date.now()}`)}`,
      ],
    });
    const s = await runTraining({ config, runDir: config.out as string, resume: false, log: o.log });
    Object.assign(result, { s_per_step: s.s_per_step_median, steps: o.steps, micro_batch_size: s.micro_batch_size });
  } else {
    const { config } = loadRunConfig({ files: [], sets });
    const ws = await prepareModel(config, { log: o.log });
    const t = await prepareTask(config);
    const examples = buildExamples(t, t.train.slice(0, o.steps + 1), ws.tokenizer, config).examples;
    const options = { lengthNorm: 1, choiceChunk: config.eval.choice_chunk, batchSize: 1 };
    await rankAll(ws.model, null, examples.slice(0, 1), options); // warm-up
    const start = performance.now();
    await rankAll(ws.model, null, examples.slice(1), options);
    const seconds = (performance.now() - start) / 1000;
    Object.assign(result, { examples: examples.length - 1, examples_per_s: (examples.length - 1) / seconds });
  }
  result.peak_rss_mb = peakRssMb();
  await writeFile(join(benchDir, `large-${o.shape}-${o.mode}.json`), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
