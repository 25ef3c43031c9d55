// What a run trains, from adapter.routing: one (IA)³ set (one task, or routing: shared), one set per task
// (routing: task), or SMEAR experts + routers (routing: smear); their optimizer groups; and how each is saved
// (adapter/, adapter/<task>/, or adapter/experts/<name>/ + router.safetensors + router_config.json).
import { createVectorSet, ia3ParameterCount, ia3Specs, linearModules, type Ia3VectorSet } from "../adapters/ia3.js";
import type { Ia3Config } from "../adapters/ia3-config.js";
import { checkAdapterFits, saveAdapter } from "../adapters/peft-adapter.js";
import { readExperts, saveSmear } from "../adapters/smear-files.js";
import { readInitFrom } from "../adapters/t-few.js";
import { createSmear } from "../adapters/smear.js";
import { paramGroupsOf, taskSets, type TrainedVectors } from "../adapters/trainable.js";
import type { RunConfig } from "../config/schema.js";
import { TfewError } from "../errors.js";
import { runPaths, taskAdapterDir } from "../io/run-dir.js";
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
    const loaded = await readInitFrom(adapter.init_from, linearModules(weights), ia3Config, config.model); // or t-few's .pt
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
  return taskSets(names.map((name) => createVectorSet(name, weights, ia3Config, initial)));
}

/** Optimizer groups: one per task set (stepped only when its task is in the batch), else one for everything. */
export function paramGroups(vectors: TrainedVectors): ParamGroup[] {
  return paramGroupsOf(vectors).map((g) => ({
    name: g.name,
    params: g.params.map((p) => ({ name: p.key, shape: p.shape })),
  }));
}

/** Writes the trained adapter(s) into the run's adapter/ (see io/run-dir.ts for the layouts). */
export async function saveTrainedVectors(
  runDir: string,
  vectors: TrainedVectors,
  options: { baseModel: string },
): Promise<void> {
  const adapterDir = runPaths(runDir).adapter;
  switch (vectors.kind) {
    case "set": // one task, or routing: shared
      return saveAdapter(adapterDir, vectors, options);
    case "tasks": // adapter/<task>/
      for (const set of vectors.sets) await saveAdapter(taskAdapterDir(runDir, set.name), set, options);
      return;
    case "smear": // adapter/experts/<name>/ + router files
      return saveSmear(adapterDir, vectors, options);
  }
}

/** "1280 (IA)³ parameters in 16 vectors per task" and the like, for the train line. */
export function describeVectors(vectors: TrainedVectors): string {
  const perSet = (set: Ia3VectorSet) => `${ia3ParameterCount(set.specs)} (IA)³ parameters`;
  switch (vectors.kind) {
    case "set":
      return `${perSet(vectors)} in ${vectors.specs.length} vectors`;
    case "tasks": {
      const first = vectors.sets[0] as Ia3VectorSet;
      return `${perSet(first)} in ${first.specs.length} vectors per task`;
    }
    case "smear": {
      const routers = [...vectors.routers.values()];
      const routerParams = routers.reduce((n, r) => n + r.weight.size + r.bias.size, 0);
      return `SMEAR: ${vectors.experts.length} experts × ${perSet(vectors.experts[0] as Ia3VectorSet)} + ${routerParams} router parameters in ${routers.length} blocks`;
    }
  }
}
