// Entry of a training worker thread (see workers.ts): its own backend and frozen weights; answers
// compute / set-vectors requests with example-weighted gradients of its micro-batches.
import { parentPort } from "node:worker_threads";
import { assignVectors, createVectorSet, type Ia3VectorSet } from "../adapters/ia3.js";
import { selectBackend, type BackendName } from "../backend/select.js";
import { isTfewError } from "../errors.js";
import { loadT5, type LoadedModel } from "../model/load.js";
import { rankAll } from "../eval/rank.js";
import { accumulateMicroBatches } from "./engine.js";
import type { WorkerInit, WorkerReply, WorkerRequest } from "./workers.js";

const port = parentPort;
if (port === null) throw new Error("worker-main.ts must run in a worker thread");

let state: { model: LoadedModel; set: Ia3VectorSet | null; init: WorkerInit } | null = null;

function reply(message: WorkerReply): void {
  port?.postMessage(message);
}

port.on("message", async (message: WorkerRequest | { kind: "init"; init: WorkerInit }) => {
  try {
    if (message.kind === "init") {
      const backend = await selectBackend(message.init.backend as BackendName, {});
      const model = await loadT5(message.init.modelDir, { keepUntransposed: backend.keepUntransposed });
      const { ia3Config, initial } = message.init;
      const set = ia3Config === null ? null : createVectorSet("worker", model.weights, ia3Config, initial === null ? undefined : new Map(initial));
      state = { model, set, init: message.init };
      reply({ kind: "ready" });
    } else if (state === null) {
      throw new Error("worker used before init");
    } else if (message.kind === "rank") {
      reply({ kind: "ranked", result: await rankAll(state.model, state.set, message.inputs, message.options) });
    } else if (state.set === null) {
      throw new Error("worker has no (IA)³ vectors to train");
    } else if (message.kind === "set-vectors") {
      assignVectors(state.set, message.values);
      reply({ kind: "done" });
    } else {
      reply({ kind: "result", result: accumulateMicroBatches(state.model, state.set, message.microBatches, state.init.settings) });
    }
  } catch (error) {
    reply({ kind: "error", message: error instanceof Error ? error.message : String(error), tfew: isTfewError(error) });
  }
});
