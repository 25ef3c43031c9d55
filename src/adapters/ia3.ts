// (IA)³ vectors: learned per-task scales on chosen linear layers (Liu et al. 2022, "Few-Shot
// Parameter-Efficient Fine-Tuning is Better and Cheaper than In-Context Learning"; PEFT tuners/ia3/layer.py).
// Non-feed-forward modules (k, v): vector [out, 1] scales the output. Feed-forward modules (wo): vector
// [1, in] scales the input. Vectors start at ones and are the model's only tf.Variables.
import { readPacked } from "../backend/reads.js";
import { tf } from "../backend/tf.js";
import { TfewError } from "../errors.js";
import type { Ia3Scales } from "../model/layers.js";
import type { Linear, T5Weights } from "../model/weights.js";
import { moduleMatches, type Ia3Config } from "./ia3-config.js";

export interface Ia3VectorSpec {
  path: string; // HF module path, e.g. "encoder.block.0.layer.0.SelfAttention.k"
  shape: [number, number]; // PEFT's shape: [out, 1] or [1, in]
  scaleInput: boolean; // feed-forward module: scale the input
}

/** One task's vectors (kind "set": one of the kinds of TrainedVectors in trainable.ts). */
export interface Ia3VectorSet {
  kind: "set";
  name: string; // task name
  config: Ia3Config;
  specs: Ia3VectorSpec[]; // in model order (encoder, then decoder)
  variables: Map<string, tf.Variable>; // by path
}

/** Every frozen linear layer of the model, in module order (lm_head excluded: never an (IA)³ target). */
export function linearModules(weights: T5Weights): Linear[] {
  const out: Linear[] = [];
  const ffn = (f: T5Weights["encoder"]["blocks"][number]["ffn"]) =>
    [f.wi, f.wi0, f.wi1, f.wo].forEach((l) => l && out.push(l));
  for (const b of weights.encoder.blocks) {
    const a = b.selfAttention;
    out.push(a.q, a.k, a.v, a.o);
    ffn(b.ffn);
  }
  for (const b of weights.decoder.blocks) {
    for (const a of [b.selfAttention, b.crossAttention]) out.push(a.q, a.k, a.v, a.o);
    ffn(b.ffn);
  }
  return out;
}

/** A linear module's path and size: enough to place (IA)³ vectors (from weights, or from config alone). */
export type LinearShape = Pick<Linear, "path" | "inFeatures" | "outFeatures">;

export function ia3Specs(modules: readonly LinearShape[], config: Ia3Config): Ia3VectorSpec[] {
  const specs: Ia3VectorSpec[] = [];
  for (const lin of modules) {
    if (!moduleMatches(lin.path, config.targetModules)) continue;
    const scaleInput = moduleMatches(lin.path, config.feedforwardModules);
    specs.push({ path: lin.path, shape: scaleInput ? [1, lin.inFeatures] : [lin.outFeatures, 1], scaleInput });
  }
  if (specs.length === 0) {
    throw new TfewError(
      `adapter: target_modules ${JSON.stringify(config.targetModules)} match no linear layer of this model; use names like k, v, wo, wi_1 or a regex over paths like encoder.block.0.layer.0.SelfAttention.k`,
    );
  }
  return specs;
}

/** Creates a vector set with every vector at 1 (or at `initial` values by path). */
export function createVectorSet(
  name: string,
  weights: T5Weights,
  config: Ia3Config,
  initial?: ReadonlyMap<string, Float32Array>,
): Ia3VectorSet {
  const specs = ia3Specs(linearModules(weights), config);
  const variables = new Map<string, tf.Variable>();
  for (const spec of specs) {
    const values = initial?.get(spec.path);
    const init = values ? tf.tensor2d(values, spec.shape) : tf.ones(spec.shape);
    variables.set(spec.path, tf.variable(init, true)); // auto-named: names are global in tfjs
    init.dispose();
  }
  return { kind: "set", name, config, specs, variables };
}

/** The set as forward-pass scales (flattened views of the variables; call inside the gradient function). */
export function toScales(set: Ia3VectorSet): Ia3Scales {
  const scales = new Map<string, { vector: tf.Tensor1D; scaleInput: boolean }>();
  for (const spec of set.specs) {
    const variable = set.variables.get(spec.path) as tf.Variable;
    scales.set(spec.path, { vector: tf.reshape(variable, [-1]) as tf.Tensor1D, scaleInput: spec.scaleInput }); // [n]
  }
  return scales;
}

/** Current values by path (copies), in one device read. */
export async function readVectors(set: Ia3VectorSet): Promise<Map<string, Float32Array>> {
  const paths = [...set.variables.keys()];
  const values = await readPacked([...set.variables.values()]);
  return new Map(paths.map((path, i) => [path, values[i] as Float32Array]));
}

/** Overwrites the variables with new values by path. */
export function assignVectors(set: Ia3VectorSet, values: ReadonlyMap<string, Float32Array>): void {
  for (const spec of set.specs) {
    const data = values.get(spec.path);
    if (data === undefined) throw new Error(`assignVectors: no values for ${spec.path}`);
    const t = tf.tensor2d(data, spec.shape);
    (set.variables.get(spec.path) as tf.Variable).assign(t);
    t.dispose();
  }
}

export function disposeVectorSet(set: Ia3VectorSet): void {
  for (const v of set.variables.values()) v.dispose();
}

/** Number of (IA)³ parameters. */
export function ia3ParameterCount(specs: readonly Ia3VectorSpec[]): number {
  return specs.reduce((n, s) => n + s.shape[0] * s.shape[1], 0);
}
