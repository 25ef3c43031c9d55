// Generation over many inputs: batches of prompts, one decoder session each (encoder and cross-attention K/V once),
// then greedy, beam search, sampling or MBR over sampled / beam candidates. Settings and defaults mirror
// transformers' `generate`; the results are token ids with their log-probabilities, best candidate first.
import type { AdapterVectors } from "../adapters/trainable.js";
import { openSession } from "../engine/decoder-session.js";
import { mulberry32 } from "../engine/rng.js";
import type { T5Model } from "../model/t5.js";
import { beamSearch } from "./beam.js";
import { mbrSelect, UTILITIES, type UtilityName } from "./mbr.js";
import { pickSearch, type DecodeSettings, type Hypothesis } from "./search.js";

export type Strategy = "greedy" | "beam" | "sample" | "mbr";

export interface GenerateSettings {
  strategy: Strategy;
  maxNewTokens: number;
  minNewTokens: number;
  numBeams: number;
  lengthPenalty: number;
  earlyStopping: boolean | "never";
  numReturnSequences: number;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  noRepeatNgramSize: number;
  seed: number;
  mbrCandidates: number;
  mbrCandidatesFrom: "sample" | "beam";
  mbrUtility: UtilityName;
  batchSize: number;
  eosId: number | null; // null = the model's eos_token_id
}

/** One input's output: candidates best first (greedy: one; MBR: ordered by expected utility, `utility` set). */
export interface Generation {
  candidates: (Hypothesis & { utility?: number })[];
}

export interface GenerateStats {
  inputs: number;
  newTokens: number; // tokens decoded over every row (beams and samples included)
  steps: number; // decoder steps over all batches
  seconds: number; // wall time of the decoding (encoder included)
}

export interface GenerateOptions {
  decode?: (ids: number[]) => string; // token ids → text (MBR's utilities compare texts)
  onBatch?: (done: number) => void;
}

/** Per-row generator: seeded by (seed, input index, row), so a draw never depends on the batch it ran in. */
export function rowRandom(seed: number, input: number, row: number): () => number {
  const mixed = Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(input + 1, 0x85ebca6b) ^ Math.imul(row + 1, 0xc2b2ae35);
  return mulberry32(mixed >>> 0);
}

export async function generate(
  model: T5Model,
  adapter: AdapterVectors | null,
  prompts: readonly number[][],
  settings: GenerateSettings,
  options: GenerateOptions = {},
): Promise<{ generations: Generation[]; stats: GenerateStats }> {
  const start = performance.now();
  const stats: GenerateStats = { inputs: prompts.length, newTokens: 0, steps: 0, seconds: 0 };
  const generations: Generation[] = [];
  for (let first = 0; first < prompts.length; first += settings.batchSize) {
    const batch = prompts.slice(first, first + settings.batchSize);
    const lists = await generateBatch(model, adapter, batch, settings, { first, stats });
    for (const candidates of lists) generations.push(finish(candidates, settings, options));
    options.onBatch?.(Math.min(first + settings.batchSize, prompts.length));
    await new Promise((r) => setImmediate(r)); // let timers and progress run between batches
  }
  stats.seconds = (performance.now() - start) / 1000;
  return { generations, stats };
}

function finish(candidates: Hypothesis[], s: GenerateSettings, options: GenerateOptions): Generation {
  if (s.strategy !== "mbr") return { candidates };
  const decode = options.decode ?? ((ids: number[]) => ids.join(" "));
  const texts = candidates.map((c) => decode(c.ids));
  const { order, expected } = mbrSelect(texts, UTILITIES[s.mbrUtility]);
  return { candidates: order.map((i) => ({ ...(candidates[i] as Hypothesis), utility: expected[i] as number })) };
}

/** How each strategy searches: rows per input, and beam settings when it is a beam search. */
function plan(s: GenerateSettings): { group: number; beams: number | null; returned: number } {
  const mbr = s.strategy === "mbr";
  const returned = mbr ? s.mbrCandidates : s.numReturnSequences;
  const beam = s.strategy === "beam" || (mbr && s.mbrCandidatesFrom === "beam");
  if (beam) {
    const beams = Math.max(s.numBeams, returned);
    return { group: beams, beams, returned };
  }
  return { group: s.strategy === "greedy" ? 1 : returned, beams: null, returned };
}

async function generateBatch(
  model: T5Model,
  adapter: AdapterVectors | null,
  batch: readonly number[][],
  s: GenerateSettings,
  at: { first: number; stats: GenerateStats },
): Promise<Hypothesis[][]> {
  const { group, beams, returned } = plan(s);
  const decodeSettings: DecodeSettings = {
    maxNewTokens: s.maxNewTokens,
    minNewTokens: s.minNewTokens,
    repetitionPenalty: s.repetitionPenalty,
    noRepeatNgramSize: s.noRepeatNgramSize,
    eosId: s.eosId ?? model.config.eosTokenId,
    startId: model.config.decoderStartTokenId,
    padId: model.config.padTokenId,
  };
  const session = openSession(model, adapter, batch, group);
  try {
    let out: Hypothesis[][];
    if (beams !== null) {
      out = await beamSearch(session, decodeSettings, {
        numBeams: beams,
        lengthPenalty: s.lengthPenalty,
        earlyStopping: s.earlyStopping,
        numReturnSequences: returned,
      });
    } else {
      const sample =
        s.strategy === "greedy"
          ? null
          : {
              temperature: s.temperature,
              topK: s.topK,
              topP: s.topP,
              rand: Array.from({ length: session.rows }, (_, r) =>
                rowRandom(s.seed, at.first + Math.floor(r / group), r % group),
              ),
            };
      const rows = await pickSearch(session, decodeSettings, sample);
      out = batch.map((_, i) => rows.slice(i * group, (i + 1) * group));
    }
    at.stats.steps += session.position;
    at.stats.newTokens += session.position * session.rows;
    return out;
  } finally {
    session.dispose();
  }
}
