// The interface Adafactor and AdamW implement (OptimizerCore) and the parameter specs they are built from.
// A leaf: optimizer.ts wraps the cores, so the cores must not import it.

export interface ParamSpec {
  /** parameter name, e.g. the PEFT state-dict name of an (IA)³ vector */
  name: string;
  /** row-major shape; Adafactor factors the second moment of every shape with 2 or more dims */
  shape: number[];
}

export type OptimizerName = "adafactor" | "adamw";

/**
 * What Adafactor and AdamW implement; createOptimizer wraps a core with input checks and the generic
 * state()/loadState() (copies of `slots` plus "step"), so the cores hold only arithmetic.
 */
export interface OptimizerCore {
  readonly name: OptimizerName;
  /** live state arrays by flat key, e.g. "<param>.exp_avg_sq_row"; fixed at construction */
  readonly slots: ReadonlyMap<string, Float32Array>;
  /** optimizer steps taken so far (0 before the first); step() increments it */
  stepCount: number;
  /** assumes checked inputs: every param and grad present with its spec's element count */
  step(params: Map<string, Float32Array>, grads: Map<string, Float32Array>, lr: number): void;
}
