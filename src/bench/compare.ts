// `npm run bench:compare [-- --shape S --backend B --python P --no-torch]`: tfew against plain-PyTorch
// references of the same math on this machine, in one run. tfew's side runs the real code paths: runTraining
// (what `tfew train` runs) for the T-Few step, the eval worker pool (what `tfew eval` runs) for rank
// classification at 2 / 10 / 77 choices, and a kernel profile of one training micro-batch and one 77-choice
// eval batch. PyTorch's side is scripts/torch_reference.py under each PyTorch found (torch-side.ts), with
// t-few's algorithm (encoder output repeated per choice) and tfew's (cross-attention K/V once per example).
// Both sides get tfew's own examples, the same warm-up and the same eval batch. Peak RSS is each process's
// getrusage maxrss (worker threads included): after training, and after eval. Writes bench-results/compare.json.
import { writeFile, mkdir } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { createVectorSet, disposeVectorSet } from "../adapters/ia3.js";
import { IA3_DEFAULTS } from "../adapters/ia3-config.js";
import { loadRunConfig } from "../config/load.js";
import { passTokens, type TfewExample } from "../engine/batch.js";
import { resolveWorkerCount, startPool } from "../engine/pool.js";
import { rankWithPool } from "../engine/rank.js";
import { buildExamples, prepareModel, prepareTask, type Workspace } from "../engine/workspace.js";
import { loadTokenizer } from "../data/tokenizer.js";
import { readT5Config } from "../model/config.js";
import { t5ForwardFlops, t5StepFlops } from "../monitor/mfu.js";
import { runTraining } from "../train/run.js";
import { profileEvalPass, profileTrainStep, type KernelProfile } from "./profile.js";
import { ensureRandomModel } from "./random-model.js";
import { BENCH_SHAPES, shapeParameters, torchShapeArgs, type BenchShape } from "./shapes.js";
import { ensureBenchTask } from "./tasks.js";
import { findTorchSides, runTorch } from "./torch-side.js";

export interface CompareOptions {
  root: string; // package root
  shape: BenchShape;
  backend: string; // tfew's backend (wasm, cpu, tensorflow, webgpu)
  trainSteps: number; // timed steps (after one warm-up step)
  evalExamples: number; // examples per eval choice count
  workers: number | "auto";
  torch: boolean; // run the PyTorch side
  pythons: string[]; // --python: interpreters with torch (default: the pip venv, then Debian's)
  log: (line: string) => void;
}

const BATCH = 8;
const SEQ = 256;
const CHOICE_COUNTS = [2, 10, 77] as const;

const peakRssMb = (): number => process.resourceUsage().maxRSS / 1024; // KiB → MiB, worker threads included

export async function runCompare(options: CompareOptions): Promise<Record<string, unknown>> {
  const { root, log } = options;
  const benchDir = join(root, "bench-results");
  await mkdir(benchDir, { recursive: true });
  const modelDir = await ensureRandomModel(join(benchDir, "models", `${options.shape}-random`), {
    shape: BENCH_SHAPES[options.shape],
    tokenizerDir: join(root, "data", "demo-model"),
    seed: 0,
  });
  const train = await tfewTrain(options, modelDir, benchDir);
  const trainRss = peakRssMb();
  const evalSide = await tfewEval(options, modelDir, benchDir);
  const profiles = await kernelProfiles(evalSide.ws, train.examples, evalSide.examples, train.microBatch);
  const tfewRss = peakRssMb();
  const examplesFile = join(benchDir, "compare-examples.json");
  const asJson = (list: readonly TfewExample[]) =>
    list.map((e) => ({ input_ids: e.inputIds, choices: e.choices, label: e.label }));
  await writeFile(
    examplesFile,
    JSON.stringify({
      train: asJson(train.examples),
      eval: Object.fromEntries(Object.entries(evalSide.examples).map(([c, list]) => [c, asJson(list)])),
    }),
  );
  const torch: Record<string, { t_few: Record<string, unknown>; same: Record<string, unknown> } | string> = {};
  const sides = options.torch ? findTorchSides(root, options.pythons, log) : [];
  if (options.torch && sides.length === 0) log("PyTorch side: no Python with torch found (scripts/python-venv.sh)");
  const torchOptions = {
    root,
    batch: BATCH,
    trainSteps: options.trainSteps,
    examplesFile,
    evalBatch: evalSide.batch,
    shapeArgs: torchShapeArgs(options.shape),
    log,
  };
  for (const side of sides) {
    try {
      torch[side.label] = { t_few: runTorch(side, "t-few", torchOptions), same: runTorch(side, "same", torchOptions) };
    } catch (error) {
      torch[side.label] = (error as Error).message;
    }
  }
  const result = {
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model ?? "?", cores: cpus().length, node: process.version },
    shape: { name: options.shape, parameters: shapeParameters(options.shape), batch: BATCH, seq: SEQ },
    backend: options.backend,
    tfew: {
      train: { ...train.summary, gflops_per_s: train.gflops },
      eval: evalSide.rates,
      eval_batch: evalSide.batch,
      peak_rss_mb: { train: trainRss, train_and_eval: tfewRss },
    },
    torch,
    profiles,
  };
  await writeFile(join(benchDir, "compare.json"), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

async function tfewTrain(options: CompareOptions, modelDir: string, benchDir: string) {
  const trainTask = await ensureBenchTask(join(benchDir, "tasks"), { labels: 2, rows: 64, words: 400, seed: 1 });
  const sets = [
    `model=${modelDir}`,
    `data.path=${trainTask}`,
    `data.max_seq_len=${SEQ}`,
    `train.steps=${options.trainSteps + 1}`,
    `train.batch_size=${BATCH}`,
    `workers=${options.workers}`,
    "train.checkpoint_every=100000",
    `backend=${options.backend}`,
    "monitor.gpu=off",
    `out=${join(benchDir, "runs", `compare-train-${options.shape}`)}`,
  ];
  const { config } = loadRunConfig({ files: [], sets });
  const summary = await runTraining({ config, runDir: config.out as string, resume: false, log: options.log });
  const perStep = summary.s_per_step_median; // median of the timed steps, as the PyTorch script reports
  // the same examples again, from the tokenizer alone (loading the model here would count in the RSS)
  const task = await prepareTask(config);
  const examples = buildExamples(task, task.train, await loadTokenizer(modelDir), config).examples;
  const microBatch = summary.micro_batch_size ?? BATCH;
  const dims = await readT5Config(modelDir);
  const stepFlops = passTokens(examples.slice(0, BATCH), microBatch).reduce(
    (a, t) => a + t5StepFlops(dims, t, { training: true }),
    0,
  );
  options.log(
    `tfew train: ${perStep?.toFixed(2)} s/step median (${summary.workers} workers, micro-batch ${summary.micro_batch_size})`,
  );
  return {
    summary: {
      s_per_step: perStep,
      s_per_step_mean: summary.s_per_step,
      examples_per_s: perStep ? BATCH / perStep : null,
      steps: options.trainSteps,
      workers: summary.workers,
      micro_batch_size: summary.micro_batch_size,
    },
    gflops: perStep ? stepFlops / perStep / 1e9 : null,
    examples,
    microBatch,
  };
}

async function tfewEval(options: CompareOptions, modelDir: string, benchDir: string) {
  // no label list in the prompt (77 names would not fit 256 tokens); the text fills the 256 input tokens
  const template = "data.template={instruction}\nText: {Text}\nLabel:";
  const evalConfig = loadRunConfig({
    files: [],
    sets: [`model=${modelDir}`, `backend=${options.backend}`, `data.max_seq_len=${SEQ}`, template],
  }).config;
  const ws = await prepareModel(evalConfig, { log: options.log });
  const workers = resolveWorkerCount(options.workers, { backend: ws.backend.name, jobs: options.evalExamples });
  // an adapter on both sides: tfew's default (IA)³ vectors (identity values, the scaling still runs)
  const pool = await startPool(workers, {
    modelDir,
    backend: ws.backend.name,
    ia3Config: IA3_DEFAULTS.t5,
    initial: null,
  });
  const rates: Record<string, { examples_per_s: number; examples: number; gflops_per_s: number }> = {};
  const examples: Record<string, TfewExample[]> = {};
  const rankOptions = {
    lengthNorm: 1,
    choiceChunk: evalConfig.eval.choice_chunk,
    batchSize: evalConfig.eval.batch_size,
  };
  try {
    for (const choices of CHOICE_COUNTS) {
      const dir = await ensureBenchTask(join(benchDir, "tasks"), {
        labels: choices,
        rows: Math.max(options.evalExamples, choices),
        words: 400,
        seed: 2,
      });
      const task = await prepareTask({ ...evalConfig, data: { ...evalConfig.data, path: dir } });
      const list = buildExamples(task, task.train.slice(0, options.evalExamples), ws.tokenizer, evalConfig).examples;
      examples[String(choices)] = list;
      await rankWithPool(pool, list, rankOptions); // warm-up at the timed shapes (the wasm heap grows on first use)
      const t0 = performance.now();
      await rankWithPool(pool, list, rankOptions);
      const seconds = (performance.now() - t0) / 1000;
      const flops = list.reduce((a, e) => a + evalFlops(ws, e), 0);
      rates[String(choices)] = {
        examples_per_s: list.length / seconds,
        examples: list.length,
        gflops_per_s: flops / seconds / 1e9,
      };
      options.log(
        `tfew eval, ${choices} choices: ${(list.length / seconds).toFixed(2)} examples/s (${workers} workers)`,
      );
    }
  } finally {
    await pool.close();
  }
  // examples per forward pass on tfew's side: each worker runs its contiguous share as batches of eval.batch_size
  const batch = Math.min(evalConfig.eval.batch_size, Math.ceil(options.evalExamples / workers));
  return { ws, rates, examples, batch };
}

/** Forward FLOPs of ranking one example: its encoder once, the decoder over every choice. */
function evalFlops(ws: Workspace, e: TfewExample): number {
  const tgtLen = Math.max(...e.choices.map((c) => c.length));
  const tokens = {
    encoderTokens: e.inputIds.length,
    decoderTokens: e.choices.length * tgtLen,
    encoderLength: e.inputIds.length,
    decoderLength: tgtLen,
  };
  return t5ForwardFlops(ws.model.config, tokens);
}

async function kernelProfiles(
  ws: Workspace,
  train: readonly TfewExample[],
  evalExamples: Record<string, TfewExample[]>,
  microBatch: number,
): Promise<KernelProfile[]> {
  const vectors = createVectorSet("bench", ws.model.weights, IA3_DEFAULTS.t5);
  const settings = { lengthNorm: 1, ulWeight: 1, lnWeight: 1 };
  const step = await profileTrainStep(ws.model, vectors, train.slice(0, microBatch), settings);
  const many = (evalExamples["77"] ?? []).slice(0, 8);
  const pass = await profileEvalPass(ws.model, vectors, many, { lengthNorm: 1, choiceChunk: 32 });
  disposeVectorSet(vectors);
  return [step, pass];
}
