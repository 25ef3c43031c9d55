// SMEAR (Muqeeth et al. 2023, "Soft Merging of Experts with Adaptive Routing"): E (IA)³ experts and, per
// transformer block, a router — a linear map of the masked mean of the block's input to a softmax over the
// experts — whose weights average the experts' vectors per example before the block runs (one merged set of
// vectors per example and block, so the cost is one forward pass whatever E is).
import { tf } from "../backend/tf.js";
import type { Ia3Scale, Ia3Scales } from "../model/layers.js";
import type { BlockRef, Ia3Router } from "../model/routing-hook.js";
import type { T5Weights } from "../model/weights.js";
import type { Ia3Config } from "./ia3-config.js";
import { createVectorSet, type Ia3VectorSet, type Ia3VectorSpec } from "./ia3.js";

export interface SmearRouterWeights {
  weight: tf.Variable; // [dModel, experts]
  bias: tf.Variable; // [experts]
}

export interface SmearAdapter {
  kind: "smear";
  experts: Ia3VectorSet[]; // each a PEFT IA3 set, named by its expert
  routers: Map<string, SmearRouterWeights>; // by block name, "encoder.block.0" … "decoder.block.N"
  dModel: number;
}

export function blockName(block: BlockRef): string {
  return `${block.stack}.block.${block.layer}`;
}

/** Every block's name, encoder first. */
export function blockNames(weights: T5Weights): string[] {
  return [
    ...weights.encoder.blocks.map((_, layer) => blockName({ stack: "encoder", layer })),
    ...weights.decoder.blocks.map((_, layer) => blockName({ stack: "decoder", layer })),
  ];
}

/** Experts (at `initial` values, else identity) and routers at zero (a uniform mixture) or at given values. */
export function createSmear(
  weights: T5Weights,
  config: Ia3Config,
  experts: { name: string; initial?: ReadonlyMap<string, Float32Array> }[],
  routerValues?: ReadonlyMap<string, Float32Array>,
): SmearAdapter {
  const dModel = weights.shared.shape[1] as number;
  const count = experts.length;
  const routers = new Map<string, SmearRouterWeights>();
  for (const name of blockNames(weights)) {
    const w = routerValues?.get(`${name}.weight`);
    const b = routerValues?.get(`${name}.bias`);
    routers.set(name, {
      weight: tf.variable(w ? tf.tensor2d(w, [dModel, count]) : tf.zeros([dModel, count]), true),
      bias: tf.variable(b ? tf.tensor1d(b) : tf.zeros([count]), true),
    });
  }
  return {
    kind: "smear",
    experts: experts.map((e) => createVectorSet(e.name, weights, config, e.initial)),
    routers,
    dModel,
  };
}

/**
 * The forward-pass router (call inside the gradient function). `fixed` [batch, experts] replaces every
 * router's softmax (tests: one-hot = task routing).
 */
export function smearRouter(adapter: SmearAdapter, options: { fixed?: tf.Tensor2D } = {}): Ia3Router {
  const first = adapter.experts[0] as Ia3VectorSet;
  const byBlock = new Map<string, Ia3VectorSpec[]>();
  for (const spec of first.specs) {
    const block = /^(encoder|decoder)\.block\.\d+/.exec(spec.path)?.[0] ?? "";
    byBlock.set(block, [...(byBlock.get(block) ?? []), spec]);
  }
  return {
    blockScales(block, input) {
      const name = blockName(block);
      const router = adapter.routers.get(name) as SmearRouterWeights;
      const probs =
        options.fixed ??
        (tf.softmax(tf.add(tf.matMul(input, router.weight as tf.Tensor2D), router.bias)) as tf.Tensor2D); // [batch, d]·[d, E] → [batch, E]
      const scales = new Map<string, Ia3Scale>();
      for (const spec of byBlock.get(name) ?? []) {
        const table = tf.stack(
          adapter.experts.map((e) => tf.reshape(e.variables.get(spec.path) as tf.Variable, [-1])),
        ) as tf.Tensor2D; // [E, n]
        scales.set(spec.path, { vector: tf.matMul(probs, table), scaleInput: spec.scaleInput }); // [batch, n]
      }
      return scales as Ia3Scales;
    },
  };
}

/** Router routing probabilities of a block for inputs [batch, d] (reports and tests). */
export function routerProbs(adapter: SmearAdapter, block: BlockRef, input: tf.Tensor2D): tf.Tensor2D {
  const router = adapter.routers.get(blockName(block)) as SmearRouterWeights;
  return tf.softmax(tf.add(tf.matMul(input, router.weight as tf.Tensor2D), router.bias)) as tf.Tensor2D; // [batch, E]
}

export function disposeSmear(adapter: SmearAdapter): void {
  for (const e of adapter.experts) for (const v of e.variables.values()) v.dispose();
  for (const r of adapter.routers.values()) tf.dispose([r.weight, r.bias]);
}
