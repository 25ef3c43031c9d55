// The optimizer the training loop holds (checks + state copies over a core: Adafactor, AdamW) and its factory.
// Optimizers run in plain JS on Float32Arrays: the (IA)³ vectors are tiny, so no tf backend is involved.
import { TfewError } from "../errors.js";
import { Adafactor } from "./adafactor.js";
import { AdamW } from "./adamw.js";
import type { OptimizerCore, OptimizerName, ParamSpec } from "./optimizer-types.js";

/** Serializable optimizer state: flat names like "<param>.exp_avg_sq_row", plus "step". */
export type OptimizerState = Record<string, Float32Array | number>;

export interface Optimizer {
  readonly name: OptimizerName;
  /** Updates params in place from grads; lr is the scheduled (external) learning rate of this step. */
  step(params: Map<string, Float32Array>, grads: Map<string, Float32Array>, lr: number): void;
  /** A copy of the state (safe to keep while stepping on). */
  state(): OptimizerState;
  /** Replaces the state with a copy of a saved one; throws TfewError when it does not fit the params. */
  loadState(state: OptimizerState): void;
}

export interface OptimizerConfig {
  name: OptimizerName;
  /** decoupled weight decay (AdamW: p *= 1 - lr*wd; Adafactor: p -= wd * lr_t * p) */
  weightDecay: number;
  /** AdamW only (default torch's [0.9, 0.999]); Adafactor runs with beta1 = None as in T-Few and ignores it */
  betas?: [number, number];
  /** AdamW only (default 1e-8); Adafactor keeps HF's eps = (1e-30, 1e-3) */
  eps?: number;
}

export function createOptimizer(config: OptimizerConfig, params: ParamSpec[]): Optimizer {
  checkSpecs(params);
  if (!Number.isFinite(config.weightDecay) || config.weightDecay < 0) {
    throw new TfewError(
      `optimizer: weight_decay ${config.weightDecay} is not a finite number >= 0; set weight_decay to e.g. 0 or 0.01`,
    );
  }
  const [beta1, beta2] = config.betas ?? [0.9, 0.999];
  if (![beta1, beta2].every((b) => Number.isFinite(b) && b >= 0 && b < 1)) {
    throw new TfewError(`optimizer: betas [${beta1}, ${beta2}] must lie in [0, 1); e.g. betas [0.9, 0.999]`);
  }
  if (config.eps !== undefined && !(Number.isFinite(config.eps) && config.eps > 0)) {
    throw new TfewError(`optimizer: eps ${config.eps} is not a finite number > 0; e.g. eps 1e-8`);
  }
  let inner: OptimizerCore;
  if (config.name === "adafactor") {
    inner = new Adafactor(params, { weightDecay: config.weightDecay });
  } else if (config.name === "adamw") {
    inner = new AdamW(params, { weightDecay: config.weightDecay, betas: config.betas, eps: config.eps });
  } else {
    throw new TfewError(`optimizer: unknown name "${String(config.name)}"; use "adafactor" or "adamw"`);
  }
  return {
    name: inner.name,
    step(values, grads, lr) {
      checkStepInputs(params, values, grads, lr);
      inner.step(values, grads, lr);
    },
    state: () => saveState(inner),
    loadState: (state) => loadState(inner, state),
  };
}

/** Number of elements of a shape ([] -> 1). */
function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function checkSpecs(params: ParamSpec[]): void {
  const seen = new Set<string>();
  for (const spec of params) {
    if (seen.has(spec.name)) throw new TfewError(`optimizer: parameter ${spec.name} is listed twice; pass each once`);
    seen.add(spec.name);
    if (!spec.shape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new TfewError(
        `optimizer: parameter ${spec.name} has shape [${spec.shape.join(", ")}]; every dim must be a positive integer`,
      );
    }
  }
}

function checkStepInputs(
  params: ParamSpec[],
  values: Map<string, Float32Array>,
  grads: Map<string, Float32Array>,
  lr: number,
): void {
  if (!Number.isFinite(lr) || lr < 0) {
    throw new TfewError(`optimizer step: learning rate ${lr} is not a finite number >= 0; check the lr schedule`);
  }
  for (const spec of params) {
    const size = shapeSize(spec.shape);
    for (const [what, map] of [
      ["value", values],
      ["gradient", grads],
    ] as const) {
      const data = map.get(spec.name);
      if (data === undefined) {
        throw new TfewError(`optimizer step: no ${what} for parameter ${spec.name}; pass every trained parameter`);
      }
      if (data.length !== size) {
        throw new TfewError(
          `optimizer step: ${what} of ${spec.name} has ${data.length} elements, expected ${size} ` +
            `(shape [${spec.shape.join(", ")}]); pass the flattened tensor`,
        );
      }
    }
  }
  if (values.size !== params.length || grads.size !== params.length) {
    const known = new Set(params.map((p) => p.name));
    const extra = [...values.keys(), ...grads.keys()].find((name) => !known.has(name));
    throw new TfewError(`optimizer step: parameter ${extra ?? "?"} was not given to createOptimizer; list it there`);
  }
}

function saveState(core: OptimizerCore): OptimizerState {
  const out: OptimizerState = { step: core.stepCount };
  for (const [key, data] of core.slots) out[key] = data.slice();
  return out;
}

function loadState(core: OptimizerCore, state: OptimizerState): void {
  const step = state.step;
  if (typeof step !== "number" || !Number.isInteger(step) || step < 0) {
    throw new TfewError(
      `optimizer state: "step" is ${String(step)}, expected an integer >= 0; the state file is damaged`,
    );
  }
  for (const key of Object.keys(state)) {
    if (key !== "step" && !core.slots.has(key)) {
      throw new TfewError(
        `optimizer state: unexpected key ${key} for ${core.name}; resume with the optimizer and parameters it was saved with`,
      );
    }
  }
  // Check everything before changing anything, so a failed load leaves the optimizer as it was.
  for (const [key, target] of core.slots) {
    const saved = state[key];
    if (!(saved instanceof Float32Array)) {
      throw new TfewError(
        `optimizer state: ${key} is missing or not a Float32Array; resume with the optimizer and parameters it was saved with`,
      );
    }
    if (saved.length !== target.length) {
      throw new TfewError(
        `optimizer state: ${key} has ${saved.length} elements, expected ${target.length}; the adapter shapes changed since it was saved`,
      );
    }
  }
  for (const [key, target] of core.slots) target.set(state[key] as Float32Array);
  core.stepCount = step;
}
