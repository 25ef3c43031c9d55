// transformers' generate defaults (as GenerateSettings) with max_new_tokens 12, the fixture's setting.
import type { GenerateSettings } from "../../src/generate/generate.js";

export const HF_DEFAULTS: GenerateSettings = {
  strategy: "greedy",
  maxNewTokens: 12,
  minNewTokens: 0,
  numBeams: 1,
  lengthPenalty: 1,
  earlyStopping: false,
  numReturnSequences: 1,
  temperature: 1,
  topK: 50,
  topP: 1,
  repetitionPenalty: 1,
  noRepeatNgramSize: 0,
  seed: 42,
  mbrCandidates: 8,
  mbrCandidatesFrom: "sample",
  mbrUtility: "chrf",
  batchSize: 16,
  eosId: null,
};
