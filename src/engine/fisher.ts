// Diagonal Fisher of an adapter's (IA)³ vectors under the model's own rank-classification distribution
// p(c|x) = softmax_c(−score_c) (Matena & Raffel 2022 §2; scores as in losses.ts choiceScores).
import { readPacked } from "../backend/reads.js";
import { tf } from "../backend/tf.js";
import { readVectors, toScales, type Ia3VectorSet } from "../adapters/ia3.js";
import { TfewError } from "../errors.js";
import type { T5Model } from "../model/t5.js";
import { makeBatch, splitMicroBatches, type TfewExample } from "./batch.js";
import { softmaxOfNegated } from "./choice-probabilities.js";
import type { FisherSettings } from "./fisher-settings.js";
import { choiceTokenNll } from "./gradients.js";
import { choiceScores } from "./losses.js";
import { trainMicroBatchSize } from "./memory.js";
import { resolveWorkerCount, startPool, type WorkerJob, type WorkerPool } from "./pool.js";
import { sizingOf, type Workspace } from "./workspace.js";

/** Examples per summed block: fixed, so that the worker count never changes the order of additions. */
export const FISHER_BLOCK = 4;

type Grads = Map<string, Float32Array>;

/** Runs `f` (a scalar of the set's vectors) forward and backward; its value and gradient by module path (one read). */
async function valueAndGrads(set: Ia3VectorSet, f: () => tf.Scalar): Promise<{ value: number; grads: Grads }> {
  const varList = set.specs.map((s) => set.variables.get(s.path) as tf.Variable);
  const kept = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(f, varList);
    return [value, ...varList.map((v) => grads[v.name] as tf.Tensor)];
  });
  try {
    const [value, ...grads] = await readPacked(kept);
    const out: Grads = new Map();
    set.specs.forEach((spec, i) => out.set(spec.path, grads[i] as Float32Array));
    return { value: (value as Float32Array)[0] as number, grads: out };
  } finally {
    tf.dispose(kept);
  }
}

/** score_c and ∇score_c of one choice, decoded alone (the encoder runs again for each choice). */
function choiceScoreGradient(
  model: T5Model,
  set: Ia3VectorSet,
  example: TfewExample,
  choice: number,
  lengthNorm: number,
): Promise<{ value: number; grads: Grads }> {
  const ids = { padId: model.config.padTokenId, decoderStartId: model.config.decoderStartTokenId };
  const batch = makeBatch(
    [{ inputIds: example.inputIds, choices: [example.choices[choice] as number[]], label: 0 }],
    ids,
  );
  return valueAndGrads(set, () => {
    const { tokenNll, targetMask } = choiceTokenNll(model, batch, toScales(set));
    return choiceScores(tokenNll, targetMask, lengthNorm).sum() as tf.Scalar; // [1, 1] → scalar
  });
}

/** log p(y|x) of the gold label with every choice decoded in one pass, and its gradient. */
function goldLogProbGradient(
  model: T5Model,
  set: Ia3VectorSet,
  example: TfewExample,
  lengthNorm: number,
): Promise<{ value: number; grads: Grads }> {
  const ids = { padId: model.config.padTokenId, decoderStartId: model.config.decoderStartTokenId };
  const batch = makeBatch([example], ids);
  return valueAndGrads(set, () => {
    const { tokenNll, targetMask } = choiceTokenNll(model, batch, toScales(set));
    const logp = tf.logSoftmax(choiceScores(tokenNll, targetMask, lengthNorm).neg()); // [1, choices]
    return logp.slice([0, example.label], [1, 1]).sum() as tf.Scalar;
  });
}

/**
 * One example's term, in float64. With g_c = ∇score_c and p = softmax(−score), ∇log p(c|x) = −(g_c − ḡ),
 * ḡ = Σ_k p_k g_k; model: Σ_c p_c (g_c − ḡ)² (one gradient per choice); empirical: (∇log p(y|x))².
 */
export async function exampleFisher(
  model: T5Model,
  set: Ia3VectorSet,
  example: TfewExample,
  settings: FisherSettings,
): Promise<Map<string, Float64Array>> {
  const out = new Map<string, Float64Array>();
  if (settings.kind === "empirical") {
    if (!(example.label >= 0 && example.label < example.choices.length))
      throw new TfewError(
        `fisher: an example has no gold label; --fisher empirical needs labelled data (or use --fisher model)`,
      );
    for (const [path, g] of (await goldLogProbGradient(model, set, example, settings.lengthNorm)).grads)
      out.set(
        path,
        Float64Array.from(g, (x) => x * x),
      );
    return out;
  }
  const perChoice: { value: number; grads: Grads }[] = [];
  for (let c = 0; c < example.choices.length; c++)
    perChoice.push(await choiceScoreGradient(model, set, example, c, settings.lengthNorm));
  const p = softmaxOfNegated(perChoice.map((r) => r.value));
  for (const spec of set.specs) {
    const gs = perChoice.map((r) => r.grads.get(spec.path) as Float32Array);
    const n = (gs[0] as Float32Array).length;
    const acc = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let mean = 0;
      gs.forEach((g, c) => (mean += (p[c] as number) * (g[j] as number)));
      let sum = 0;
      gs.forEach((g, c) => (sum += (p[c] as number) * ((g[j] as number) - mean) ** 2));
      acc[j] = sum;
    }
    out.set(spec.path, acc);
  }
  return out;
}

/** Σ of the example terms of each block, in example order (what a worker sends back). */
export async function fisherBlockSums(
  model: T5Model,
  set: Ia3VectorSet,
  blocks: readonly TfewExample[][],
  settings: FisherSettings,
): Promise<Map<string, Float64Array>[]> {
  const out: Map<string, Float64Array>[] = [];
  for (const block of blocks) {
    const sum = new Map<string, Float64Array>();
    for (const example of block) {
      for (const [path, term] of await exampleFisher(model, set, example, settings)) {
        const acc = sum.get(path);
        if (acc === undefined) sum.set(path, term);
        else for (let j = 0; j < acc.length; j++) acc[j] = (acc[j] as number) + (term[j] as number);
      }
    }
    out.push(sum);
  }
  return out;
}

/** F = (1/N) Σ blocks, added in block order in float64, rounded once to float32. */
export function combineFisherBlocks(
  blocks: readonly Map<string, Float64Array>[],
  examples: number,
): Map<string, Float32Array> {
  const first = blocks[0];
  if (first === undefined) throw new Error("combineFisherBlocks: no blocks");
  const out = new Map<string, Float32Array>();
  for (const path of first.keys()) {
    const acc = new Float64Array((first.get(path) as Float64Array).length);
    for (const block of blocks) {
      const v = block.get(path) as Float64Array;
      for (let j = 0; j < acc.length; j++) acc[j] = (acc[j] as number) + (v[j] as number);
    }
    out.set(
      path,
      Float32Array.from(acc, (x) => x / examples),
    );
  }
  return out;
}

export interface FisherOptions extends FisherSettings {
  workers: number | "auto"; // the config key workers
  onProgress?: (done: number) => void; // examples done
}

/**
 * The adapter's diagonal Fisher on `examples`: one example at a time (the square is per example), in fixed
 * blocks of FISHER_BLOCK dealt to a worker pool on CPU backends; the same bytes for any worker count.
 */
export async function computeFisher(
  ws: Pick<Workspace, "backend" | "model" | "deviceFreeBytes">,
  set: Ia3VectorSet,
  examples: readonly TfewExample[],
  options: FisherOptions,
): Promise<Map<string, Float32Array>> {
  if (examples.length === 0)
    throw new TfewError("fisher: no examples to compute the Fisher on; give --data with labelled rows");
  const backend = ws.backend.name;
  // the memory sizing of training: each pass holds one example (model kind: one choice) and its tape
  const shapes = examples.map((e) => ({
    srcLen: e.inputIds.length,
    numChoices: options.kind === "model" ? 1 : e.choices.length,
    tgtLen: Math.max(...e.choices.map((c) => c.length)),
  }));
  trainMicroBatchSize({ ...sizingOf(ws), batchSize: 1, shapes, what: "fisher" });
  const settings: FisherSettings = { kind: options.kind, lengthNorm: options.lengthNorm };
  const blocks = splitMicroBatches(examples, FISHER_BLOCK);
  const workers = resolveWorkerCount(options.workers, { backend, jobs: blocks.length });
  let sums: Map<string, Float64Array>[];
  if (workers <= 1) {
    sums = [];
    for (const [i, block] of blocks.entries()) {
      sums.push(...(await fisherBlockSums(ws.model, set, [block], settings)));
      options.onProgress?.(Math.min((i + 1) * FISHER_BLOCK, examples.length));
      await new Promise((r) => setImmediate(r));
    }
  } else {
    const pool = await startPool(workers, {
      modelDir: ws.model.dir,
      backend,
      ia3Config: set.config,
      initial: await readVectors(set),
    });
    try {
      sums = await fisherWithPool(pool, blocks, settings, options.onProgress);
    } finally {
      await pool.close();
    }
  }
  return combineFisherBlocks(sums, examples.length);
}

/** The Fisher job: a worker's share of the blocks, each block's Σ of its examples' Fisher terms (in order). */
export const fisherJob: WorkerJob<{ blocks: TfewExample[][]; settings: FisherSettings }, Map<string, Float64Array>[]> =
  {
    kind: "fisher",
    run: (state, r) => {
      if (state.vectors?.kind !== "set") throw new Error("fisher job: the worker holds no single (IA)³ vector set");
      return fisherBlockSums(state.model, state.vectors, r.blocks, r.settings);
    },
  };

async function fisherWithPool(
  pool: WorkerPool,
  blocks: TfewExample[][],
  settings: FisherSettings,
  onProgress?: (done: number) => void,
): Promise<Map<string, Float64Array>[]> {
  const total = blocks.reduce((n, b) => n + b.length, 0);
  const parts = await pool.map(
    blocks,
    fisherJob,
    (share) => ({ blocks: share, settings }),
    (done) => onProgress?.(Math.min(done * FISHER_BLOCK, total)),
  );
  return parts.flat();
}
