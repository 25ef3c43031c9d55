// A pool of worker_threads, each with its own tfjs backend, frozen weights and (IA)³ vectors, answering
// jobs: micro-batch gradients, rank-classification scores, Fisher diagonals, new vector values. wasm in Node runs one
// thread, so this is how tfew uses every core. Results come back in job order, never in finishing order.
import { availableParallelism } from "node:os";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Ia3Config } from "../adapters/ia3-config.js";
import { TfewError } from "../errors.js";
import { combineParts, type GradientEngine, type MicroBatchPart } from "./accumulate.js";
import { batchNormalizers, splitMicroBatches, type TfewExample } from "./batch.js";
import type { FisherSettings } from "./fisher-settings.js";
import type { LossSettings } from "./gradients.js";
import type { LossNormalizers } from "./losses.js";
import type { RankInput, RankOptions, RankResult } from "./rank.js";

export interface WorkerInit {
  modelDir: string;
  backend: string;
  ia3Config: Ia3Config | null; // null: no adapter (zero-shot eval)
  initial: ReadonlyMap<string, Float32Array> | null; // by module path; with `tasks`, by "<task>/<path>"
  tasks?: string[]; // multi-task runs: one vector set per task name, examples routed by their task index
}

export type WorkerJob =
  | { kind: "gradients"; microBatches: TfewExample[][]; normalizers: LossNormalizers; settings: LossSettings }
  | { kind: "rank"; inputs: RankInput[]; options: RankOptions & { batchSize: number } }
  | { kind: "set-vectors"; values: Map<string, Float32Array> }
  | { kind: "fisher"; blocks: TfewExample[][]; settings: FisherSettings };

export type WorkerReply =
  | { kind: "ready" }
  | { kind: "gradients"; parts: MicroBatchPart[] }
  | { kind: "rank"; result: RankResult }
  | { kind: "fisher"; sums: Map<string, Float64Array>[] } // per block, Σ of its examples' Fisher terms
  | { kind: "done" }
  | { kind: "error"; message: string; tfew: boolean };

/** workers (the config key) → a count: auto = cores on CPU backends (1 on native/GPU backends, which parallelize inside), never more than there are jobs. */
export function resolveWorkerCount(setting: number | "auto", options: { backend: string; jobs: number }): number {
  const cpuBackend = options.backend === "wasm" || options.backend === "cpu";
  if (!cpuBackend) return 1;
  const wanted = setting === "auto" ? availableParallelism() : setting;
  return Math.max(1, Math.min(wanted, options.jobs));
}

/** The compiled worker entry (dist/engine/worker-main.js), also when running from TypeScript sources in tests. */
export function workerEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const js = here.endsWith(".ts")
    ? here.replace(/[\\/]src[\\/]engine[\\/]pool\.ts$/, "/dist/engine/worker-main.js")
    : here.replace(/pool\.js$/, "worker-main.js");
  if (!existsSync(js)) throw new TfewError(`workers: ${js} is missing; run npm run build (or set workers: 1)`);
  return js;
}

class WorkerHandle {
  private pending: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void } | null = null;
  constructor(readonly worker: Worker) {
    worker.on("message", (reply: WorkerReply) => {
      const p = this.pending;
      this.pending = null;
      if (p === null) return;
      if (reply.kind === "error") p.reject(reply.tfew ? new TfewError(reply.message) : new Error(reply.message));
      else p.resolve(reply);
    });
    worker.on("error", (error) => {
      const p = this.pending;
      this.pending = null;
      p?.reject(error instanceof Error ? error : new Error(String(error)));
    });
  }

  request(message: WorkerJob | { kind: "init"; init: WorkerInit }): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(message);
    });
  }
}

export interface WorkerPool {
  readonly size: number;
  /** Deals the items to the workers in contiguous shares (in order) and returns each share's reply in order. */
  map<T, R>(
    items: readonly T[],
    job: (share: T[]) => WorkerJob,
    read: (reply: WorkerReply) => R,
    onShare?: (done: number) => void,
  ): Promise<R[]>;
  broadcast(job: WorkerJob): Promise<void>;
  close(): Promise<void>;
}

/** Starts `count` workers and waits until each has loaded its backend, weights and vectors. */
export async function startPool(count: number, init: WorkerInit): Promise<WorkerPool> {
  const entry = workerEntry();
  const handles = Array.from({ length: count }, () => new WorkerHandle(new Worker(entry)));
  const close = async () => void (await Promise.all(handles.map((h) => h.worker.terminate())));
  try {
    await Promise.all(handles.map((h) => h.request({ kind: "init", init })));
  } catch (error) {
    await close();
    throw error;
  }
  return {
    size: count,
    async map(items, job, read, onShare) {
      const per = Math.ceil(items.length / handles.length);
      let done = 0;
      const shares = handles.map((_, i) => items.slice(i * per, (i + 1) * per)).filter((s) => s.length > 0);
      return Promise.all(
        shares.map(async (share, i) => {
          const result = read(await (handles[i] as WorkerHandle).request(job(share)));
          done += share.length;
          onShare?.(done);
          return result;
        }),
      );
    },
    async broadcast(job) {
      await Promise.all(handles.map((h) => h.request(job)));
    },
    close,
  };
}

function expect<K extends WorkerReply["kind"]>(kind: K): (reply: WorkerReply) => Extract<WorkerReply, { kind: K }> {
  return (reply) => {
    if (reply.kind !== kind) throw new Error(`worker answered ${reply.kind}, expected ${kind}`);
    return reply as Extract<WorkerReply, { kind: K }>;
  };
}

/** Rank classification split across the pool: contiguous shards of the examples, results in input order. */
export async function rankWithPool(
  pool: WorkerPool,
  inputs: readonly RankInput[],
  options: RankOptions & { batchSize: number; onProgress?: (done: number) => void },
): Promise<RankResult> {
  const { onProgress, ...plain } = options;
  const parts = await pool.map(
    inputs,
    (share) => ({ kind: "rank", inputs: share, options: plain }),
    (r) => expect("rank")(r).result,
    onProgress,
  );
  return {
    scores: parts.flatMap((p) => p.scores),
    nllSums: parts.flatMap((p) => p.nllSums),
    predictions: parts.flatMap((p) => p.predictions),
  };
}

/**
 * Training on the pool: a step's examples are split into micro-batches of exactly microBatchSize (never
 * resized for the worker count), dealt to the workers in contiguous shares, and their parts summed in order.
 */
export function createWorkerEngine(
  pool: WorkerPool,
  options: { microBatchSize: number; settings: LossSettings },
): GradientEngine {
  return {
    microBatchSize: options.microBatchSize,
    workers: pool.size,
    async compute(examples) {
      const normalizers = batchNormalizers(examples);
      const micro = splitMicroBatches(examples, options.microBatchSize);
      const replies = await pool.map(
        micro,
        (share) => ({ kind: "gradients", microBatches: share, normalizers, settings: options.settings }),
        (r) => expect("gradients")(r).parts,
      );
      return combineParts(replies.flat(), normalizers, options.settings, examples);
    },
    setVectors: (values) => pool.broadcast({ kind: "set-vectors", values: new Map(values) }),
    close: () => pool.close(),
  };
}
