// `tfew score`: log-likelihood of each target given its source — Σ log p over the target's tokens
// including </s> (what HF's loss × token count gives), through the same ranking pipeline as eval.
import type { AdapterVectors } from "../adapters/trainable.js";
import { rankExamples } from "../engine/inference.js";
import type { Workspace } from "../engine/workspace.js";

export interface ScorePair {
  source: string;
  target: string;
}

export interface ScoreResult {
  logprob: number; // Σ log p(target token), </s> included
  tokens: number; // target tokens, </s> included
}

export async function scorePairs(
  ws: Workspace,
  adapter: AdapterVectors | null,
  pairs: readonly ScorePair[],
  options: { batchSize: number; workers?: number | "auto"; onBatch?: (done: number) => void },
): Promise<ScoreResult[]> {
  const inputs = pairs.map((p) => ({
    inputIds: ws.tokenizer.encode(p.source),
    choices: [ws.tokenizer.encode(p.target)],
  }));
  const r = await rankExamples(ws, adapter, inputs, {
    lengthNorm: 0,
    choiceChunk: 1,
    batchSize: options.batchSize,
    workers: options.workers ?? 1,
    onProgress: options.onBatch,
    what: "score",
  });
  return r.nllSums.map((s, i) => ({
    logprob: -(s[0] as number),
    tokens: ((inputs[i] as (typeof inputs)[number]).choices[0] as number[]).length,
  }));
}
