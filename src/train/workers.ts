// Data-parallel training on every core: worker_threads, each with its own tfjs backend and frozen weights,
// each computing the gradients of its share of the micro-batches; the main thread averages the (IA)³
// gradients (tiny) weighted by example counts. wasm in Node runs one thread, so this is how tfew uses all cores.
import { availableParallelism } from "node:os";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Ia3Config } from "../adapters/ia3-config.js";
import type { RankInput, RankOptions, RankResult } from "../eval/rank.js";
import { TfewError } from "../errors.js";
import { splitMicroBatches, type TfewExample } from "./batch.js";
import { GradientAccumulator, type GradientEngine, type StepGradients } from "./engine.js";
import type { LossSettings } from "./step.js";

export interface WorkerInit {
  modelDir: string;
  backend: string;
  ia3Config: Ia3Config | null; // null: no adapter (zero-shot eval)
  settings: LossSettings;
  initial: ReadonlyMap<string, Float32Array> | null;
}

export type WorkerRequest =
  | { kind: "compute"; microBatches: TfewExample[][] }
  | { kind: "set-vectors"; values: Map<string, Float32Array> }
  | { kind: "rank"; inputs: RankInput[]; options: RankOptions & { batchSize: number } };

export type WorkerReply =
  | { kind: "ready" }
  | { kind: "result"; result: StepGradients }
  | { kind: "ranked"; result: RankResult }
  | { kind: "done" }
  | { kind: "error"; message: string; tfew: boolean };

/** train.workers → a count: auto = cores on CPU backends (1 on native/GPU backends, which parallelize inside). */
export function resolveWorkerCount(setting: number | "auto", options: { backend: string; batchSize: number; microBatchSize: number }): number {
  const cpuBackend = options.backend === "wasm" || options.backend === "cpu";
  const wanted = setting === "auto" ? (cpuBackend ? availableParallelism() : 1) : setting;
  const microBatches = Math.ceil(options.batchSize / options.microBatchSize);
  return Math.max(1, Math.min(wanted, cpuBackend ? Math.max(microBatches, Math.min(wanted, options.batchSize)) : 1));
}

/** The compiled worker entry (dist/train/worker-main.js), also when running from TypeScript sources in tests. */
export function workerEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const js = here.endsWith(".ts") ? here.replace(/[\\/]src[\\/]train[\\/]workers\.ts$/, "/dist/train/worker-main.js") : here.replace(/workers\.js$/, "worker-main.js");
  if (!existsSync(js)) throw new TfewError(`workers: ${js} is missing; run npm run build (or set train.workers: 1)`);
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

  request(message: WorkerRequest | { kind: "init"; init: WorkerInit } | null): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      if (message !== null) this.worker.postMessage(message);
    });
  }
}

/** Starts `count` workers and waits until each has loaded its backend, weights and vectors. */
async function startWorkers(count: number, init: WorkerInit): Promise<WorkerHandle[]> {
  const entry = workerEntry();
  const handles = Array.from({ length: count }, () => new WorkerHandle(new Worker(entry)));
  try {
    await Promise.all(handles.map((h) => h.request({ kind: "init", init })));
  } catch (error) {
    await Promise.all(handles.map((h) => h.worker.terminate()));
    throw error;
  }
  return handles;
}

export interface RankWorkers {
  readonly workers: number;
  rank(inputs: readonly RankInput[], options: RankOptions & { batchSize: number; onProgress?: (done: number) => void }): Promise<RankResult>;
  close(): Promise<void>;
}

/** Rank classification split across workers: contiguous shards of the examples, results in input order. */
export async function createRankWorkers(options: Omit<WorkerInit, "settings"> & { workers: number }): Promise<RankWorkers> {
  const handles = await startWorkers(options.workers, { ...options, settings: { lengthNorm: 1, ulWeight: 0, lnWeight: 0 } });
  return {
    workers: options.workers,
    async rank(inputs, rankOptions) {
      const { onProgress, ...plain } = rankOptions;
      const per = Math.ceil(inputs.length / handles.length);
      let done = 0;
      const parts = await Promise.all(
        handles.map(async (h, i) => {
          const shard = inputs.slice(i * per, (i + 1) * per);
          if (shard.length === 0) return { scores: [], nllSums: [], predictions: [] } as RankResult;
          const reply = await h.request({ kind: "rank", inputs: shard, options: plain });
          done += shard.length;
          onProgress?.(done);
          return (reply as Extract<WorkerReply, { kind: "ranked" }>).result;
        }),
      );
      return { scores: parts.flatMap((p) => p.scores), nllSums: parts.flatMap((p) => p.nllSums), predictions: parts.flatMap((p) => p.predictions) };
    },
    async close() {
      await Promise.all(handles.map((h) => h.worker.terminate()));
    },
  };
}

/**
 * Splits a step's examples into micro-batches (of at most microBatchSize), deals them to the workers in
 * contiguous shares, and combines their example-weighted results.
 */
export async function createWorkerEngine(options: WorkerInit & { workers: number; microBatchSize: number }): Promise<GradientEngine> {
  const { workers: _workers, microBatchSize: _microBatchSize, ...init } = options;
  const handles = await startWorkers(options.workers, init);
  return {
    microBatchSize: options.microBatchSize,
    workers: options.workers,
    async compute(examples) {
      const micro = splitMicroBatches(examples, Math.min(options.microBatchSize, Math.ceil(examples.length / handles.length)));
      const perWorker = Math.ceil(micro.length / handles.length);
      const shares = handles.map((_, i) => micro.slice(i * perWorker, (i + 1) * perWorker)).filter((s) => s.length > 0);
      const replies = await Promise.all(shares.map((share, i) => (handles[i] as WorkerHandle).request({ kind: "compute", microBatches: share })));
      const acc = new GradientAccumulator();
      for (const reply of replies) if (reply.kind === "result") acc.add(reply.result);
      return acc.result();
    },
    async setVectors(values) {
      const copy = new Map(values);
      await Promise.all(handles.map((h) => h.request({ kind: "set-vectors", values: copy })));
    },
    async close() {
      await Promise.all(handles.map((h) => h.worker.terminate()));
    },
  };
}
