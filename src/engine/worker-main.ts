// Entry of a worker thread of the pool (pool.ts): its own backend, frozen weights and (IA)³ vectors; answers
// the requests of the jobs defined beside their code (gradients, set-vectors, rank, Fisher).
import { parentPort } from "node:worker_threads";
import { createVectorSet } from "../adapters/ia3.js";
import { assignTrained, taskSets } from "../adapters/trainable.js";
import { selectBackend, type BackendName } from "../backend/select.js";
import { isTfewError } from "../errors.js";
import { loadT5 } from "../model/load.js";
import { gradientsJob, setVectorsJob } from "./accumulate.js";
import { fisherJob } from "./fisher.js";
import type { FromWorker, ToWorker, WorkerInit, WorkerJob, WorkerState } from "./pool.js";
import { rankJob } from "./rank.js";

const port = parentPort;
if (port === null) throw new Error("worker-main.ts must run in a worker thread");

const jobs = new Map<string, WorkerJob<never, unknown>>(
  [gradientsJob, setVectorsJob, rankJob, fisherJob].map((job) => [job.kind, job as WorkerJob<never, unknown>]),
);

let state: WorkerState | null = null;

async function start(init: WorkerInit): Promise<WorkerState> {
  const backend = await selectBackend(init.backend as BackendName, {});
  const model = await loadT5(init.modelDir, backend);
  const { ia3Config, initial } = init;
  const names = init.tasks ?? ["worker"];
  const vectors =
    ia3Config === null ? null : taskSets(names.map((name) => createVectorSet(name, model.weights, ia3Config)));
  if (vectors !== null && initial !== null) assignTrained(vectors, new Map(initial));
  return { model, vectors };
}

async function answer(message: ToWorker): Promise<unknown> {
  if (message.kind === "init") {
    state = await start(message.init);
    return null;
  }
  if (state === null) throw new Error("worker used before init");
  const job = jobs.get(message.job);
  if (job === undefined) throw new Error(`worker: no job named ${message.job}`);
  return job.run(state, message.request as never);
}

port.on("message", async (message: ToWorker) => {
  try {
    port.postMessage({ kind: "reply", reply: await answer(message) } satisfies FromWorker);
  } catch (error) {
    port.postMessage({
      kind: "error",
      message: error instanceof Error ? error.message : String(error),
      tfew: isTfewError(error),
    } satisfies FromWorker);
  }
});
