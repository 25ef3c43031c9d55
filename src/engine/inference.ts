// Rank classification over many examples, as eval, predict, score (and Fisher, audit) need it: the eval
// batch is sized for memory from the model's shapes before any kernel runs, and more than one batch on a
// CPU backend is split across a worker pool. Sizes and workers change speed, never the scores.
import { readVectors } from "../adapters/ia3.js";
import type { AdapterVectors } from "../adapters/trainable.js";
import { asOutOfMemoryError } from "../backend/out-of-memory.js";
import { evalBatchSize } from "./memory.js";
import { resolveWorkerCount, startPool } from "./pool.js";
import { rankAll, rankWithPool, type RankInput, type RankResult } from "./rank.js";
import { exampleShapes, sizingOf, type Workspace } from "./workspace.js";

export interface InferenceOptions {
  lengthNorm: number; // eval.length_norm
  choiceChunk: number; // eval.choice_chunk
  batchSize: number; // eval.batch_size: the most examples per forward pass
  workers: number | "auto"; // the config key workers
  onProgress?: (done: number) => void;
  what?: string; // names the examples in a memory error ("eval", "predict", "score")
}

export async function rankExamples(
  ws: Workspace,
  adapter: AdapterVectors | null,
  inputs: readonly RankInput[],
  options: InferenceOptions,
): Promise<RankResult> {
  const backend = ws.backend.name;
  const batchSize = evalBatchSize({
    ...sizingOf(ws),
    batchSize: options.batchSize,
    shapes: exampleShapes(inputs),
    what: options.what ?? "eval",
  });
  const rankOptions = { lengthNorm: options.lengthNorm, choiceChunk: options.choiceChunk, batchSize };
  const workers = resolveWorkerCount(options.workers, { backend, jobs: Math.ceil(inputs.length / batchSize) });
  const oom = (error: unknown) => {
    throw asOutOfMemoryError(error, { phase: "eval", backend, size: batchSize });
  };
  if (workers <= 1 || adapter?.kind === "smear")
    // SMEAR ranks in this thread (workers hold plain vector sets)
    return rankAll(ws.model, adapter, inputs, { ...rankOptions, onBatch: options.onProgress }).catch(oom);
  const pool = await startPool(workers, {
    modelDir: ws.model.dir,
    backend,
    ia3Config: adapter?.config ?? null,
    initial: adapter === null ? null : await readVectors(adapter),
  });
  try {
    return await rankWithPool(pool, inputs, { ...rankOptions, onProgress: options.onProgress }).catch(oom);
  } finally {
    await pool.close();
  }
}
