// Out-of-fold probabilities p(label | x): K fold adapters, each trained with the run's recipe on the other folds
// (train/run.ts runTraining) and scoring its held-out fold by rank classification; p = softmax(−normalized NLL).
// Everything is cached in cacheDir: a fold with probabilities.json is not recomputed, a trained adapter not
// retrained, and a fold killed mid-training resumes from its checkpoint.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { disposeVectorSet } from "../adapters/ia3.js";
import type { RunConfig } from "../config/schema.js";
import type { TaskData } from "../data/task-types.js";
import { TfewError } from "../errors.js";
import { rankExamples } from "../engine/inference.js";
import { buildExamples, loadAdapterSet, type Workspace } from "../engine/workspace.js";
import { kFolds } from "../eval/evaluate.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { finishedSummary, readJsonOrNull, runPaths } from "../io/run-dir.js";
import { runTraining } from "../train/run.js";
import { softmaxOfNegated } from "./confident.js";

export interface OutOfFoldContext {
  config: RunConfig;
  task: TaskData;
  /** Loaded on first need: a fully cached audit never loads the model. */
  workspace: () => Promise<Workspace>;
  log: (line: string) => void;
  progressStream?: NodeJS.WriteStream;
}

export interface OutOfFold {
  /** Per labelled example, in task order: its fold (0-based) and p over the labels. */
  fold: number[];
  probs: number[][];
  /** Folds whose probabilities came from the cache. */
  reusedFolds: number;
}

interface FoldFile {
  ids: string[];
  probs: number[][];
}

async function readFoldFile(path: string, ids: string[]): Promise<number[][] | undefined> {
  const saved = await readJsonOrNull<FoldFile>(path); // missing or unreadable cache: recompute
  return saved !== null && JSON.stringify(saved.ids) === JSON.stringify(ids) ? saved.probs : undefined;
}

/** Trains (or reuses) the adapter of one fold and returns p(label | x) for its held-out examples. */
async function foldProbabilities(
  ctx: OutOfFoldContext,
  foldDir: string,
  trainIdx: number[],
  heldIdx: number[],
): Promise<number[][]> {
  const rows = ctx.task.train;
  const ws = await ctx.workspace();
  const run = runPaths(foldDir);
  if ((await finishedSummary(foldDir)) === null) {
    await runTraining({
      config: ctx.config,
      runDir: foldDir,
      resume: existsSync(run.checkpoint),
      log: ctx.log,
      progressStream: ctx.progressStream,
      workspace: ws,
      task: { ...ctx.task, train: trainIdx.map((i) => rows[i] as (typeof rows)[number]) },
    });
  }
  const adapter = await loadAdapterSet(ws, run.adapter);
  try {
    const held = heldIdx.map((i) => rows[i] as (typeof rows)[number]);
    const { examples } = buildExamples(ctx.task, held, ws.tokenizer, ctx.config);
    const { eval: e } = ctx.config;
    const ranked = await rankExamples(ws, adapter, examples, {
      lengthNorm: e.length_norm,
      choiceChunk: e.choice_chunk,
      batchSize: e.batch_size,
      workers: ctx.config.workers,
      what: "audit",
    });
    return ranked.scores.map((s) => softmaxOfNegated(s));
  } finally {
    if (adapter !== null) disposeVectorSet(adapter);
  }
}

/** p(label | x) for every labelled example from the adapter of the fold that did not see it. */
export async function outOfFoldProbabilities(
  ctx: OutOfFoldContext,
  options: { folds: number; cacheDir: string },
): Promise<OutOfFold> {
  const rows = ctx.task.train;
  if (rows.length === 0)
    throw new TfewError(`audit: ${ctx.config.data.path} has no labelled examples; give data with labels`);
  const folds = kFolds(rows.length, options.folds, ctx.config.seed);
  const fold = new Array<number>(rows.length).fill(-1);
  const probs = new Array<number[]>(rows.length);
  let reusedFolds = 0;
  for (let f = 0; f < folds.length; f++) {
    const heldIdx = folds[f] as number[];
    const held = new Set(heldIdx);
    const trainIdx = rows.map((_, i) => i).filter((i) => !held.has(i));
    const foldDir = join(options.cacheDir, `fold-${f + 1}`);
    const ids = heldIdx.map((i) => (rows[i] as (typeof rows)[number]).id);
    let p = await readFoldFile(join(foldDir, "probabilities.json"), ids);
    if (p === undefined) {
      ctx.log(
        `audit fold ${f + 1}/${folds.length}: train on ${trainIdx.length}, score ${heldIdx.length} held-out examples`,
      );
      p = await foldProbabilities(ctx, foldDir, trainIdx, heldIdx);
      await writeJsonAtomic(join(foldDir, "probabilities.json"), { ids, probs: p } satisfies FoldFile);
    } else {
      reusedFolds++;
      ctx.log(`audit fold ${f + 1}/${folds.length}: probabilities reused from ${foldDir}`);
    }
    heldIdx.forEach((i, k) => {
      fold[i] = f;
      probs[i] = p[k] as number[];
    });
  }
  return { fold, probs, reusedFolds };
}
