// `npm run bench:compare`: tfew vs a plain-PyTorch reference of the same math on this machine, in one run.
// tfew's side runs the real code paths: runTraining (what `tfew train` runs) for the T-Few step, and the
// eval worker pool (what `tfew eval` runs) for rank classification at 2 / 10 / 77 choices, with an (IA)³
// adapter. PyTorch's side is scripts/torch_reference.py under Debian's python3-torch, run twice: with
// t-few's algorithm (encoder output repeated per choice) and with tfew's (cross-attention K/V once per
// example). Both sides get tfew's own examples (the same prompts, choices and counts), the same warm-up
// (one untimed step; one untimed pass at every choice count) and the same eval batch. Writes
// bench-results/compare.json.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { IA3_DEFAULTS } from "../adapters/ia3-config.js";
import { loadRunConfig } from "../config/load.js";
import type { TfewExample } from "../engine/batch.js";
import { resolveWorkerCount, startPool } from "../engine/pool.js";
import { rankWithPool } from "../engine/rank.js";
import { buildExamples, prepareModel, prepareTask } from "../engine/workspace.js";
import { runTraining } from "../train/run.js";
import { ensureRandomModel, T5_SMALL_SHAPE } from "./random-model.js";
import { ensureBenchTask } from "./tasks.js";

export interface CompareOptions {
  root: string; // package root
  trainSteps: number; // timed steps (after one warm-up step)
  evalExamples: number; // examples per eval choice count
  workers: number | "auto";
  torch: boolean; // run the PyTorch half
  log: (line: string) => void;
}

function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024; // KB → MB; worker threads share the process
}

function torchPython(): string | null {
  const probe = spawnSync("/usr/bin/python3", ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
  return probe.status === 0 ? "/usr/bin/python3" : null;
}

/** Tries to install Debian's python3-torch when missing (as root, with apt); null when it cannot be had. */
function ensureTorch(log: (line: string) => void): string | null {
  const found = torchPython();
  if (found) return found;
  log(
    "PyTorch half: /usr/bin/python3 has no torch; trying apt-get install -y python3-torch libopenblas0-openmp (Debian's CPU build; without OpenBLAS it falls back to the 3 GFLOP/s reference BLAS)…",
  );
  const apt = spawnSync(
    "bash",
    [
      "-c",
      "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch libopenblas0-openmp",
    ],
    { stdio: "inherit" },
  );
  if (apt.status !== 0) return null;
  return torchPython();
}

/**
 * PyTorch's environment: Debian's torch calls BLAS from its own OpenMP threads, so it gets the OpenMP build of
 * OpenBLAS (libblas.so.3 from openblas-openmp) even where the pthread build is the system default; with the
 * pthread build the two thread pools oversubscribe 2 cores (measured: 4.00 vs 1.41 s/step).
 */
function torchEnv(): NodeJS.ProcessEnv {
  const openmp = "/usr/lib/x86_64-linux-gnu/openblas-openmp";
  if (!existsSync(join(openmp, "libblas.so.3"))) return process.env;
  return { ...process.env, LD_LIBRARY_PATH: [openmp, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":") };
}

export async function runCompare(options: CompareOptions): Promise<Record<string, unknown>> {
  const { root, log } = options;
  const benchDir = join(root, "bench-results");
  await mkdir(benchDir, { recursive: true });
  const modelDir = await ensureRandomModel(join(benchDir, "models", "t5-small-random"), {
    shape: T5_SMALL_SHAPE,
    tokenizerDir: join(root, "data", "demo-model"),
    seed: 0,
  });
  const batch = 8;
  const seq = 256;

  // --- tfew training step: the code `tfew train` runs
  const trainTask = await ensureBenchTask(join(benchDir, "tasks"), { labels: 2, rows: 64, words: 400, seed: 1 });
  const sets = [
    `model=${modelDir}`,
    `data.path=${trainTask}`,
    `data.max_seq_len=${seq}`,
    `train.steps=${options.trainSteps + 1}`,
    `train.batch_size=${batch}`,
    `workers=${options.workers}`,
    "train.checkpoint_every=100000",
    "backend=wasm",
    "monitor.gpu=off",
    `out=${join(benchDir, "runs", "compare-train")}`,
  ];
  const { config } = loadRunConfig({ files: [], sets });
  const summary = await runTraining({ config, runDir: config.out as string, resume: false, log });
  const perStep = summary.s_per_step_median; // median of the timed steps, as the PyTorch script reports
  const tfewTrain = {
    s_per_step: perStep,
    s_per_step_mean: summary.s_per_step,
    examples_per_s: perStep ? batch / perStep : null,
    tokens_per_s: perStep ? (batch * seq) / perStep : null,
    steps: options.trainSteps,
    workers: summary.workers,
    micro_batch_size: summary.micro_batch_size,
  };
  log(
    `tfew train: ${perStep?.toFixed(2)} s/step median (${summary.workers} workers, micro-batch ${summary.micro_batch_size})`,
  );

  // --- tfew eval: rank classification through rankAll (what `tfew eval` runs)
  const tfewEval: Record<string, { examples_per_s: number; examples: number }> = {};
  // no label list in the prompt (77 names would not fit 256 tokens); the text fills the 256 input tokens
  const template = "data.template={instruction}\nText: {Text}\nLabel:";
  const evalConfig = loadRunConfig({
    files: [],
    sets: [`model=${modelDir}`, "backend=wasm", `data.max_seq_len=${seq}`, `data.path=${trainTask}`, template],
  }).config;
  const ws = await prepareModel(evalConfig, { log });
  // the pool `tfew eval` uses on CPU backends (one worker per core), started once, warmed up, then timed
  const workers = resolveWorkerCount(options.workers, { backend: ws.backend.name, jobs: options.evalExamples });
  // an adapter on both sides: tfew's default (IA)³ vectors (identity values, the scaling still runs)
  const pool = await startPool(workers, {
    modelDir,
    backend: ws.backend.name,
    ia3Config: IA3_DEFAULTS.t5,
    initial: null,
  });
  const evalExamples: Record<string, TfewExample[]> = {};
  try {
    for (const choices of [2, 10, 77]) {
      const dir = await ensureBenchTask(join(benchDir, "tasks"), {
        labels: choices,
        rows: Math.max(options.evalExamples, choices),
        words: 400,
        seed: 2,
      });
      const task = await prepareTask({ ...evalConfig, data: { ...evalConfig.data, path: dir } });
      const { examples } = buildExamples(task, task.train.slice(0, options.evalExamples), ws.tokenizer, evalConfig);
      evalExamples[String(choices)] = examples;
      const rankOptions = {
        lengthNorm: 1,
        choiceChunk: evalConfig.eval.choice_chunk,
        batchSize: evalConfig.eval.batch_size,
      };
      await rankWithPool(pool, examples, rankOptions); // warm-up at the timed shapes (the wasm heap grows on first use)
      const t0 = performance.now();
      await rankWithPool(pool, examples, rankOptions);
      const seconds = (performance.now() - t0) / 1000;
      tfewEval[String(choices)] = { examples_per_s: examples.length / seconds, examples: examples.length };
      log(`tfew eval, ${choices} choices: ${(examples.length / seconds).toFixed(2)} examples/s (${workers} workers)`);
    }
  } finally {
    await pool.close();
  }
  const tfewRss = peakRssMb();
  const trainTaskData = await prepareTask(config);
  const examplesFile = join(benchDir, "compare-examples.json");
  // examples per forward pass on tfew's side: each worker runs its contiguous share as batches of eval.batch_size
  const evalBatch = Math.min(evalConfig.eval.batch_size, Math.ceil(options.evalExamples / workers));
  const asJson = (list: readonly TfewExample[]) =>
    list.map((e) => ({ input_ids: e.inputIds, choices: e.choices, label: e.label }));
  await writeFile(
    examplesFile,
    JSON.stringify({
      train: asJson(buildExamples(trainTaskData, trainTaskData.train, ws.tokenizer, config).examples),
      eval: Object.fromEntries(Object.entries(evalExamples).map(([c, list]) => [c, asJson(list)])),
    }),
  );

  // --- PyTorch reference
  let torch: Record<string, unknown> | null = null;
  let torchSame: Record<string, unknown> | null = null;
  let torchNote: string | null = null;
  const script = join(root, "scripts", "torch_reference.py");
  const python = options.torch && existsSync(script) ? ensureTorch(log) : null;
  if (!options.torch) torchNote = "skipped (--no-torch)";
  else if (python === null) torchNote = "skipped: PyTorch (Debian python3-torch) could not be had on this machine";
  else {
    const runTorch = (algorithm: "t-few" | "same") => {
      log(
        `PyTorch reference (${algorithm === "same" ? "tfew's algorithm: cross-attention K/V once per example" : "t-few's algorithm: encoder output repeated per choice"}): scripts/torch_reference.py …`,
      );
      const args = [
        script,
        "--json",
        "--threads",
        String(cpus().length),
        "--batch",
        String(batch),
        "--train-steps",
        String(options.trainSteps),
        "--warmup",
        "1",
        "--examples",
        examplesFile,
        "--eval-batch",
        String(evalBatch),
        "--untie",
        "--ffn",
        "relu",
        ...(algorithm === "same" ? ["--share-cross-kv"] : []),
      ];
      const r = spawnSync(python, args, {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        maxBuffer: 1 << 24,
        env: torchEnv(),
      });
      if (r.status !== 0) throw new Error(`scripts/torch_reference.py failed with exit code ${r.status}`);
      return JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as Record<string, unknown>;
    };
    try {
      torch = runTorch("t-few");
      torchSame = runTorch("same");
    } catch (error) {
      torchNote = (error as Error).message;
    }
  }
  if (torchNote) log(`PyTorch half ${torchNote}`);

  const trainSps = (t: Record<string, unknown> | null) =>
    (t?.train as { s_per_step?: number } | undefined)?.s_per_step ?? null;
  const evalRate = (t: Record<string, unknown> | null, c: string) =>
    (t?.eval as Record<string, { examples_per_s?: number }> | undefined)?.[c]?.examples_per_s ?? null;
  const tTrain = trainSps(torch);
  const tSame = trainSps(torchSame);
  const over = (a: number | null, b: number | null | undefined) => (a !== null && b ? a / b : null);
  const result = {
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model ?? "?", cores: cpus().length, node: process.version },
    shape: {
      model: "random T5-small shape (d_model 512, 6+6 layers, 8 heads, d_ff 2048, vocab 32128)",
      batch,
      seq,
      choices: 2,
    },
    algorithms: {
      torch: "t-few's: encoder output repeated per choice",
      torch_same_algorithm: "tfew's: cross-attention K/V once per example, shared by its choices",
    },
    train: {
      tfew_s_per_step: tfewTrain.s_per_step,
      torch_s_per_step: tTrain,
      torch_same_algorithm_s_per_step: tSame,
      ratio: over(tTrain, tfewTrain.s_per_step), // > 1: tfew faster
      ratio_same_algorithm: over(tSame, tfewTrain.s_per_step),
      tfew: tfewTrain,
      torch: torch?.train ?? null,
      torch_same_algorithm: torchSame?.train ?? null,
    },
    eval: Object.fromEntries(
      Object.entries(tfewEval).map(([c, v]) => {
        const t = evalRate(torch, c);
        const same = evalRate(torchSame, c);
        return [
          c,
          {
            tfew_examples_per_s: v.examples_per_s,
            torch_examples_per_s: t,
            torch_same_algorithm_examples_per_s: same,
            ratio: over(v.examples_per_s, t),
            ratio_same_algorithm: over(v.examples_per_s, same),
            examples: v.examples,
          },
        ];
      }),
    ),
    eval_batch: evalBatch, // examples per forward pass, both sides
    peak_rss_mb: {
      tfew: tfewRss,
      torch: (torch?.peak_rss_mb as number | undefined) ?? null,
      torch_same_algorithm: (torchSame?.peak_rss_mb as number | undefined) ?? null,
    },
    torch_note: torchNote,
    torch_version: torch?.torch_version ?? null,
  };
  await writeFile(join(benchDir, "compare.json"), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
