// Entry of a worker thread of the pool (pool.ts): its own backend, frozen weights and (IA)³ vectors;
// answers gradient, rank, Fisher and set-vectors jobs.
import { parentPort } from "node:worker_threads";
import { createVectorSet, type Ia3VectorSet } from "../adapters/ia3.js";
import { assignParams } from "../adapters/routing.js";
import { selectBackend, type BackendName } from "../backend/select.js";
import { isTfewError } from "../errors.js";
import { loadT5, type LoadedModel } from "../model/load.js";
import { microBatchParts } from "./accumulate.js";
import { fisherBlockSums } from "./fisher.js";
import type { WorkerInit, WorkerJob, WorkerReply } from "./pool.js";
import { rankAll } from "./rank.js";

const port = parentPort;
if (port === null) throw new Error("worker-main.ts must run in a worker thread");

let state: { model: LoadedModel; set: Ia3VectorSet | null; sets: Ia3VectorSet[] } | null = null;

async function answer(message: WorkerJob | { kind: "init"; init: WorkerInit }): Promise<WorkerReply> {
  if (message.kind === "init") {
    const backend = await selectBackend(message.init.backend as BackendName, {});
    const model = await loadT5(message.init.modelDir, backend);
    const { ia3Config, initial } = message.init;
    const names = message.init.tasks ?? ["worker"];
    const sets = ia3Config === null ? [] : names.map((name) => createVectorSet(name, model.weights, ia3Config));
    if (initial !== null) assignParams(sets, new Map(initial));
    state = { model, set: sets[0] ?? null, sets };
    return { kind: "ready" };
  }
  if (state === null) throw new Error("worker used before init");
  if (message.kind === "rank")
    return { kind: "rank", result: await rankAll(state.model, state.set, message.inputs, message.options) };
  if (state.set === null) throw new Error("worker has no (IA)³ vectors to train");
  if (message.kind === "fisher")
    return { kind: "fisher", sums: await fisherBlockSums(state.model, state.set, message.blocks, message.settings) };
  if (message.kind === "set-vectors") {
    assignParams(state.sets, message.values);
    return { kind: "done" };
  }
  return {
    kind: "gradients",
    parts: await microBatchParts(state.model, state.sets, message.microBatches, message.settings, message.normalizers),
  };
}

port.on("message", async (message: WorkerJob | { kind: "init"; init: WorkerInit }) => {
  try {
    port.postMessage(await answer(message));
  } catch (error) {
    port.postMessage({
      kind: "error",
      message: error instanceof Error ? error.message : String(error),
      tfew: isTfewError(error),
    } satisfies WorkerReply);
  }
});
