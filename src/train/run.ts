// `tfew train`: T-Few (IA)³ training from a resolved config into a run folder, in named stages: open the
// run (resume state), set up (task, model, examples, vectors, optimizer), start the gradient engine, write
// the run files, the step loop (micro-batches → the full batch's gradient → clip → optimizer → vectors,
// checkpoints), then the PEFT adapter and the summary. Checkpoints make a killed run resumable exactly.
import { join } from "node:path";
import { asOutOfMemoryError } from "../backend/out-of-memory.js";
import { tf } from "../backend/tf.js";
import type { Ia3VectorSet } from "../adapters/ia3.js";
import { isSmear } from "../adapters/smear.js";
import { assignTrained, readTrained, type TrainedVectors } from "../adapters/trainable.js";
import { resolveIa3Config, type Ia3Config } from "../adapters/ia3-config.js";
import { configToYaml, legacyConfigYaml } from "../config/load.js";
import type { RunConfig } from "../config/schema.js";
import { describeDataFiles } from "../data/manifest.js";
import type { TaskData } from "../data/task-types.js";
import { createLocalEngine, type GradientEngine, type StepGradients } from "../engine/accumulate.js";
import { passTokens, type TfewExample } from "../engine/batch.js";
import { memoryBasis, trainMicroBatchSize } from "../engine/memory.js";
import { createWorkerEngine, resolveWorkerCount, startPool } from "../engine/pool.js";
import { EpochSampler, type SamplerState } from "../engine/rng.js";
import { TaskSampler, type TaskSamplerState } from "../engine/task-sampler.js";
import {
  buildExamples,
  exampleShapes,
  prepareModel,
  prepareTask,
  sizingOf,
  type Workspace,
} from "../engine/workspace.js";
import { TfewError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import {
  ensureRunDir,
  hashFiles,
  removeTempFiles,
  resetMetricsLog,
  sha256Text,
  TFEW_VERSION,
  writeJson,
} from "../io/run-dir.js";
import { startGpuSampler } from "../monitor/gpu-sampler.js";
import { createMetricsLog } from "../monitor/metrics-log.js";
import { mfu, resolvePeakFlops, t5StepFlops } from "../monitor/mfu.js";
import { createProgress } from "../monitor/progress.js";
import { loadCheckpoint, saveCheckpoint, type TrainState } from "./checkpoint.js";
import { clipByGlobalNorm } from "./grad-clip.js";
import type { Optimizer } from "./optimizer.js";
import { createSetOptimizer, usedGrads, type ParamGroup } from "./set-optimizers.js";
import { prepareTasks, taskExamples, type TrainingTasks } from "./tasks.js";
import { createTrainedVectors, describeVectors, paramGroups, saveTrainedVectors } from "./vectors.js";
import { trimEventFiles } from "./run-events.js";
import { learningRateAt } from "./schedule.js";
import { summarize, type LoopResult, type TrainSummary } from "./summary.js";

export type { TrainSummary } from "./summary.js";

export interface TrainOptions {
  config: RunConfig;
  runDir: string;
  resume: boolean; // continue from runDir/checkpoint.safetensors
  log: (line: string) => void; // one-line messages (stderr)
  progressStream?: NodeJS.WriteStream;
  /** polled between steps: a signal name stops the run after a checkpoint */
  stopRequested?: () => "SIGINT" | "SIGTERM" | null;
  workspace?: Workspace; // an already-loaded model (backend, weights, tokenizer): cross-validation reuses one
  task?: TaskData; // already-loaded task (cross-validation passes its folds)
}

/** Everything the step loop works on. */
interface Training {
  config: RunConfig;
  runDir: string;
  ws: Workspace;
  task: TaskData;
  examples: TfewExample[];
  vectors: TrainedVectors; // one set, one per task (adapter.routing: task), or SMEAR experts + routers
  groups: ParamGroup[]; // optimizer groups of flat parameter names
  multi: TrainingTasks | null; // data.tasks
  ia3Config: Ia3Config;
  optimizer: Optimizer;
  params: Map<string, Float32Array>; // the vectors' current values by flat key (what checkpoints hold)
  sampler: EpochSampler | TaskSampler;
  step: number;
  nonfiniteSkipped: number;
  configSha: string;
}

export async function runTraining(options: TrainOptions): Promise<TrainSummary> {
  const started = new Date();
  const run = await openRun(options);
  const t = await setUp(options, run);
  const { engine, microBatchSize } = await startEngine(t, options.log);
  const manifest = await writeRunFiles(t, run.configText, started, run.resumeState);
  const loop = await trainLoop(t, engine, microBatchSize, options);
  const adapterDir = join(t.runDir, "adapter");
  if (loop.stoppedBy === null) {
    assignTrained(t.vectors, t.params);
    await saveTrainedVectors(adapterDir, t.vectors, { baseModel: t.config.model });
  }
  const summary = summarize({
    ...loop,
    runDir: t.runDir,
    adapterDir,
    backend: t.ws.backend.name,
    batchSize: t.config.train.batch_size,
    microBatchSize,
    workers: engine.workers,
    steps: t.step,
    nonfiniteSkipped: t.nonfiniteSkipped,
  });
  await writeJson(t.runDir, "summary.json", summary);
  await writeJson(t.runDir, "manifest.json", { ...manifest, ended_at: new Date().toISOString() });
  return summary;
}

/** Stage 1: the run folder, the resolved config and (on --resume) the checkpoint to continue from. */
async function openRun(
  options: TrainOptions,
): Promise<{ runDir: string; configText: string; configSha: string; resumeState: TrainState | null }> {
  const runDir = await ensureRunDir(options.runDir);
  const configText = configToYaml(options.config);
  const configSha = sha256Text(configText);
  if (!options.resume) return { runDir, configText, configSha, resumeState: null };
  await removeTempFiles(runDir); // temp files of writes a kill interrupted
  const resumeState = await loadCheckpoint(runDir);
  if (resumeState === null)
    options.log(`resume: ${runDir} has no checkpoint yet (the run stopped before its first one); starting from step 0`);
  // a run folder of an older tfew holds train.workers; its checkpoint has the sha of that text
  else if (
    resumeState.configSha !== configSha &&
    resumeState.configSha !== sha256Text(legacyConfigYaml(options.config))
  ) {
    throw new TfewError(
      `resume: ${runDir}/config.resolved.yaml differs from the config this checkpoint was written with; resume with the run's own config`,
    );
  }
  return { runDir, configText, configSha, resumeState };
}

/** Stage 2: task (cheap, fails fast on bad data), model, examples, vectors, optimizer, sampler; resume state applied. */
async function setUp(options: TrainOptions, run: Awaited<ReturnType<typeof openRun>>): Promise<Training> {
  const { config, log } = options;
  const multi = config.data.tasks === null ? null : await prepareTasks(config);
  const task = multi?.tasks[0] ?? options.task ?? (await prepareTask(config));
  if (task.train.length === 0) throw new TfewError(`data: ${config.data.path} has no labelled training examples`);
  const ws = options.workspace ?? (await prepareModel(config, { log }));
  const { examples, sizes } = multi ? taskExamples(multi, ws, log) : singleTaskExamples(task, ws, config, log);
  const ia3Config = resolveIa3Config(ws.model.config.modelType, {
    targetModules: config.adapter.target_modules,
    feedforwardModules: config.adapter.feedforward_modules,
  });
  const vectors = await createTrainedVectors(config, ws.model.weights, ia3Config, multi?.names ?? null);
  const groups = paramGroups(vectors);
  const optimizer = createSetOptimizer(
    { name: config.train.optimizer, weightDecay: config.train.weight_decay },
    groups,
  );
  const params = await readTrained(vectors);
  const state = run.resumeState;
  const sampler = multi
    ? new TaskSampler(sizes, multi.weights, config.seed, state?.sampler as TaskSamplerState | undefined)
    : new EpochSampler(examples.length, config.seed, state?.sampler as SamplerState | undefined);
  const t: Training = {
    config,
    runDir: run.runDir,
    ws,
    task,
    examples,
    vectors,
    groups,
    multi,
    ia3Config,
    optimizer,
    params,
    sampler,
    step: 0,
    nonfiniteSkipped: 0,
    configSha: run.configSha,
  };
  if (state !== null) {
    for (const [path, v] of state.vectors) params.set(path, v);
    optimizer.loadState(state.optimizer);
    t.step = state.step;
    t.nonfiniteSkipped = state.nonfiniteSkipped;
    assignTrained(vectors, params);
  }
  return t;
}

function singleTaskExamples(
  task: TaskData,
  ws: Workspace,
  config: RunConfig,
  log: (line: string) => void,
): { examples: TfewExample[]; sizes: number[] } {
  const { examples, truncated } = buildExamples(task, task.train, ws.tokenizer, config);
  if (truncated > 0)
    log(
      `warning: ${truncated} of ${examples.length} training prompts were longer than data.max_seq_len=${config.data.max_seq_len} tokens and had their text fields cut`,
    );
  return { examples, sizes: [examples.length] };
}

/** Stage 3: micro-batch size (memory only, never the core count), worker count, and the engine. */
async function startEngine(
  t: Training,
  log: (line: string) => void,
): Promise<{ engine: GradientEngine; microBatchSize: number }> {
  const { train } = t.config;
  const backend = t.ws.backend.name;
  const sizing = sizingOf(t.ws);
  const microBatchSize =
    train.micro_batch_size === "auto"
      ? trainMicroBatchSize({
          ...sizing,
          batchSize: train.batch_size,
          shapes: exampleShapes(t.examples),
          what: "training",
        })
      : Math.min(train.micro_batch_size, train.batch_size);
  const smear = isSmear(t.vectors); // SMEAR trains in this thread (workers hold plain vector sets)
  const workers = smear
    ? 1
    : resolveWorkerCount(t.config.workers, { backend, jobs: Math.ceil(train.batch_size / microBatchSize) });
  const settings = { lengthNorm: train.length_norm, ulWeight: train.ul_weight, lnWeight: train.ln_weight };
  const engine =
    workers > 1
      ? createWorkerEngine(
          await startPool(workers, {
            modelDir: t.ws.model.dir,
            backend,
            ia3Config: t.ia3Config,
            initial: t.params,
            ...(Array.isArray(t.vectors) && t.vectors.length > 1
              ? { tasks: (t.vectors as Ia3VectorSet[]).map((s) => s.name) }
              : {}),
          }),
          { microBatchSize, settings },
        )
      : createLocalEngine(t.ws.model, t.vectors, settings, microBatchSize);
  const tasks = t.multi
    ? `${t.multi.names.length} tasks (${t.multi.names.join(", ")}; routing: ${t.config.adapter.routing}), `
    : "";
  log(
    `train: ${tasks}${t.examples.length} examples, ${t.task.labelNames.length} choices, ${describeVectors(t.vectors)}; batch ${train.batch_size} = micro-batches of ${microBatchSize} (${train.micro_batch_size === "auto" ? `auto: ${memoryBasis(sizing)}` : "train.micro_batch_size"}) on ${workers} worker${workers > 1 ? "s" : ""}`,
  );
  return { engine, microBatchSize };
}

/** Stage 4: config.resolved.yaml, manifest.json, and metrics.jsonl trimmed to the checkpoint on resume. */
async function writeRunFiles(t: Training, configText: string, started: Date, resumeState: TrainState | null) {
  await writeFileAtomic(join(t.runDir, "config.resolved.yaml"), configText);
  const manifest = {
    tfew_version: TFEW_VERSION,
    backend: t.ws.backend.name,
    backend_reason: t.ws.backend.reason,
    model: t.config.model,
    model_source: t.ws.source.kind,
    model_commit: t.ws.source.commit ?? null,
    model_files: t.ws.source.commit ? null : await hashFiles(t.ws.model.files),
    data_files: await describeDataFiles(t.task.files), // [{ path, format, rows, sha256 }]
    seed: t.config.seed,
    started_at: started.toISOString(),
    ended_at: null as string | null,
    resumed_from_step: resumeState?.step ?? null,
  };
  await writeJson(t.runDir, "manifest.json", manifest);
  // metrics.jsonl is an append log: a fresh run starts it empty; a resume keeps the rows up to the checkpoint
  const keep = { keepThroughStep: resumeState?.step ?? 0 };
  await resetMetricsLog(join(t.runDir, "metrics.jsonl"), keep);
  await trimEventFiles(t.runDir, keep); // the TensorBoard event files likewise; the continued run starts a new one
  return manifest;
}

/** Stage 5: the step loop with logging, GPU sampling, MFU and checkpoints; stops cleanly on a signal. */
async function trainLoop(
  t: Training,
  engine: GradientEngine,
  microBatchSize: number,
  options: TrainOptions,
): Promise<LoopResult> {
  const { config } = t;
  const metrics = createMetricsLog(join(t.runDir, "metrics.jsonl"), { events: true }); // + a TensorBoard event file
  const gpu =
    config.monitor.gpu === "auto"
      ? await startGpuSampler({ intervalMs: config.monitor.interval_ms, onWarning: options.log })
      : null;
  const progress = createProgress({ total: config.train.steps, label: "train", stream: options.progressStream });
  let lastCheckpointStep: number | null = t.step > 0 ? t.step : null;
  const checkpoint = async () => {
    await saveCheckpoint(t.runDir, {
      step: t.step,
      vectors: t.params,
      optimizer: t.optimizer.state(),
      sampler: t.sampler.snapshot(),
      nonfiniteSkipped: t.nonfiniteSkipped,
      configSha: t.configSha,
    });
    lastCheckpointStep = t.step;
  };
  const out: LoopResult = {
    losses: [],
    stepTimes: [],
    tokensTotal: 0,
    lastMfu: null,
    stoppedBy: null,
    gpu,
    wall: 0,
    deviceReads: 0,
    tensorsLeaked: null,
  };
  let tensorsAfterStep2: number | null = null;
  const t0 = performance.now();
  try {
    while (t.step < config.train.steps) {
      out.stoppedBy = options.stopRequested?.() ?? null;
      if (out.stoppedBy !== null) break;
      const tStep = performance.now();
      const batch = t.sampler.next(config.train.batch_size).map((i) => t.examples[i] as TfewExample);
      const lr = learningRateAt(t.step, {
        lr: config.train.lr,
        totalSteps: config.train.steps,
        warmupRatio: config.train.warmup_ratio,
      });
      const result = await engine.compute(batch).catch((error: unknown) => {
        throw asOutOfMemoryError(error, { phase: "train", backend: t.ws.backend.name, size: microBatchSize });
      });
      result.grads = usedGrads(result.grads, t.groups, new Set(batch.map((e) => e.task ?? 0))); // sets of tasks not in the batch: no update
      const { norm } =
        config.train.max_grad_norm === null
          ? { norm: NaN }
          : clipByGlobalNorm(result.grads, config.train.max_grad_norm);
      const problem = applyUpdate(t, result, lr);
      if (problem !== null && !config.train.skip_nonfinite) {
        throw new TfewError(
          `training: non-finite values at step ${t.step + 1} (${problem}); stopped, ${lastCheckpointStep === null ? "no checkpoint had been written yet" : `the last good checkpoint (step ${lastCheckpointStep}) is kept in ${t.runDir}`}; lower train.lr or set train.skip_nonfinite: true`,
        );
      }
      if (problem === null) await engine.setVectors(t.params);
      else {
        t.nonfiniteSkipped++;
        options.log(`warning: step ${t.step + 1} skipped: ${problem} (${t.nonfiniteSkipped} skipped so far)`);
      }
      t.step++;
      const seconds = (performance.now() - tStep) / 1000;
      out.stepTimes.push(seconds);
      out.losses.push(result.losses.total);
      out.tokensTotal += result.tokens;
      out.deviceReads += result.reads;
      if (out.stepTimes.length === 2) tensorsAfterStep2 = tf.memory().numTensors;
      else if (tensorsAfterStep2 !== null) out.tensorsLeaked = tf.memory().numTensors - tensorsAfterStep2;
      await new Promise((r) => setImmediate(r)); // let the GPU sampler, signals and stdout run
      const g = gpu?.latest()[0];
      const peak = resolvePeakFlops({ gpuName: g?.name ?? null, peakTflops: config.monitor.peak_tflops });
      if (peak !== null) {
        // the work this step really did: each micro-batch at its own padded lengths
        const flops = passTokens(batch, microBatchSize).reduce(
          (sum, tokens) => sum + t5StepFlops(t.ws.model.config, tokens, { training: true }),
          0,
        );
        out.lastMfu = mfu(flops, seconds, peak);
      }
      if (t.step % config.train.log_every === 0 || t.step === config.train.steps) {
        const record = {
          step: t.step,
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
          ...(out.lastMfu !== null ? { mfu: out.lastMfu } : {}),
          ...(result.tasks && t.multi ? { tasks: taskRecord(result.tasks, t.multi.names) } : {}),
        };
        metrics.write(record);
        progress.update(t.step, {
          loss: record.loss,
          lr,
          examples_per_s: record.examples_per_s,
          ...(g?.utilizationPct != null ? { gpu_util_pct: g.utilizationPct } : {}),
          ...(g?.memoryUsedMiB != null ? { gpu_mem_mib: g.memoryUsedMiB } : {}),
        });
      }
      if (t.step % config.train.checkpoint_every === 0 || t.step === config.train.steps) await checkpoint();
    }
    if (out.stoppedBy !== null) await checkpoint();
  } finally {
    progress.stop();
    metrics.close();
    await engine.close();
    await gpu?.stop();
  }
  out.wall = (performance.now() - t0) / 1000;
  return out;
}

/** The optimizer update, undone when it would make a vector non-finite; returns what went wrong, or null. */
function applyUpdate(
  t: Training,
  result: { losses: { total: number }; grads: Map<string, Float32Array> },
  lr: number,
): string | null {
  if (!Number.isFinite(result.losses.total)) return `the loss is ${result.losses.total}`;
  if (!allFinite(result.grads)) return "a gradient is not finite";
  const before = t.config.train.skip_nonfinite ? { params: copyVectors(t.params), state: t.optimizer.state() } : null;
  t.optimizer.step(t.params, result.grads, lr);
  if (allFinite(t.params)) return null;
  if (before !== null) {
    for (const [path, v] of before.params) t.params.set(path, v);
    t.optimizer.loadState(before.state);
  }
  return "the update made an (IA)³ vector non-finite";
}

function allFinite(values: ReadonlyMap<string, Float32Array>): boolean {
  for (const v of values.values())
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i] as number)) return false;
  return true;
}

function copyVectors(values: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  return new Map([...values].map(([path, v]) => [path, Float32Array.from(v)]));
}

/** metrics.jsonl's per-task losses: { name: { loss, lm_loss, ul_loss, ln_loss, examples } } for the tasks in the batch. */
function taskRecord(
  tasks: NonNullable<StepGradients["tasks"]>,
  names: readonly string[],
): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [index, { losses, examples }] of tasks)
    out[names[index] ?? String(index)] = {
      loss: losses.total,
      lm_loss: losses.lm,
      ul_loss: losses.ul,
      ln_loss: losses.ln,
      examples,
    };
  return out;
}
