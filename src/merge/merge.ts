// Merging (IA)³ vector sets of one base model, element by element: the plain average, a weighted average,
// and Fisher-weighted averaging with a diagonal Fisher (Matena & Raffel 2022, "Merging Models with
// Fisher-Weighted Averaging", eq. 3), all convex combinations of l; and task arithmetic, TIES and DARE on the
// task vectors τ = l − 1 (task-vectors.ts). Pure functions over vectors by module path; files are in merge-files.ts.
import type { LoadedAdapter } from "../adapters/peft-adapter.js";
import { TfewError } from "../errors.js";
import {
  DEFAULT_DENSITY,
  DEFAULT_LAMBDA,
  fromTaskVector,
  mergeTaskVectors,
  TASK_VECTOR_METHODS,
  toTaskVector,
  type TaskVectorMethod,
} from "./task-vectors.js";

export const MERGE_METHODS = ["average", "weighted", "fisher", ...TASK_VECTOR_METHODS] as const;
export type MergeMethod = (typeof MERGE_METHODS)[number];

/**
 * Fisher values are raised to at least this, element-wise, before weighting. Where every adapter's Fisher
 * is below it (a coordinate no data moved), the Fisher merge falls back to the weighted average there
 * instead of dividing 0 by 0; where any Fisher is well above it, the floor changes the result by ~1e-8.
 */
export const FISHER_FLOOR = 1e-8;

/** An adapter to merge and the folder it came from (named in messages). */
export interface MergeSource extends LoadedAdapter {
  dir: string;
  /** baseModel as compared (a local folder by its real path); default baseModel. The merge records baseModel. */
  baseModelKey?: string;
}

export interface MergeRequest {
  adapters: readonly MergeSource[];
  method: MergeMethod;
  /** weighted: one per adapter (required); fisher: one per adapter (default 1 each); average: none */
  weights?: readonly number[] | null;
  /** fisher: each adapter's diagonal Fisher by module path, the same lengths as its vectors */
  fishers?: readonly ReadonlyMap<string, Float32Array>[] | null;
  /** default FISHER_FLOOR */
  fisherFloor?: number;
  /** task-arithmetic, ties, dare: l = 1 + λ·τ (default DEFAULT_LAMBDA) */
  lambda?: number;
  /** ties, dare: the fraction of each τ kept (default DEFAULT_DENSITY) */
  density?: number;
  /** dare: uniform draws in [0, 1) (the CLI passes mulberry32(--seed)) */
  rand?: () => number;
}

export interface MergeResult {
  adapter: LoadedAdapter;
  /** the weights applied, normalized to sum 1 (none for the task-vector methods) */
  weights: number[];
}

const isTaskVectorMethod = (m: MergeMethod): m is TaskVectorMethod =>
  (TASK_VECTOR_METHODS as readonly string[]).includes(m);

/**
 * average:  θ = (1/n) Σ θᵢ
 * weighted: θ = Σ wᵢ θᵢ / Σ wᵢ                       (wᵢ ≥ 0, Σ wᵢ > 0)
 * fisher:   θ = Σ wᵢ F̃ᵢ θᵢ / Σ wᵢ F̃ᵢ, F̃ᵢ = max(Fᵢ, ε)   (element-wise, ε = fisherFloor)
 * Sums in float64, one rounding to float32 at the end.
 */
export function mergeAdapters(request: MergeRequest): MergeResult {
  const { adapters, method } = request;
  if (adapters.length < 2) throw new TfewError(`merge: give at least two --adapter folders (got ${adapters.length})`);
  checkCompatible(adapters);
  if (isTaskVectorMethod(method)) return mergeInTaskSpace(request, method);
  const weights = resolveWeights(method, adapters.length, request.weights ?? null);
  const fishers = method === "fisher" ? checkFishers(adapters, request.fishers ?? null) : null;
  const floor = request.fisherFloor ?? FISHER_FLOOR;
  const first = adapters[0] as MergeSource;
  const values = new Map<string, Float32Array>();
  for (const path of first.values.keys()) {
    const inputs = adapters.map((a) => a.values.get(path) as Float32Array);
    const fisher = fishers?.map((f) => f.get(path) as Float32Array) ?? null;
    values.set(path, fisher === null ? weightedMean(inputs, weights) : fisherMean(inputs, fisher, weights, floor));
  }
  const baseModel = adapters.find((a) => a.baseModel !== "")?.baseModel ?? "";
  return { adapter: { config: first.config, baseModel, values, shapes: new Map(first.shapes) }, weights };
}

/**
 * task-arithmetic: l = 1 + λ Σ τᵢ;  ties: l = 1 + λ·disjoint-mean(elect(trim(τᵢ)));  dare: l = 1 + λ Σ drop(τᵢ).
 * Each adapter's τ is all its vectors flattened in module path order, so TIES' top-k and DARE's draws span
 * the whole adapter (as in both papers).
 */
function mergeInTaskSpace(request: MergeRequest, method: TaskVectorMethod): MergeResult {
  if (request.weights != null && request.weights.length > 0)
    throw new TfewError(
      `merge: --weight is for --method weighted or fisher; --method ${method} scales the summed task vectors by --lambda`,
    );
  const first = request.adapters[0] as MergeSource;
  const paths = [...first.values.keys()];
  const flat = (a: MergeSource) => {
    const parts = paths.map((p) => toTaskVector(a.values.get(p) as Float32Array));
    const out = new Float64Array(parts.reduce((n, v) => n + v.length, 0));
    let at = 0;
    for (const part of parts) out.set(part, (at += part.length) - part.length);
    return out;
  };
  const rand =
    request.rand ??
    (() => {
      throw new Error("mergeAdapters: --method dare needs rand");
    });
  const density = request.density ?? DEFAULT_DENSITY;
  const merged = mergeTaskVectors(method, request.adapters.map(flat), { density, rand });
  const l = fromTaskVector(merged, request.lambda ?? DEFAULT_LAMBDA);
  const values = new Map<string, Float32Array>();
  let at = 0;
  for (const path of paths) {
    const n = (first.values.get(path) as Float32Array).length;
    values.set(path, l.slice(at, (at += n)));
  }
  const baseModel = request.adapters.find((a) => a.baseModel !== "")?.baseModel ?? "";
  return { adapter: { config: first.config, baseModel, values, shapes: new Map(first.shapes) }, weights: [] };
}

function weightedMean(inputs: readonly Float32Array[], weights: readonly number[]): Float32Array {
  const out = new Float32Array((inputs[0] as Float32Array).length);
  for (let j = 0; j < out.length; j++) {
    let sum = 0;
    inputs.forEach((v, i) => (sum += (weights[i] as number) * (v[j] as number)));
    out[j] = sum;
  }
  return out;
}

function fisherMean(
  inputs: readonly Float32Array[],
  fishers: readonly Float32Array[],
  weights: readonly number[],
  floor: number,
): Float32Array {
  const out = new Float32Array((inputs[0] as Float32Array).length);
  for (let j = 0; j < out.length; j++) {
    let num = 0;
    let den = 0;
    inputs.forEach((v, i) => {
      const wf = (weights[i] as number) * Math.max((fishers[i] as Float32Array)[j] as number, floor);
      num += wf * (v[j] as number);
      den += wf;
    });
    out[j] = num / den;
  }
  return out;
}

/** The weights to apply, normalized to sum 1; each misuse one line. */
export function resolveWeights(method: MergeMethod, count: number, given: readonly number[] | null): number[] {
  if (method === "average") {
    if (given !== null && given.length > 0)
      throw new TfewError(
        "merge: --weight is for --method weighted or fisher; --method average weighs every adapter equally",
      );
    return Array.from({ length: count }, () => 1 / count);
  }
  if (given === null || given.length === 0) {
    if (method === "weighted")
      throw new TfewError(`merge: --method weighted needs one --weight per --adapter (${count} adapters, no --weight)`);
    return Array.from({ length: count }, () => 1 / count);
  }
  if (given.length !== count)
    throw new TfewError(
      `merge: ${given.length} --weight values for ${count} --adapter folders; give one --weight per adapter, in the same order`,
    );
  const bad = given.findIndex((w) => !Number.isFinite(w) || w < 0);
  if (bad >= 0)
    throw new TfewError(`merge: --weight number ${bad + 1} is ${given[bad]}; weights must be finite and ≥ 0`);
  const total = given.reduce((a, b) => a + b, 0);
  if (total <= 0) throw new TfewError("merge: the --weight values sum to 0; give at least one positive weight");
  return given.map((w) => w / total);
}

function describeModules(m: string[] | string): string {
  return JSON.stringify(Array.isArray(m) ? [...m].sort() : m);
}

/** Same targets, feed-forward modules, base model, vector names and shapes; else one line naming both folders. */
export function checkCompatible(adapters: readonly MergeSource[]): void {
  const first = adapters[0] as MergeSource;
  for (const other of adapters.slice(1)) {
    const pair = `${other.dir} and ${first.dir}`;
    for (const [key, name] of [
      ["targetModules", "target_modules"],
      ["feedforwardModules", "feedforward_modules"],
    ] as const) {
      if (describeModules(first.config[key]) !== describeModules(other.config[key])) {
        throw new TfewError(
          `merge: ${other.dir} has ${name} ${describeModules(other.config[key])} but ${first.dir} has ${describeModules(first.config[key])}; merge only adapters trained with the same adapter.${name}`,
        );
      }
    }
    const [firstBase, otherBase] = [first.baseModelKey ?? first.baseModel, other.baseModelKey ?? other.baseModel];
    if (firstBase !== "" && otherBase !== "" && firstBase !== otherBase) {
      throw new TfewError(
        `merge: ${other.dir} was trained on ${other.baseModel} but ${first.dir} on ${first.baseModel}; merge only adapters of the same base model`,
      );
    }
    for (const path of first.values.keys()) {
      if (!other.values.has(path))
        throw new TfewError(
          `merge: ${other.dir} has no vector for ${path}, which ${first.dir} has; ${pair} were made for different models`,
        );
      const a = first.shapes.get(path) ?? [];
      const b = other.shapes.get(path) ?? [];
      if (a.join() !== b.join())
        throw new TfewError(
          `merge: vector ${path} has shape [${b.join(", ")}] in ${other.dir} but [${a.join(", ")}] in ${first.dir}; ${pair} were made for different models`,
        );
    }
    const extra = [...other.values.keys()].find((p) => !first.values.has(p));
    if (extra !== undefined)
      throw new TfewError(
        `merge: ${other.dir} has a vector for ${extra}, which ${first.dir} lacks; ${pair} were made for different models`,
      );
  }
}

/** One Fisher diagonal per adapter with exactly its vectors' names and lengths, every value finite and ≥ 0. */
function checkFishers(
  adapters: readonly MergeSource[],
  fishers: readonly ReadonlyMap<string, Float32Array>[] | null,
): ReadonlyMap<string, Float32Array>[] {
  if (fishers === null || fishers.length !== adapters.length) {
    throw new TfewError(
      `merge: --method fisher needs one Fisher diagonal per adapter (got ${fishers?.length ?? 0} for ${adapters.length} adapters)`,
    );
  }
  adapters.forEach((adapter, i) => {
    const fisher = fishers[i] as ReadonlyMap<string, Float32Array>;
    for (const [path, v] of adapter.values) {
      const f = fisher.get(path);
      if (f === undefined)
        throw new TfewError(
          `merge: the Fisher diagonal of ${adapter.dir} has no entry for ${path}; recompute it for this adapter`,
        );
      if (f.length !== v.length)
        throw new TfewError(
          `merge: the Fisher diagonal of ${adapter.dir} has ${f.length} values for ${path}, the vector ${v.length}; recompute it for this adapter`,
        );
      const bad = f.findIndex((x) => !(x >= 0) || x === Infinity);
      if (bad >= 0)
        throw new TfewError(
          `merge: the Fisher diagonal of ${adapter.dir} holds ${f[bad]} at ${path}[${bad}]; Fisher values must be finite and ≥ 0`,
        );
    }
    const extra = [...fisher.keys()].find((p) => !adapter.values.has(p));
    if (extra !== undefined)
      throw new TfewError(
        `merge: the Fisher diagonal of ${adapter.dir} has an entry for ${extra}, which the adapter lacks; recompute it for this adapter`,
      );
  });
  return [...fishers];
}
