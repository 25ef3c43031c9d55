// The tfew commands behind the CLI: each takes parsed arguments and returns an exit code.
import { existsSync, readdirSync, type Dirent } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { ia3ParameterCount, ia3Specs } from "../adapters/ia3.js";
import { resolveIa3Config } from "../adapters/ia3-config.js";
import { adapterBaseModel } from "../adapters/smear-files.js";
import { loadRunConfig } from "../config/load.js";
import type { RunConfig } from "../config/schema.js";
import type { TaskData } from "../data/task-types.js";
import { loadTokenizer } from "../data/tokenizer.js";
import { isTfewError, TfewError } from "../errors.js";
import { loadAdapter, prepareModel, prepareTask } from "../engine/workspace.js";
import { crossValidate, evaluate, predict, type EvalContext } from "../eval/evaluate.js";
import { scorePairs, type ScorePair } from "../eval/score.js";
import { writeFileAtomic } from "../io/atomic.js";
import { resolveModelSource } from "../io/hub.js";
import { countParameters, readT5Config } from "../model/config.js";
import { linearShapes } from "../model/weights.js";
import { createProgress } from "../monitor/progress.js";
import { runTraining, type TrainSummary } from "../train/run.js";
import { claimRunDir, defaultRunDir, finishedRun, readJson, runPaths } from "../io/run-dir.js";
import { writeEvalEvents } from "../train/run-events.js";
import { evalRunTasks, selectTasks } from "./eval-tasks.js";
import { configFromArgs, log, refuseToReplace, trapSignals, type ConfigArgs } from "./common.js";

export async function trainCommand(args: ConfigArgs & { resume?: string }): Promise<number> {
  let config: RunConfig;
  let runDir: string;
  if (args.resume !== undefined) {
    const resolved = runPaths(args.resume).config;
    if (!existsSync(resolved)) {
      throw new TfewError(
        `resume: ${args.resume} is not a tfew run folder (no config.resolved.yaml; the run stopped before writing it, or the path is wrong); start a new run or fix the path`,
      );
    }
    config = loadRunConfig({ files: [resolved], sets: [] }).config;
    runDir = args.resume;
    const finished = await finishedRun(runDir, { steps: config.train.steps });
    if (finished !== null) {
      process.stdout.write(
        `resume: ${runDir} already finished ${finished.steps} of ${config.train.steps} steps; nothing to do (adapter: ${finished.adapterDir})\n`,
      );
      return 0;
    }
  } else {
    config = configFromArgs(args).config;
    runDir = config.out ?? defaultRunDir();
    await claimRunDir(runDir); // before anything loads: a run is never overwritten
  }
  const signals = trapSignals();
  try {
    const summary = await runTraining({
      config,
      runDir,
      resume: args.resume !== undefined,
      log,
      stopRequested: signals.requested,
    });
    if (summary.stopped_by !== null) {
      log(
        `stopped by ${summary.stopped_by} after step ${summary.steps}; resume with: tfew train --resume ${summary.run_dir}`,
      );
      return summary.stopped_by === "SIGINT" ? 130 : 143;
    }
    process.stdout.write(`${doneLine(summary)}\n`);
    const shownRun = shownPath(summary.run_dir);
    process.stdout.write(
      `curves: tensorboard --logdir ${shownPath(dirname(resolve(summary.run_dir)))}\n        tfew report ${shownRun} --out ${join(shownRun, "report.html")}\n`,
    );
    return 0;
  } finally {
    signals.release();
  }
}

/** `done: 60 steps in 2.5 s on wasm, loss 25.3718 → 0.8713, 237.0 examples/s; adapter: DIR` (parts without values left out). */
function doneLine(summary: TrainSummary): string {
  const parts = [`${summary.steps} steps in ${summary.wall_s.toFixed(1)} s on ${summary.backend}`];
  if (summary.first_loss !== null && summary.final_loss !== null)
    parts.push(`loss ${summary.first_loss.toFixed(4)} → ${summary.final_loss.toFixed(4)}`);
  if (summary.examples_per_s !== null) parts.push(`${summary.examples_per_s.toFixed(1)} examples/s`);
  return `done: ${parts.join(", ")}; adapter: ${summary.adapter_dir}`;
}

/** A path as the user would type it: relative to the current folder when inside it, else absolute. */
function shownPath(path: string): string {
  const rel = relative(process.cwd(), resolve(path));
  return rel === "" ? "." : rel.startsWith("..") || isAbsolute(rel) ? resolve(path) : rel;
}

export interface EvalArgs extends ConfigArgs {
  run?: string;
  adapter?: string;
  model?: string;
  data?: string;
  split: "train" | "test";
  folds?: number;
  output?: string;
  overwrite?: boolean; // replace an existing metrics.json / predictions file
  task?: string; // eval --run of a multi-task run: only this task
}

/** Config and adapter of eval/predict from --run / --adapter / --model (+ --config/--set, --data). */
async function evalSetup(args: EvalArgs): Promise<{ config: RunConfig; adapterDir: string | null }> {
  const sources = [args.run, args.adapter, args.model].filter((s) => s !== undefined).length;
  if (sources === 0) throw new TfewError("eval/predict: give one of --run DIR, --adapter DIR or --model M");
  const sets = [...(args.set ?? [])];
  if (args.data !== undefined) sets.push(`data.path=${args.data}`);
  if (args.backend !== undefined) sets.push(`backend=${args.backend}`);
  let config: RunConfig;
  let adapterDir: string | null = null;
  if (args.run !== undefined) {
    config = loadRunConfig({ files: [runPaths(args.run).config, ...(args.config ?? [])], sets }).config;
    adapterDir = runPaths(args.run).adapter;
  } else {
    if (args.adapter !== undefined) {
      adapterDir = args.adapter;
      if (args.model === undefined) {
        const base = await adapterBaseModel(args.adapter);
        if (base === null)
          throw new TfewError(`eval/predict: the adapter ${args.adapter} names no base model; add --model M`);
        sets.unshift(`model=${base}`);
      }
    }
    if (args.model !== undefined) sets.unshift(`model=${args.model}`);
    config = configFromArgs({ ...args, set: sets, backend: undefined }).config;
  }
  if (args.model !== undefined && args.run !== undefined) config = { ...config, model: args.model };
  return { config, adapterDir };
}

async function evalContext(config: RunConfig): Promise<EvalContext> {
  const workspace = await prepareModel(config, { log });
  const task = await prepareTask(config);
  return { config, workspace, task, log };
}

export async function evalCommand(args: EvalArgs): Promise<number> {
  const { config, adapterDir } = await evalSetup(args);
  const outDir = args.out ?? join("runs", "eval");
  if (args.run !== undefined && config.data.tasks !== null && args.folds === undefined) {
    const names = selectTasks(config, args.task).map((t) => t.name);
    refuseToReplace(
      names.map((name) => join(outDir, name, "metrics.json")),
      { overwrite: args.overwrite === true, command: "eval", other: "another --out folder" },
    );
    return evalRunTasks(config, { run: args.run, task: args.task, split: args.split, out: outDir });
  }
  if (args.task !== undefined)
    throw new TfewError("eval: --task needs --run of a multi-task run (one with data.tasks)");
  if (config.data.tasks !== null && args.folds !== undefined)
    throw new TfewError(
      "eval: --folds cross-validates one task; for a task of data.tasks pass --set data.tasks=null --set data.path=<its path>",
    );
  // cross-validation also trains a run into each fold-K folder: earlier ones are outputs too
  const folds = args.folds === undefined ? [] : foldDirs(outDir);
  refuseToReplace([join(outDir, "metrics.json"), ...folds], {
    overwrite: args.overwrite === true,
    command: "eval",
    other: "another --out folder",
  });
  const ctx = await evalContext(config);
  if (args.folds !== undefined) {
    const trainFold = async (fold: { task: TaskData; runDir: string }) =>
      (
        await runTraining({
          config,
          runDir: fold.runDir,
          resume: false,
          log,
          workspace: ctx.workspace,
          task: fold.task,
        })
      ).adapter_dir;
    const report = await crossValidate(ctx, { folds: args.folds, outDir, trainFold });
    for (const [i, metrics] of report.folds.entries()) {
      const foldDir = join(outDir, `fold-${i + 1}`);
      await writeEvalEvents(foldDir, { step: await runStep(foldDir), metrics });
    }
    process.stdout.write(
      `${args.folds}-fold: accuracy ${report.mean.accuracy.toFixed(4)} ± ${report.std.accuracy.toFixed(4)}, macro-F1 ${report.mean.macro_f1.toFixed(4)} ± ${report.std.macro_f1.toFixed(4)}; ${join(outDir, "metrics.json")}\n`,
    );
    return 0;
  }
  const m = await evaluate(ctx, { adapterDir, split: args.split, outDir });
  // TensorBoard scalars: into the --run folder (beside its training curves) unless --out names another folder
  const eventsDir = args.run !== undefined && args.out === undefined ? args.run : outDir;
  await writeEvalEvents(eventsDir, { step: args.run !== undefined ? await runStep(args.run) : 0, metrics: m }).catch(
    (error: unknown) => {
      if (!isTfewError(error) && typeof (error as NodeJS.ErrnoException).code !== "string") throw error;
      log(
        `warning: eval scalars not added to ${eventsDir}'s TensorBoard events (${(error as Error).message}); metrics.json is written`,
      ); // e.g. a read-only run folder
    },
  );
  process.stdout.write(
    `${ctx.task.name} (${args.split}, n=${m.n}): accuracy ${m.accuracy.toFixed(4)}, macro-F1 ${m.macro_f1.toFixed(4)}; ${join(outDir, "metrics.json")}\n`,
  );
  return 0;
}

/** The fold-K run folders of an earlier cross-validation in `outDir` ([] when there is none). */
function foldDirs(outDir: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(outDir, { withFileTypes: true });
  } catch {
    return []; // no folder yet (or not a folder: the write reports that)
  }
  return entries.filter((e) => e.isDirectory() && /^fold-\d+$/.test(e.name)).map((e) => join(outDir, e.name));
}

/** The last step a run folder's summary.json records (0 when there is none): eval's TensorBoard step. */
async function runStep(runDir: string): Promise<number> {
  const summary = await readJson<{ steps?: unknown }>(runPaths(runDir).summary).catch(() => ({ steps: 0 }));
  return typeof summary.steps === "number" ? summary.steps : 0;
}

export async function predictCommand(args: EvalArgs): Promise<number> {
  const { config, adapterDir } = await evalSetup(args);
  const outFile = args.output ?? "preds.csv";
  refuseToReplace([outFile], {
    overwrite: args.overwrite === true,
    command: "predict",
    other: "another --output file",
  });
  const ctx = await evalContext(config);
  const n = await predict(ctx, { adapterDir, split: args.split, outFile });
  process.stdout.write(`wrote ${n} predictions to ${outFile}\n`);
  return 0;
}

export interface ScoreArgs {
  model?: string;
  run?: string;
  adapter?: string;
  input: string;
  output: string;
  tokenizer?: string;
  backend?: string;
  batchSize: number;
}

/** Model, tokenizer and adapter of `tfew score`: --run DIR (its config's model and its adapter/), or --model / --adapter. */
async function scoreSetup(args: ScoreArgs): Promise<{ config: RunConfig; adapterDir: string | null }> {
  const sets = [
    ...(args.model !== undefined ? [`model=${args.model}`] : []),
    ...(args.tokenizer !== undefined ? [`tokenizer=${args.tokenizer}`] : []),
  ];
  if (args.run !== undefined) {
    if (args.adapter !== undefined)
      throw new TfewError("score: give --run DIR or --adapter DIR, not both (--run uses the run's adapter/)");
    const resolved = runPaths(args.run).config;
    if (!existsSync(resolved))
      throw new TfewError(
        `score: ${args.run} is not a tfew run folder (no config.resolved.yaml); give the folder tfew train wrote, or --model/--adapter`,
      );
    if (args.backend !== undefined) sets.push(`backend=${args.backend}`);
    return { config: loadRunConfig({ files: [resolved], sets }).config, adapterDir: runPaths(args.run).adapter };
  }
  if (args.model === undefined) {
    if (args.adapter === undefined) throw new TfewError("score: give --model M, --adapter DIR or --run DIR");
    const base = await adapterBaseModel(args.adapter);
    if (base === null) throw new TfewError(`score: the adapter ${args.adapter} names no base model; add --model M`);
    sets.unshift(`model=${base}`);
  }
  return {
    config: configFromArgs({ config: undefined, set: sets, backend: args.backend }).config,
    adapterDir: args.adapter ?? null,
  };
}

export async function scoreCommand(args: ScoreArgs): Promise<number> {
  const { config, adapterDir } = await scoreSetup(args);
  const ws = await prepareModel(config, { log });
  let text: string;
  try {
    text = await readFile(args.input, "utf8");
  } catch {
    throw new TfewError(
      `score: cannot read --input ${args.input}; give a JSONL file of {"source": ..., "target": ...} lines`,
    );
  }
  const pairs: ScorePair[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      throw new TfewError(
        `score: line ${i + 1} of ${args.input} is not valid JSON; each line must be {"source": "...", "target": "..."}`,
      );
    }
    const r = row as Partial<ScorePair>;
    if (typeof r.source !== "string" || typeof r.target !== "string") {
      throw new TfewError(`score: line ${i + 1} of ${args.input} needs string fields "source" and "target"`);
    }
    pairs.push({ source: r.source, target: r.target });
  });
  const adapter = await loadAdapter(ws, adapterDir);
  const progress = createProgress({ total: pairs.length, label: "score" });
  const results = await scorePairs(ws, adapter, pairs, {
    batchSize: args.batchSize,
    onBatch: (done) => progress.update(done, {}),
  });
  progress.stop();
  await writeFileAtomic(
    args.output,
    results.map((r) => JSON.stringify(r)).join("\n") + (results.length > 0 ? "\n" : ""),
  );
  process.stdout.write(`scored ${results.length} pairs → ${args.output}\n`);
  return 0;
}

export async function inspectCommand(args: { model: string; revision?: string }): Promise<number> {
  const source = await resolveModelSource(args.model, { revision: args.revision });
  const config = await readT5Config(source.dir);
  const counts = countParameters(config);
  const ia3 = resolveIa3Config(config.modelType, { targetModules: null, feedforwardModules: null });
  const specs = ia3Specs(linearShapes(config), ia3);
  const lines = [
    `model: ${args.model} (${source.kind}) at ${source.dir}`,
    `type: ${config.modelType}, d_model ${config.dModel}, d_kv ${config.dKv}, heads ${config.numHeads}, d_ff ${config.dFf}, layers ${config.numLayers}+${config.numDecoderLayers}, vocab ${config.vocabSize}`,
    `feed-forward: ${config.gatedFfn ? "gated-" : ""}${config.activation}, tied embeddings: ${config.tieWordEmbeddings}, relative buckets ${config.relativeAttentionNumBuckets} (max distance ${config.relativeAttentionMaxDistance}), eps ${config.layerNormEpsilon}`,
    `parameters: ${counts.total.toLocaleString("en-US")} (embedding ${counts.embedding.toLocaleString("en-US")}, encoder ${counts.encoder.toLocaleString("en-US")}, decoder ${counts.decoder.toLocaleString("en-US")}, lm_head ${counts.lmHead.toLocaleString("en-US")})`,
    `(IA)³ default targets ${JSON.stringify(ia3.targetModules)} (feed-forward ${JSON.stringify(ia3.feedforwardModules)}): ${specs.length} vectors, ${ia3ParameterCount(specs).toLocaleString("en-US")} parameters (${((100 * ia3ParameterCount(specs)) / counts.total).toFixed(4)}% of the model)`,
  ];
  try {
    const tok = await loadTokenizer(source.dir);
    lines.push(`tokenizer: tokenizer.json with ${tok.vocabSize} tokens`);
  } catch {
    lines.push("tokenizer: none in the model folder (set tokenizer: in the config)");
  }
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}
