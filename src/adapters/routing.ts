// Per-example routing of (IA)³ vector sets (one set per task): each example of a batch is scaled by its
// own task's vectors, picked from a [tasks, n] table, so one batch can mix tasks. Also the flat parameter
// space of several sets (keys "<task>/<module path>") that optimizers and checkpoints see.
import { tf } from "../backend/tf.js";
import type { Ia3Scale, Ia3Scales } from "../model/layers.js";
import { assignVectors, readVectors, toScales, type Ia3VectorSet } from "./ia3.js";

/** The set indices a batch uses, in ascending order. */
export function usedSets(taskOf: readonly number[]): number[] {
  return [...new Set(taskOf)].sort((a, b) => a - b);
}

/**
 * Forward-pass scales routing example b to sets[taskOf[b]] (call inside the gradient function). When every
 * example uses the same set, that set's plain [n] vectors: exactly the single-set path, no gather.
 */
export function taskScales(sets: readonly Ia3VectorSet[], taskOf: readonly number[]): Ia3Scales {
  const used = usedSets(taskOf);
  if (used.length === 1) return toScales(sets[used[0] as number] as Ia3VectorSet);
  const first = sets[0] as Ia3VectorSet;
  // one-hot [batch, used tasks] times the stacked table: a plain matMul (gather's gradient has no wasm kernel)
  const oneHot = tf
    .oneHot(
      tf.tensor1d(
        taskOf.map((t) => used.indexOf(t)),
        "int32",
      ),
      used.length,
    )
    .toFloat() as tf.Tensor2D;
  const scales = new Map<string, Ia3Scale>();
  for (const spec of first.specs) {
    const rows = used.map((t) => tf.reshape((sets[t] as Ia3VectorSet).variables.get(spec.path) as tf.Variable, [-1])); // each [n]
    const table = tf.stack(rows) as tf.Tensor2D; // [used tasks, n]
    scales.set(spec.path, { vector: tf.matMul(oneHot, table), scaleInput: spec.scaleInput }); // [batch, n]
  }
  return scales;
}

/** Name of one vector in the flat parameter space: the module path for one set, "<task>/<path>" for several. */
export function paramKey(sets: readonly Ia3VectorSet[], set: Ia3VectorSet, path: string): string {
  return sets.length === 1 ? path : `${set.name}/${path}`;
}

/** Every vector's name and PEFT shape, set by set (what optimizers are created with). */
export function paramSpecs(sets: readonly Ia3VectorSet[]): { name: string; shape: [number, number] }[] {
  return sets.flatMap((set) => set.specs.map((s) => ({ name: paramKey(sets, set, s.path), shape: s.shape })));
}

/** Current values of every set, by flat key (copies). */
export async function readParams(sets: readonly Ia3VectorSet[]): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const set of sets) for (const [path, v] of await readVectors(set)) out.set(paramKey(sets, set, path), v);
  return out;
}

/** One set's values out of the flat space, by module path. */
export function setValues(
  sets: readonly Ia3VectorSet[],
  set: Ia3VectorSet,
  params: ReadonlyMap<string, Float32Array>,
): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const spec of set.specs) {
    const v = params.get(paramKey(sets, set, spec.path));
    if (v === undefined) throw new Error(`setValues: no values for ${paramKey(sets, set, spec.path)}`);
    out.set(spec.path, v);
  }
  return out;
}

/** Overwrites every set's variables from flat values. */
export function assignParams(sets: readonly Ia3VectorSet[], params: ReadonlyMap<string, Float32Array>): void {
  for (const set of sets) assignVectors(set, setValues(sets, set, params));
}
