// The setup stages of `tfew train` (train/run.ts): open the run folder (and the checkpoint to resume from), set
// up task, model, examples, vectors, optimizer and sampler, and start the gradient engine (local or a pool).
import { resolveIa3Config, type Ia3Config } from "../adapters/ia3-config.js";
import { assignTrained, readTrained, type TrainedVectors } from "../adapters/trainable.js";
import { configToYaml, legacyConfigYaml } from "../config/load.js";
import type { RunConfig } from "../config/schema.js";
import type { TaskData } from "../data/task-types.js";
import { createLocalEngine, createWorkerEngine, type GradientEngine } from "../engine/accumulate.js";
import type { TfewExample } from "../engine/batch.js";
import { memoryBasis, trainMicroBatchSize } from "../engine/memory.js";
import { resolveWorkerCount, startPool } from "../engine/pool.js";
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
import { ensureRunDir, removeTempFiles, runPaths, sha256Text } from "../io/run-dir.js";
import type { TrainState } from "./checkpoint.js";
import { trainLossWeights } from "./loss-weights.js";
import { readMetricsLog, readPreviousManifest, resumeCheckpoint, type PreviousManifest } from "./resume.js";
import type { Optimizer } from "./optimizer.js";
import { createSetOptimizer, type ParamGroup } from "./set-optimizers.js";
import { prepareTasks, taskExamples, type TrainingTasks } from "./tasks.js";
import { createTrainedVectors, describeVectors, paramGroups } from "./vectors.js";

export interface TrainOptions {
  config: RunConfig;
  runDir: string;
  resume: boolean; // continue from runDir/checkpoint.safetensors
  /** on resume: the run's config.resolved.yaml as recorded (`config` may differ in resume-only keys: backend...) */
  recordedConfig?: RunConfig;
  /** on resume: train on although a data or model file changed since the manifest (the change is recorded) */
  acceptChangedInputs?: boolean;
  log: (line: string) => void; // one-line messages (stderr)
  progressStream?: NodeJS.WriteStream;
  /** polled between steps: a signal name stops the run after a checkpoint */
  stopRequested?: () => "SIGINT" | "SIGTERM" | null;
  workspace?: Workspace; // already-loaded backend/model/tokenizer (cross-validation reuses one)
  task?: TaskData; // already-loaded task (cross-validation passes its folds)
}

/** The opened run folder: its resolved config and (on --resume) the checkpoint to continue from. */
export interface OpenedRun {
  runDir: string;
  configText: string;
  configSha: string;
  resumeState: TrainState | null;
  previousManifest: PreviousManifest | null; // on resume: manifest.json before this session
  firstLoss: number | null; // on resume: the loss of the run's step 1
}

/** Everything the step loop works on. */
export interface Training {
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
  lastCheckpointStep: number | null; // the step of the checkpoint on disk (null: none yet)
  configSha: string;
  firstLoss: number | null; // the loss of the run's step 1 (null until it ran)
  lossWeights: { ul: number; ln: number }; // train.ul_weight / ln_weight, 0 for a run of generative tasks
}

/** Stage 1: the run folder, the resolved config and (on --resume) the checkpoint to continue from. */
export async function openRun(options: TrainOptions): Promise<OpenedRun> {
  const runDir = await ensureRunDir(options.runDir);
  const recorded = options.recordedConfig ?? options.config; // what config.resolved.yaml holds and checkpoints name
  const configText = configToYaml(recorded);
  const configSha = sha256Text(configText);
  const fresh = { runDir, configText, configSha, resumeState: null, previousManifest: null, firstLoss: null };
  if (!options.resume) return fresh;
  await removeTempFiles(runDir); // temp files of writes a kill interrupted
  const previousManifest = await readPreviousManifest(runDir, {
    acceptChanged: options.acceptChangedInputs === true,
    log: options.log,
  });
  const resumeState = await resumeCheckpoint(runDir, recorded, options.log);
  if (resumeState === null) return { ...fresh, previousManifest };
  // a run folder of an older tfew holds train.workers; its checkpoint has the sha of that text
  if (resumeState.configSha !== configSha && resumeState.configSha !== sha256Text(legacyConfigYaml(recorded))) {
    throw new TfewError(
      `resume: ${runPaths(runDir).config} differs from the config this checkpoint was written with; resume with the run's own config`,
    );
  }
  const firstLoss = resumeState.firstLoss ?? (await readMetricsLog(runPaths(runDir).metrics)).firstLoss;
  return { runDir, configText, configSha, resumeState, previousManifest, firstLoss };
}

/** Stage 2: task (cheap, fails fast on bad data), model, examples, vectors, optimizer, sampler; resume state applied. */
export async function setUp(options: TrainOptions, run: OpenedRun): Promise<Training> {
  const { config, log } = options;
  const multi = config.data.tasks === null ? null : await prepareTasks(config);
  const task = multi?.tasks[0] ?? options.task ?? (await prepareTask(config));
  if (task.train.length === 0) throw new TfewError(`data: ${config.data.path} has no labelled training examples`);
  const named = multi ? multi.tasks.map((one, i) => ({ name: multi.names[i] as string, task: one })) : [];
  const lossWeights = trainLossWeights(config, multi ? named : [{ name: task.name, task }], log);
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
    lastCheckpointStep: null,
    configSha: run.configSha,
    firstLoss: run.firstLoss,
    lossWeights,
  };
  if (state !== null) {
    for (const [path, v] of state.vectors) params.set(path, v);
    optimizer.loadState(state.optimizer);
    t.step = state.step;
    t.nonfiniteSkipped = state.nonfiniteSkipped;
    t.lastCheckpointStep = state.step > 0 ? state.step : null;
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
  const { examples, truncated, truncatedTargets } = buildExamples(task, task.train, ws.tokenizer, config);
  if (truncated > 0)
    log(
      `warning: ${truncated} of ${examples.length} training prompts were longer than data.max_seq_len=${config.data.max_seq_len} tokens and had their text fields cut`,
    );
  if (truncatedTargets > 0)
    log(
      `warning: ${truncatedTargets} of ${examples.length} training targets were cut to data.max_choice_len=${config.data.max_choice_len} tokens`,
    );
  return { examples, sizes: [examples.length] };
}

/** Stage 3: micro-batch size (memory only, never the core count), worker count, and the engine. */
export async function startEngine(t: Training, log: (line: string) => void): Promise<GradientEngine> {
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
  const workers =
    t.vectors.kind === "smear"
      ? 1 // SMEAR trains in this thread (workers hold plain vector sets)
      : resolveWorkerCount(t.config.workers, { backend, jobs: Math.ceil(train.batch_size / microBatchSize) });
  const settings = { lengthNorm: train.length_norm, ulWeight: t.lossWeights.ul, lnWeight: t.lossWeights.ln };
  const engine =
    workers > 1
      ? createWorkerEngine(
          await startPool(workers, {
            modelDir: t.ws.model.dir,
            backend,
            ia3Config: t.ia3Config,
            initial: t.params,
            ...(t.vectors.kind === "tasks" ? { tasks: t.vectors.sets.map((s) => s.name) } : {}),
          }),
          { microBatchSize, settings },
        )
      : createLocalEngine(t.ws.model, t.vectors, settings, microBatchSize);
  const tasks = t.multi
    ? `${t.multi.names.length} tasks (${t.multi.names.join(", ")}; routing: ${t.config.adapter.routing}), `
    : "";
  log(
    `train: ${tasks}${t.examples.length} examples, ${t.task.targetField !== undefined ? "free-text targets" : `${t.task.labelNames.length} choices`}, ${describeVectors(t.vectors)}; batch ${train.batch_size} = micro-batches of ${microBatchSize} (${train.micro_batch_size === "auto" ? `auto: ${memoryBasis(sizing)}` : "train.micro_batch_size"}) on ${workers} worker${workers > 1 ? "s" : ""}`,
  );
  return engine;
}
