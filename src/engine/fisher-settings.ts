// Which Fisher diagonal to compute (model or empirical) and its length normalization: shared by fisher.ts and
// the worker pool's Fisher jobs (pool.ts). A leaf, so the pool's job types need not import fisher.ts.

export const FISHER_KINDS = ["model", "empirical"] as const;
/** model: expectation over the model's own p(c|x); empirical: the gold label's log-likelihood only */
export type FisherKind = (typeof FISHER_KINDS)[number];

export interface FisherSettings {
  kind: FisherKind;
  lengthNorm: number; // eval.length_norm: score = Σ NLL / length^lengthNorm
}
