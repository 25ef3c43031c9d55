// Merges in task-vector space. An (IA)³ vector l scales activations around 1, so its task vector is
// τ = l − 1 (l = 1 is the base model). Task arithmetic (Ilharco et al. 2023), TIES (Yadav et al. 2023,
// "TIES-Merging": trim, elect sign, disjoint merge) and DARE (Yu et al. 2024, "Language Models are Super Mario":
// drop and rescale) combine the τᵢ and map back with l = 1 + λ·τ. Pure functions over flat vectors; the
// module structure is flattened in merge.ts (one τ per adapter, its modules concatenated in path order).
import { TfewError } from "../errors.js";

export const TASK_VECTOR_METHODS = ["task-arithmetic", "ties", "dare"] as const;
export type TaskVectorMethod = (typeof TASK_VECTOR_METHODS)[number];

/** λ when --lambda is not given: the plain sum of task vectors (Yadav et al. also use λ = 1 without validation). */
export const DEFAULT_LAMBDA = 1;
/** density when --density is not given: TIES' k = 20% (Yadav et al.); for DARE a drop rate p of 0.8. */
export const DEFAULT_DENSITY = 0.2;
/** dare: the seed when --seed is not given (the run config's default seed). */
export const DEFAULT_MERGE_SEED = 42;

export interface TaskVectorParams {
  /** ties, dare: the fraction of each τ kept */
  density: number;
  /** dare: uniform draws in [0, 1), one per entry, adapter after adapter */
  rand: () => number;
}

export const toTaskVector = (l: Float32Array): Float64Array => Float64Array.from(l, (x) => x - 1);

/** l = 1 + λ·τ, rounded once to float32. */
export function fromTaskVector(tau: Float64Array, lambda: number): Float32Array {
  return Float32Array.from(tau, (t) => 1 + lambda * t);
}

/** τ = Σ τᵢ */
export function sumTaskVectors(taus: readonly Float64Array[]): Float64Array {
  const out = new Float64Array((taus[0] as Float64Array).length);
  for (const tau of taus) tau.forEach((t, j) => (out[j] = (out[j] as number) + t));
  return out;
}

/**
 * TIES trim: keep the k = ⌈density·n⌉ entries of largest |τ| and zero the rest. Equal magnitudes are kept in
 * index order (the earlier entry first), so the result has exactly k non-zero-or-kept entries.
 */
export function trimTopK(tau: Float64Array, density: number): Float64Array {
  const keep = Math.ceil(density * tau.length - 1e-9);
  const order = Array.from(tau.keys()).sort((a, b) => Math.abs(tau[b] as number) - Math.abs(tau[a] as number) || a - b);
  const out = new Float64Array(tau.length);
  for (const j of order.slice(0, keep)) out[j] = tau[j] as number;
  return out;
}

/**
 * TIES elect + disjoint merge over already-trimmed τᵢ: per entry, the elected sign is the sign of Σᵢ τᵢ (the
 * sign with the larger total magnitude); the result is the mean of the entries whose sign equals it (0 where
 * the sum is 0 or no entry agrees).
 */
export function electAndMerge(trimmed: readonly Float64Array[]): Float64Array {
  const sum = sumTaskVectors(trimmed);
  return sum.map((s, j) => {
    const sign = Math.sign(s);
    let total = 0;
    let count = 0;
    for (const tau of trimmed) {
      const t = tau[j] as number;
      if (sign !== 0 && Math.sign(t) === sign) {
        total += t;
        count++;
      }
    }
    return count === 0 ? 0 : total / count;
  });
}

/** DARE: each entry dropped with p = 1 − density (a draw u < p), each kept entry rescaled by 1/(1 − p). */
export function dropAndRescale(tau: Float64Array, density: number, rand: () => number): Float64Array {
  const p = 1 - density;
  return tau.map((t) => (rand() < p ? 0 : t / density));
}

/** The merged task vector, before l = 1 + λ·τ. */
export function mergeTaskVectors(method: TaskVectorMethod, taus: readonly Float64Array[], params: TaskVectorParams) {
  if (method === "task-arithmetic") return sumTaskVectors(taus);
  if (method === "ties") return electAndMerge(taus.map((t) => trimTopK(t, params.density)));
  return sumTaskVectors(taus.map((t) => dropAndRescale(t, params.density, params.rand)));
}

export interface TaskVectorFlags {
  lambda?: number | undefined;
  density?: number | undefined;
  seed?: number | undefined;
}

/** Which of --lambda / --density / --seed a method takes; any other given is one line. */
const USES: Record<string, readonly (keyof TaskVectorFlags)[]> = {
  "task-arithmetic": ["lambda"],
  ties: ["lambda", "density"],
  dare: ["lambda", "density", "seed"],
};

/** Checks --lambda / --density / --seed against the method and their ranges; one line each. */
export function checkTaskVectorFlags(method: string, flags: TaskVectorFlags): void {
  const uses = USES[method] ?? [];
  for (const key of ["lambda", "density", "seed"] as const) {
    if (flags[key] === undefined || uses.includes(key)) continue;
    const takers = Object.keys(USES).filter((m) => USES[m]?.includes(key));
    throw new TfewError(
      `merge: --${key} is for --method ${takers.join(" or ")}; --method ${method} does not use it (drop --${key})`,
    );
  }
  const { lambda, density, seed } = flags;
  if (lambda !== undefined && !(Number.isFinite(lambda) && lambda > 0))
    throw new TfewError(
      `merge: --lambda ${lambda} is out of range; λ scales the merged task vector (l = 1 + λ·τ) and must be finite and > 0`,
    );
  if (density !== undefined && !(density > 0 && density <= 1))
    throw new TfewError(
      `merge: --density ${density} is out of range; it is the fraction of each task vector kept and must be in (0, 1]`,
    );
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff))
    throw new TfewError(`merge: --seed ${seed} must be a whole number from 0 to 4294967295`);
}
