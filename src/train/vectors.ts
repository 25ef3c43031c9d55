// What a run trains, from adapter.routing: one (IA)³ set (one task, or routing: shared), one set per task
// (routing: task), or SMEAR experts + routers (routing: smear); their optimizer groups; and how each is saved
// (adapter/, adapter/<task>/, or adapter/experts/<name>/ + router.safetensors + router_config.json).
import { join } from "node:path";
import { createVectorSet, ia3Specs, linearModules, type Ia3VectorSet } from "../adapters/ia3.js";
import type { Ia3Config } from "../adapters/ia3-config.js";
import { checkAdapterFits, readAdapter, saveAdapter } from "../adapters/peft-adapter.js";
import { readExperts, saveSmear } from "../adapters/smear-files.js";
import { createSmear, isSmear } from "../adapters/smear.js";
import { trainedParams, type TrainedVectors } from "../adapters/trainable.js";
import type { RunConfig } from "../config/schema.js";
import { TfewError } from "../errors.js";
import type { T5Weights } from "../model/weights.js";
import type { ParamGroup } from "./set-optimizers.js";

/** The run's trained vectors: `taskNames` are data.tasks' names (null for a one-task run). */
export async function createTrainedVectors(
  config: RunConfig,
  weights: T5Weights,
  ia3Config: Ia3Config,
  taskNames: string[] | null,
): Promise<TrainedVectors> {
  const { adapter } = config;
  let initial: Map<string, Float32Array> | undefined;
  if (adapter.init_from !== null) {
    const loaded = await readAdapter(adapter.init_from);
    // check before the vectors are built: a wrong-sized vector must be a TfewError, not a tf shape error
    checkAdapterFits(loaded, ia3Specs(linearModules(weights), ia3Config), adapter.init_from);
    initial = loaded.values;
  }
  if (adapter.routing === "smear") {
    const experts = adapter.experts;
    if (experts === null && taskNames === null)
      throw new TfewError(
        "adapter.routing: smear needs adapter.experts (a list of adapter folders or a count >= 2) or data.tasks (one expert per task)",
      );
    if (Array.isArray(experts)) return createSmear(weights, ia3Config, await readExperts(experts, weights, ia3Config));
    const names =
      typeof experts === "number" ? Array.from({ length: experts }, (_, i) => `expert${i}`) : (taskNames as string[]);
    return createSmear(
      weights,
      ia3Config,
      names.map((name) => ({ name, initial })),
    );
  }
  const names = taskNames !== null && adapter.routing === "task" ? taskNames : [adapter.task_name];
  return names.map((name) => createVectorSet(name, weights, ia3Config, initial));
}

/** Optimizer groups: one per task set (stepped only when its task is in the batch), else one for everything. */
export function paramGroups(vectors: TrainedVectors): ParamGroup[] {
  const params = trainedParams(vectors).map((p) => ({ name: p.key, shape: p.shape }));
  if (isSmear(vectors) || !Array.isArray(vectors) || vectors.length === 1) return [{ name: "all", params }];
  return (vectors as Ia3VectorSet[]).map((set) => ({
    name: set.name,
    params: params.filter((p) => p.name.startsWith(`${set.name}/`)),
  }));
}

/** Writes the trained adapter(s) under adapterDir. */
export async function saveTrainedVectors(
  adapterDir: string,
  vectors: TrainedVectors,
  options: { baseModel: string },
): Promise<void> {
  if (isSmear(vectors)) return saveSmear(adapterDir, vectors, options);
  const sets = Array.isArray(vectors) ? (vectors as Ia3VectorSet[]) : [vectors as Ia3VectorSet];
  // one set per task: adapter/<task>/; one set (single task, or routing: shared): adapter/
  for (const set of sets) await saveAdapter(sets.length > 1 ? join(adapterDir, set.name) : adapterDir, set, options);
}

/** "1280 (IA)³ parameters in 16 vectors per task" and the like, for the train line. */
export function describeVectors(vectors: TrainedVectors): string {
  const params = trainedParams(vectors);
  const count = (list: typeof params) => list.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  if (isSmear(vectors)) {
    const router = params.filter((p) => p.key.startsWith("router/"));
    return `SMEAR: ${vectors.experts.length} experts × ${count(params.filter((p) => p.key.startsWith("expert/"))) / vectors.experts.length} (IA)³ parameters + ${count(router)} router parameters in ${router.length / 2} blocks`;
  }
  const sets = Array.isArray(vectors) ? vectors.length : 1;
  return `${count(params) / sets} (IA)³ parameters in ${params.length / sets} vectors${sets > 1 ? " per task" : ""}`;
}
