// What a training step differentiates, whatever the routing: one vector set, one set per task (per-example
// task routing), or SMEAR experts plus routers. Flat parameter names: the module path (one set),
// "<task>/<path>" (task sets), "expert/<name>/<path>" and "router/<block>.weight|bias" (SMEAR).
import { readPacked } from "../backend/reads.js";
import { tf } from "../backend/tf.js";
import type { Ia3Input } from "../model/routing-hook.js";
import { disposeVectorSet, toScales, type Ia3VectorSet } from "./ia3.js";
import { asSets, paramKey, taskScales, usedSets } from "./routing.js";
import { disposeSmear, isSmear, smearRouter, type SmearAdapter } from "./smear.js";

export type TrainedVectors = Ia3VectorSet | readonly Ia3VectorSet[] | SmearAdapter;

export interface TrainedParam {
  key: string;
  variable: tf.Variable;
  shape: number[];
}

/** Every trained variable with its flat name, in a fixed order. */
export function trainedParams(vectors: TrainedVectors): TrainedParam[] {
  if (isSmear(vectors)) {
    const experts = vectors.experts.flatMap((set) =>
      set.specs.map((s) => ({
        key: `expert/${set.name}/${s.path}`,
        variable: set.variables.get(s.path) as tf.Variable,
        shape: s.shape as number[],
      })),
    );
    const routers = [...vectors.routers].flatMap(([block, r]) => [
      { key: `router/${block}.weight`, variable: r.weight, shape: r.weight.shape },
      { key: `router/${block}.bias`, variable: r.bias, shape: r.bias.shape },
    ]);
    return [...experts, ...routers];
  }
  const sets = asSets(vectors);
  return sets.flatMap((set) =>
    set.specs.map((s) => ({
      key: paramKey(sets, set, s.path),
      variable: set.variables.get(s.path) as tf.Variable,
      shape: s.shape as number[],
    })),
  );
}

/** The variables a batch's loss depends on (task routing: only the sets of its tasks) and its forward input. */
export function forwardPlan(
  vectors: TrainedVectors,
  tasks: readonly number[],
): { used: TrainedParam[]; scales: () => Ia3Input } {
  if (isSmear(vectors)) return { used: trainedParams(vectors), scales: () => smearRouter(vectors) };
  const sets = asSets(vectors);
  if (sets.length === 1)
    return {
      used: trainedParams(sets),
      scales: () =>
        taskScales(
          sets,
          tasks.map(() => 0),
        ),
    }; // one set (also routing: shared)
  const usedNames = new Set(usedSets(tasks).map((t) => (sets[t] as Ia3VectorSet).name));
  return {
    used: trainedParams(sets).filter((p) => usedNames.has(p.key.slice(0, p.key.indexOf("/")))),
    scales: () => taskScales(sets, tasks),
  };
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

/** An adapter loaded for inference: one PEFT vector set or a SMEAR adapter. */
export type AdapterVectors = Ia3VectorSet | SmearAdapter;

/** What the forward pass runs with (call inside a tidy). */
export function adapterInput(adapter: AdapterVectors): Ia3Input {
  return isSmear(adapter) ? smearRouter(adapter) : toScales(adapter);
}

export function disposeAdapter(adapter: AdapterVectors): void {
  if (isSmear(adapter)) disposeSmear(adapter);
  else disposeVectorSet(adapter);
}
