// What a run trains, as one discriminated union: one (IA)³ vector set (kind "set": one task, or routing: shared),
// one set per task (kind "tasks": per-example task routing), or SMEAR experts plus routers (kind "smear"). Flat
// parameter names: the module path (one set), "<task>/<path>" (task sets), "expert/<name>/<path>" and
// "router/<block>.weight|bias" (SMEAR) — what optimizers, gradients and checkpoints see.
import { readPacked } from "../backend/reads.js";
import { tf } from "../backend/tf.js";
import type { Ia3Input } from "../model/routing-hook.js";
import { disposeVectorSet, toScales, type Ia3VectorSet } from "./ia3.js";
import { paramKey, taskScales, usedSets } from "./routing.js";
import { disposeSmear, smearRouter, type SmearAdapter } from "./smear.js";

/** One vector set per task (at least two; see taskSets), examples routed by their task index. */
export interface TaskSets {
  kind: "tasks";
  sets: readonly Ia3VectorSet[]; // in data.tasks order
}

export type TrainedVectors = Ia3VectorSet | TaskSets | SmearAdapter;

/** An adapter loaded for inference: one PEFT vector set or a SMEAR adapter. */
export type AdapterVectors = Ia3VectorSet | SmearAdapter;

/** Sets routed by task; a single set stays a plain set (the single-task path, its names the module paths). */
export function taskSets(sets: readonly Ia3VectorSet[]): Ia3VectorSet | TaskSets {
  if (sets.length === 0) throw new Error("taskSets: no vector sets");
  return sets.length === 1 ? (sets[0] as Ia3VectorSet) : { kind: "tasks", sets };
}

export interface TrainedParam {
  key: string;
  variable: tf.Variable;
  shape: number[];
}

function setParams(set: Ia3VectorSet, keyOf: (path: string) => string): TrainedParam[] {
  return set.specs.map((s) => ({
    key: keyOf(s.path),
    variable: set.variables.get(s.path) as tf.Variable,
    shape: s.shape as number[],
  }));
}

/** Each task set's parameters (kind "tasks"), else one group of every parameter; the optimizer's groups. */
export function paramGroupsOf(vectors: TrainedVectors): { name: string; params: TrainedParam[] }[] {
  if (vectors.kind !== "tasks") return [{ name: "all", params: trainedParams(vectors) }];
  const { sets } = vectors;
  return sets.map((set) => ({ name: set.name, params: setParams(set, (path) => paramKey(sets, set, path)) }));
}

/** Every trained variable with its flat name, in a fixed order. */
export function trainedParams(vectors: TrainedVectors): TrainedParam[] {
  switch (vectors.kind) {
    case "set":
      return setParams(vectors, (path) => path);
    case "tasks":
      return paramGroupsOf(vectors).flatMap((g) => g.params);
    case "smear": {
      const experts = vectors.experts.flatMap((set) => setParams(set, (path) => `expert/${set.name}/${path}`));
      const routers = [...vectors.routers].flatMap(([block, r]) => [
        { key: `router/${block}.weight`, variable: r.weight, shape: r.weight.shape },
        { key: `router/${block}.bias`, variable: r.bias, shape: r.bias.shape },
      ]);
      return [...experts, ...routers];
    }
  }
}

/** The variables a batch's loss depends on (task routing: only the sets of its tasks) and its forward input. */
export function forwardPlan(
  vectors: TrainedVectors,
  tasks: readonly number[],
): { used: TrainedParam[]; scales: () => Ia3Input } {
  switch (vectors.kind) {
    case "set":
      return { used: trainedParams(vectors), scales: () => toScales(vectors) }; // also routing: shared
    case "tasks": {
      const groups = paramGroupsOf(vectors);
      return {
        used: usedSets(tasks).flatMap((t) => groups[t]?.params ?? []),
        scales: () => taskScales(vectors.sets, tasks),
      };
    }
    case "smear":
      return { used: trainedParams(vectors), scales: () => smearRouter(vectors) };
  }
}

/** Current values by flat name (copies), in one device read. */
export async function readTrained(vectors: TrainedVectors): Promise<Map<string, Float32Array>> {
  const params = trainedParams(vectors);
  const values = await readPacked(params.map((p) => p.variable));
  return new Map(params.map((p, i) => [p.key, values[i] as Float32Array]));
}

/** Overwrites every variable from flat values. */
export function assignTrained(vectors: TrainedVectors, values: ReadonlyMap<string, Float32Array>): void {
  for (const p of trainedParams(vectors)) {
    const data = values.get(p.key);
    if (data === undefined) throw new Error(`assignTrained: no values for ${p.key}`);
    const t = tf.tensor(data, p.shape);
    p.variable.assign(t);
    t.dispose();
  }
}

/** What the forward pass runs with (call inside a tidy). */
export function adapterInput(adapter: AdapterVectors): Ia3Input {
  return adapter.kind === "smear" ? smearRouter(adapter) : toScales(adapter);
}

export function disposeTrained(vectors: TrainedVectors): void {
  switch (vectors.kind) {
    case "set":
      return disposeVectorSet(vectors);
    case "tasks":
      return vectors.sets.forEach(disposeVectorSet);
    case "smear":
      return disposeSmear(vectors);
  }
}

export const disposeAdapter: (adapter: AdapterVectors) => void = disposeTrained;
