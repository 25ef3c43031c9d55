// The `generate:` config section (src/config/schema.ts) as GenerateSettings, with the checks transformers' generate
// makes before it runs (one TfewError line naming the key), and the JSONL output rows of `tfew generate`.
import type { RunConfig } from "../config/schema.js";
import { TfewError } from "../errors.js";
import type { GenerateSettings, Generation } from "./generate.js";

/** transformers' default max_length is 20 including the decoder start token. */
export const DEFAULT_MAX_NEW_TOKENS = 19;

export function generateSettings(config: RunConfig): GenerateSettings {
  const g = config.generate;
  const beamSearch = g.strategy === "beam" || (g.strategy === "mbr" && g.mbr_candidates_from === "beam");
  if (g.strategy === "beam" && g.num_return_sequences > g.num_beams)
    throw new TfewError(
      `generate.num_return_sequences (${g.num_return_sequences}) must be <= generate.num_beams (${g.num_beams}) ` +
        `for beam search; raise --num-beams or lower --num-return-sequences`,
    );
  if (g.strategy === "greedy" && g.num_return_sequences > 1)
    throw new TfewError(
      `generate.num_return_sequences ${g.num_return_sequences} needs --strategy beam or sample (greedy gives one)`,
    );
  if (beamSearch && g.num_beams === 1 && g.strategy === "beam")
    throw new TfewError("generate.strategy beam needs generate.num_beams >= 2 (1 is greedy); give --num-beams 4");
  return {
    strategy: g.strategy,
    maxNewTokens: g.max_new_tokens ?? DEFAULT_MAX_NEW_TOKENS,
    minNewTokens: g.min_new_tokens,
    numBeams: g.num_beams,
    lengthPenalty: g.length_penalty,
    earlyStopping: g.early_stopping,
    numReturnSequences: g.num_return_sequences,
    temperature: g.temperature,
    topK: g.top_k,
    topP: g.top_p,
    repetitionPenalty: g.repetition_penalty,
    noRepeatNgramSize: g.no_repeat_ngram_size,
    seed: config.seed,
    mbrCandidates: g.mbr_candidates,
    mbrCandidatesFrom: g.mbr_candidates_from,
    mbrUtility: g.mbr_utility,
    batchSize: g.batch_size,
    eosId: g.eos_token_id,
  };
}

/**
 * Token ids → text, leaving out ids the tokenizer has no piece for: a model's vocab_size may be padded past the
 * tokenizer's (T5: 32128 vs 32100; the demo model too), and those ids decode to nothing (as Hugging Face's decode).
 */
export function textDecoder(tokenizer: {
  vocabSize: number;
  decode(ids: number[]): string;
}): (ids: number[]) => string {
  return (ids) => tokenizer.decode(ids.filter((id) => id < tokenizer.vocabSize));
}

export interface OutputCandidate {
  text: string;
  ids: number[];
  score: number; // beam: sequences_score; mbr: expected utility; sample: logprob
  logprob: number;
}

/** One output line: the input's fields, then generation, ids, logprob (and candidates for beam, sample, MBR). */
export function outputRow(
  input: Record<string, unknown>,
  generation: Generation,
  strategy: GenerateSettings["strategy"],
  decode: (ids: number[]) => string,
): Record<string, unknown> {
  const best = generation.candidates[0];
  const row: Record<string, unknown> = {
    ...input,
    generation: best ? decode(best.ids) : "",
    ids: best?.ids ?? [],
    logprob: best?.logprob ?? 0,
  };
  if (strategy === "beam" || strategy === "mbr" || generation.candidates.length > 1) {
    row.candidates = generation.candidates.map((c): OutputCandidate => ({
      text: decode(c.ids),
      ids: c.ids,
      score: strategy === "mbr" ? (c.utility as number) : c.score,
      logprob: c.logprob,
    }));
  }
  return row;
}
