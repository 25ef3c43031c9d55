// A pool of worker_threads, each with its own tfjs backend, frozen weights and (IA)³ vectors. It only ships the
// requests and replies of jobs, each defined beside its code (gradients and new vector values: accumulate.ts,
// scores: rank.ts, Fisher diagonals: fisher.ts); replies come back in job order, never in finishing order.
// wasm in Node runs one thread, so this is how tfew uses every core.
import { availableParallelism } from "node:os";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Ia3Config } from "../adapters/ia3-config.js";
import type { TrainedVectors } from "../adapters/trainable.js";
import { TfewError } from "../errors.js";
import type { LoadedModel } from "../model/load.js";

export interface WorkerInit {
  modelDir: string;
  backend: string;
  ia3Config: Ia3Config | null; // null: no adapter (zero-shot eval)
  initial: ReadonlyMap<string, Float32Array> | null; // by module path; with `tasks`, by "<task>/<path>"
  tasks?: string[]; // multi-task runs: one vector set per task name, examples routed by their task index
}

/** What a worker holds once started: its own model and (IA)³ vectors (null: zero-shot). */
export interface WorkerState {
  model: LoadedModel;
  vectors: TrainedVectors | null;
}

/**
 * A kind of job the workers answer, defined beside the code it runs (accumulate.ts, rank.ts, fisher.ts):
 * its name on the wire and what a worker does with one request. The pool ships requests and replies only.
 */
export interface WorkerJob<Request, Reply> {
  readonly kind: string;
  run(state: WorkerState, request: Request): Promise<Reply>;
}

/** The wire: an init or a job's request to a worker; its reply or its error back. */
export type ToWorker = { kind: "init"; init: WorkerInit } | { kind: "job"; job: string; request: unknown };
export type FromWorker = { kind: "reply"; reply: unknown } | { kind: "error"; message: string; tfew: boolean };

/** The worker's trained vectors; an internal error for a worker started without any. */
export function workerVectors(state: WorkerState): TrainedVectors {
  if (state.vectors === null) throw new Error("worker has no (IA)³ vectors to train");
  return state.vectors;
}

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
  private pending: { resolve: (r: unknown) => void; reject: (e: Error) => void } | null = null;
  constructor(readonly worker: Worker) {
    worker.on("message", (reply: FromWorker) => {
      const p = this.pending;
      this.pending = null;
      if (p === null) return;
      if (reply.kind === "error") p.reject(reply.tfew ? new TfewError(reply.message) : new Error(reply.message));
      else p.resolve(reply.reply);
    });
    worker.on("error", (error) => {
      const p = this.pending;
      this.pending = null;
      p?.reject(error instanceof Error ? error : new Error(String(error)));
    });
  }

  request(message: ToWorker): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(message);
    });
  }
}

export interface WorkerPool {
  readonly size: number;
  /** Deals the items to the workers in contiguous shares (in order) and returns each share's reply in order. */
  map<T, Request, Reply>(
    items: readonly T[],
    job: WorkerJob<Request, Reply>,
    request: (share: T[]) => Request,
    onShare?: (done: number) => void,
  ): Promise<Reply[]>;
  /** The same request to every worker (e.g. new vector values). */
  broadcast<Request>(job: WorkerJob<Request, unknown>, request: Request): Promise<void>;
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
  const send = <Request, Reply>(h: WorkerHandle, job: WorkerJob<Request, Reply>, request: Request) =>
    h.request({ kind: "job", job: job.kind, request }) as Promise<Reply>;
  return {
    size: count,
    async map(items, job, request, onShare) {
      const per = Math.ceil(items.length / handles.length);
      let done = 0;
      const shares = handles.map((_, i) => items.slice(i * per, (i + 1) * per)).filter((s) => s.length > 0);
      return Promise.all(
        shares.map(async (share, i) => {
          const reply = await send(handles[i] as WorkerHandle, job, request(share));
          done += share.length;
          onShare?.(done);
          return reply;
        }),
      );
    },
    async broadcast(job, request) {
      await Promise.all(handles.map((h) => send(h, job, request)));
    },
    close,
  };
}
