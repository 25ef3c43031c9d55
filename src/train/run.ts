// `tfew train`: T-Few (IA)³ training from a resolved config into a run folder. Reads top to bottom:
// set-up, run folder, the step loop (micro-batches → averaged gradient → clip → optimizer → vectors),
// checkpoints, the PEFT adapter and summary. Checkpoints make a killed run resumable exactly.
import { join } from "node:path";
import { assignVectors, createVectorSet, ia3ParameterCount, ia3Specs, linearModules, readVectors } from "../adapters/ia3.js";
import { resolveIa3Config } from "../adapters/ia3-config.js";
import { checkAdapterFits, readAdapter, saveAdapter } from "../adapters/peft-adapter.js";
import { configToYaml } from "../config/load.js";
import type { RunConfig } from "../config/schema.js";
import { TfewError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { countParameters } from "../model/config.js";
import { startGpuSampler, type GpuSampler } from "../monitor/gpu-sampler.js";
import { createMetricsLog } from "../monitor/metrics-log.js";
import { mfu, resolvePeakFlops, t5StepFlops } from "../monitor/mfu.js";
import { createProgress } from "../monitor/progress.js";
import type { TaskData } from "../data/task.js";
import type { TfewExample } from "./batch.js";
import { loadCheckpoint, saveCheckpoint, type TrainState } from "./checkpoint.js";
import { createLocalEngine, type GradientEngine } from "./engine.js";
import { clipByGlobalNorm } from "./grad-clip.js";
import { autoMicroBatchSize } from "./memory.js";
import { createOptimizer } from "./optimizer.js";
import { buildExamples, prepareModel, prepareTask, type Workspace } from "./prepare.js";
import { EpochSampler } from "./rng.js";
import { ensureRunDir, hashFiles, removeTempFiles, resetMetricsLog, sha256Text, TFEW_VERSION, writeJson } from "./run-dir.js";
import { learningRateAt } from "./schedule.js";
import { createWorkerEngine, resolveWorkerCount } from "./workers.js";

export interface TrainOptions {
  config: RunConfig;
  runDir: string;
  resume: boolean; // continue from runDir/checkpoint.safetensors
  log: (line: string) => void; // one-line messages (stderr)
  progressStream?: NodeJS.WriteStream;
  /** polled between steps: a signal name stops the run after a checkpoint */
  stopRequested?: () => "SIGINT" | "SIGTERM" | null;
  workspace?: Workspace; // already-loaded backend/model/tokenizer (cross-validation reuses one)
  task?: TaskData; // already-loaded task (cross-validation passes its folds)
}

export interface TrainSummary {
  run_dir: string;
  adapter_dir: string;
  backend: string;
  device: string;
  steps: number;
  first_loss: number | null;
  final_loss: number | null;
  s_per_step: number | null; // mean over steps 2.. (step 1 includes warm-up)
  s_per_step_median: number | null; // median over steps 2.. (what the PyTorch reference reports)
  examples_per_s: number | null;
  tokens_per_s: number | null;
  micro_batch_size: number;
  workers: number;
  nonfinite_skipped: number;
  mfu: number | null;
  gpu: unknown;
  wall_s: number;
  stopped_by: string | null;
}

export async function runTraining(options: TrainOptions): Promise<TrainSummary> {
  const { config, log } = options;
  const started = new Date();
  const runDir = await ensureRunDir(options.runDir);
  const configText = configToYaml(config);
  const configSha = sha256Text(configText);
  let resumeState: TrainState | null = null;
  if (options.resume) {
    await removeTempFiles(runDir); // temp files of writes a kill interrupted
    resumeState = await loadCheckpoint(runDir);
    if (resumeState === null) log(`resume: ${runDir} has no checkpoint yet (the run stopped before its first one); starting from step 0`);
    else if (resumeState.configSha !== configSha) {
      throw new TfewError(`resume: ${runDir}/config.resolved.yaml differs from the config this checkpoint was written with; resume with the run's own config`);
    }
  }

  // --- set-up: task (cheap, fails fast on bad data), model, examples, vectors, optimizer
  const task = options.task ?? (await prepareTask(config));
  if (task.train.length === 0) throw new TfewError(`data: ${config.data.path} has no labelled training examples`);
  const ws = options.workspace ?? (await prepareModel(config, { log }));
  const { model, tokenizer, backend } = ws;
  const { examples, truncated } = buildExamples(task, task.train, tokenizer, config);
  if (truncated > 0) log(`warning: ${truncated} of ${examples.length} training prompts were longer than data.max_seq_len=${config.data.max_seq_len} tokens and had their text fields cut`);
  const ia3Config = resolveIa3Config(model.config.modelType, { targetModules: config.adapter.target_modules, feedforwardModules: config.adapter.feedforward_modules });
  let initial: Map<string, Float32Array> | undefined;
  if (config.adapter.init_from !== null) {
    const adapter = await readAdapter(config.adapter.init_from);
    // check before the vectors are built: a wrong-sized vector must be a TfewError, not a tf shape error
    checkAdapterFits(adapter, ia3Specs(linearModules(model.weights), ia3Config), config.adapter.init_from);
    initial = adapter.values;
  }
  const set = createVectorSet(config.adapter.task_name, model.weights, ia3Config, initial);
  const optimizer = createOptimizer({ name: config.train.optimizer, weightDecay: config.train.weight_decay }, set.specs.map((s) => ({ name: s.path, shape: s.shape })));
  const params = readVectors(set);
  const sampler = new EpochSampler(examples.length, config.seed, resumeState?.sampler);
  let step = 0;
  let nonfiniteSkipped = 0;
  if (resumeState !== null) {
    for (const [path, v] of resumeState.vectors) params.set(path, v);
    optimizer.loadState(resumeState.optimizer);
    step = resumeState.step;
    nonfiniteSkipped = resumeState.nonfiniteSkipped;
    assignVectors(set, params);
  }

  const shape = {
    srcLen: Math.max(...examples.map((e) => e.inputIds.length)),
    numChoices: task.labelNames.length,
    tgtLen: Math.max(...(examples[0] as TfewExample).choices.map((c) => c.length)),
  };
  const parameterCount = countParameters(model.config).total;
  const microBatchSize = config.train.micro_batch_size === "auto"
    ? autoMicroBatchSize({ backend: backend.name, config: model.config, parameterCount, batchSize: config.train.batch_size, shape })
    : Math.min(config.train.micro_batch_size, config.train.batch_size);
  const settings = { lengthNorm: config.train.length_norm, ulWeight: config.train.ul_weight, lnWeight: config.train.ln_weight };
  const workers = resolveWorkerCount(config.train.workers, { backend: backend.name, batchSize: config.train.batch_size, microBatchSize });
  const engine: GradientEngine = workers > 1
    ? await createWorkerEngine({ workers, modelDir: model.dir, backend: backend.name, ia3Config, settings, microBatchSize, initial: params })
    : createLocalEngine(model, set, settings, microBatchSize);
  log(`train: ${examples.length} examples, ${task.labelNames.length} choices, ${ia3ParameterCount(set.specs)} (IA)³ parameters in ${set.specs.length} vectors; batch ${config.train.batch_size} = micro-batches of ${microBatchSize} on ${workers} worker${workers > 1 ? "s" : ""}`);

  // --- run folder
  await writeFileAtomic(join(runDir, "config.resolved.yaml"), configText);
  const manifest = {
    tfew_version: TFEW_VERSION,
    backend: backend.name,
    backend_reason: backend.reason,
    model: config.model,
    model_source: ws.source.kind,
    model_commit: ws.source.commit ?? null,
    model_files: ws.source.commit ? null : await hashFiles(model.files),
    data_files: await hashFiles(task.files),
    seed: config.seed,
    started_at: started.toISOString(),
    ended_at: null as string | null,
    resumed_from_step: resumeState?.step ?? null,
  };
  await writeJson(runDir, "manifest.json", manifest);
  // metrics.jsonl is an append log: a fresh run starts it empty; a resume keeps the rows up to the checkpoint
  await resetMetricsLog(join(runDir, "metrics.jsonl"), { keepThroughStep: resumeState?.step ?? 0 });
  const metrics = createMetricsLog(join(runDir, "metrics.jsonl"), { events: true }); // + TensorBoard event file
  const gpu: GpuSampler | null = config.monitor.gpu === "auto" ? await startGpuSampler({ intervalMs: config.monitor.interval_ms, onWarning: log }) : null;
  const progress = createProgress({ total: config.train.steps, label: "train", stream: options.progressStream });
  const flopDims = { ...model.config, gatedFfn: model.config.gatedFfn };

  let lastCheckpointStep: number | null = resumeState?.step ?? null;
  const checkpoint = async () => {
    await saveCheckpoint(runDir, { step, vectors: params, optimizer: optimizer.state(), sampler: sampler.snapshot(), nonfiniteSkipped, configSha });
    lastCheckpointStep = step;
  };
  const losses: number[] = [];
  const stepTimes: number[] = [];
  let tokensTotal = 0;
  let lastMfu: number | null = null;
  let stoppedBy: string | null = null;
  const t0 = performance.now();
  try {
    while (step < config.train.steps) {
      const signal = options.stopRequested?.() ?? null;
      if (signal !== null) {
        stoppedBy = signal;
        break;
      }
      const tStep = performance.now();
      const batch = sampler.next(config.train.batch_size).map((i) => examples[i] as TfewExample);
      const lr = learningRateAt(step, { lr: config.train.lr, totalSteps: config.train.steps, warmupRatio: config.train.warmup_ratio });
      const result = await engine.compute(batch);
      const { norm } = config.train.max_grad_norm === null ? { norm: NaN } : clipByGlobalNorm(result.grads, config.train.max_grad_norm);
      let problem = !Number.isFinite(result.losses.total) ? `the loss is ${result.losses.total}` : !allFinite(result.grads) ? "a gradient is not finite" : null;
      if (problem === null) {
        const before = config.train.skip_nonfinite ? { params: copyVectors(params), state: optimizer.state() } : null;
        optimizer.step(params, result.grads, lr);
        if (!allFinite(params)) {
          problem = "the update made an (IA)³ vector non-finite";
          if (before !== null) {
            for (const [path, v] of before.params) params.set(path, v);
            optimizer.loadState(before.state);
          }
        }
      }
      if (problem !== null && !config.train.skip_nonfinite) {
        throw new TfewError(`training: non-finite values at step ${step + 1} (${problem}); stopped, ${lastCheckpointStep === null ? "no checkpoint had been written yet" : `the last good checkpoint (step ${lastCheckpointStep}) is kept in ${runDir}`}; lower train.lr or set train.skip_nonfinite: true`);
      }
      if (problem === null) {
        await engine.setVectors(params);
      } else {
        nonfiniteSkipped++;
        log(`warning: step ${step + 1} skipped: ${problem} (${nonfiniteSkipped} skipped so far)`);
      }
      step++;
      const seconds = (performance.now() - tStep) / 1000;
      stepTimes.push(seconds);
      losses.push(result.losses.total);
      tokensTotal += result.tokens;
      await new Promise((r) => setImmediate(r)); // let the GPU sampler, signals and stdout run
      const g = gpu?.latest()[0];
      const peak = resolvePeakFlops({ gpuName: g?.name ?? null, peakTflops: config.monitor.peak_tflops });
      if (peak !== null) {
        const flops = t5StepFlops(flopDims, { encoderTokens: batch.length * shape.srcLen, decoderTokens: batch.length * shape.numChoices * shape.tgtLen, encoderLength: shape.srcLen, decoderLength: shape.tgtLen }, { training: true });
        lastMfu = mfu(flops, seconds, peak);
      }
      const record = {
        step,
        loss: result.losses.total,
        lm_loss: result.losses.lm,
        ul_loss: result.losses.ul,
        ln_loss: result.losses.ln,
        lr,
        grad_norm: norm,
        examples_per_s: result.examples / seconds,
        tokens_per_s: result.tokens / seconds,
        step_s: seconds,
        ...(g ? { gpu_util_pct: g.utilizationPct, gpu_mem_mib: g.memoryUsedMiB } : {}),
        ...(lastMfu !== null ? { mfu: lastMfu } : {}),
      };
      if (step % config.train.log_every === 0 || step === config.train.steps) {
        metrics.write(record);
        progress.update(step, {
          loss: record.loss,
          lr,
          examples_per_s: record.examples_per_s,
          ...(g?.utilizationPct != null ? { gpu_util_pct: g.utilizationPct } : {}),
          ...(g?.memoryUsedMiB != null ? { gpu_mem_mib: g.memoryUsedMiB } : {}),
        });
      }
      if (step % config.train.checkpoint_every === 0 || step === config.train.steps) await checkpoint();
    }
    if (stoppedBy !== null) await checkpoint();
  } finally {
    progress.stop();
    metrics.close();
    await engine.close();
    await gpu?.stop();
  }

  // --- adapter and summary
  const adapterDir = join(runDir, "adapter");
  if (stoppedBy === null) {
    assignVectors(set, params);
    await saveAdapter(adapterDir, set, { baseModel: config.model });
  }
  const steady = stepTimes.length > 1 ? stepTimes.slice(1) : stepTimes; // step 1 includes warm-up
  const meanStep = steady.length > 0 ? steady.reduce((a, b) => a + b, 0) / steady.length : null;
  const sorted = [...steady].sort((a, b) => a - b);
  const medianStep = sorted.length > 0 ? ((sorted[(sorted.length - 1) >> 1] as number) + (sorted[sorted.length >> 1] as number)) / 2 : null;
  const wall = (performance.now() - t0) / 1000;
  const summary: TrainSummary = {
    run_dir: runDir,
    adapter_dir: adapterDir,
    backend: backend.name,
    device: gpu?.summary()?.gpus[0] ?? `${backend.name} (CPU)`,
    steps: step,
    first_loss: losses[0] ?? null,
    final_loss: losses.at(-1) ?? null,
    s_per_step: meanStep,
    s_per_step_median: medianStep,
    examples_per_s: meanStep ? config.train.batch_size / meanStep : null,
    tokens_per_s: wall > 0 ? tokensTotal / wall : null,
    micro_batch_size: microBatchSize,
    workers,
    nonfinite_skipped: nonfiniteSkipped,
    mfu: lastMfu,
    gpu: gpu?.summary() ?? null,
    wall_s: wall,
    stopped_by: stoppedBy,
  };
  await writeJson(runDir, "summary.json", summary);
  await writeJson(runDir, "manifest.json", { ...manifest, ended_at: new Date().toISOString() });
  return summary;
}

function allFinite(values: ReadonlyMap<string, Float32Array>): boolean {
  for (const v of values.values()) for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i] as number)) return false;
  return true;
}

function copyVectors(values: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  return new Map([...values].map(([path, v]) => [path, Float32Array.from(v)]));
}
