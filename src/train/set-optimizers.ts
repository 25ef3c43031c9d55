// One optimizer per (IA)³ vector set of a multi-task run, behind the Optimizer interface: a step updates
// only the sets whose gradients it is given (the tasks in the batch), so each set's optimizer state and step
// count evolve as in a single-task run over that task's batches. One set = the plain optimizer, unchanged.
import type { ParamSpec } from "./optimizer-types.js";
import { createOptimizer, type Optimizer, type OptimizerConfig, type OptimizerState } from "./optimizer.js";

export interface ParamGroup {
  name: string; // the set's task name
  params: ParamSpec[]; // its vectors, named "<task>/<module path>"
}

export function createSetOptimizer(config: OptimizerConfig, groups: readonly ParamGroup[]): Optimizer {
  if (groups.length === 1) return createOptimizer(config, (groups[0] as ParamGroup).params);
  const parts = groups.map((g) => ({ group: g, optimizer: createOptimizer(config, g.params) }));
  return {
    name: config.name,
    step(values, grads, lr) {
      for (const { group, optimizer } of parts) {
        if (!group.params.every((p) => grads.has(p.name))) continue;
        const own = new Map(group.params.map((p) => [p.name, values.get(p.name) as Float32Array]));
        optimizer.step(own, new Map(group.params.map((p) => [p.name, grads.get(p.name) as Float32Array])), lr);
        for (const [name, v] of own) values.set(name, v);
      }
    },
    state() {
      const out: OptimizerState = {};
      for (const { group, optimizer } of parts) {
        for (const [key, value] of Object.entries(optimizer.state()))
          out[key === "step" ? `${group.name}/step` : key] = value;
      }
      return out;
    },
    loadState(state) {
      for (const { group, optimizer } of parts) {
        const own: OptimizerState = {};
        for (const [key, value] of Object.entries(state)) {
          if (key === `${group.name}/step`) own.step = value;
          else if (group.params.some((p) => key.startsWith(`${p.name}.`))) own[key] = value;
        }
        optimizer.loadState(own);
      }
    },
  };
}

/** The gradients of the sets used by a batch (tasks present), dropping the other sets' zeros. */
export function usedGrads(
  grads: ReadonlyMap<string, Float32Array>,
  groups: readonly ParamGroup[],
  used: ReadonlySet<number>,
): Map<string, Float32Array> {
  if (groups.length === 1) return new Map(grads);
  const out = new Map<string, Float32Array>();
  groups.forEach((g, t) => used.has(t) && g.params.forEach((p) => out.set(p.name, grads.get(p.name) as Float32Array)));
  return out;
}
