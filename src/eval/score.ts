// `tfew score`: log-likelihood of each target given its source — Σ log p over the target's tokens
// including </s> (what HF's loss × token count gives), through the same chunked decoder as rank eval.
import type { Ia3VectorSet } from "../adapters/ia3.js";
import type { T5Tokenizer } from "../data/tokenizer.js";
import type { T5Model } from "../model/t5.js";
import { rankAll } from "./rank.js";

export interface ScorePair {
  source: string;
  target: string;
}

export interface ScoreResult {
  logprob: number; // Σ log p(target token), </s> included
  tokens: number; // target tokens, </s> included
}

export async function scorePairs(
  model: T5Model,
  adapter: Ia3VectorSet | null,
  tokenizer: T5Tokenizer,
  pairs: readonly ScorePair[],
  options: { batchSize: number; onBatch?: (done: number) => void },
): Promise<ScoreResult[]> {
  const inputs = pairs.map((p) => ({ inputIds: tokenizer.encode(p.source), choices: [tokenizer.encode(p.target)] }));
  const r = await rankAll(model, adapter, inputs, { lengthNorm: 0, choiceChunk: 1, batchSize: options.batchSize, onBatch: options.onBatch });
  return r.nllSums.map((s, i) => ({ logprob: -(s[0] as number), tokens: ((inputs[i] as (typeof inputs)[number]).choices[0] as number[]).length }));
}
