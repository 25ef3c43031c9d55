// The scores `tfew eval` reports on a generative task (data.target_field): exact match and the means over examples
// of sentence chrF (sacrebleu's CHRF defaults, 0-100), sentence BLEU (sacrebleu's sentence_bleu defaults, 0-100)
// and ROUGE-L F (0-1) of each generation against its target.
import { sentenceBleu } from "./bleu.js";
import { chrf } from "./chrf.js";
import { rougeL } from "./rouge.js";

export interface GenerationMetrics {
  n: number;
  exact_match: number; // share of generations equal to their target (whitespace runs as one space, ends trimmed)
  chrf: number; // mean sentence chrF, 0-100
  bleu: number; // mean sentence BLEU, 0-100
  rouge_l: number; // mean ROUGE-L F-measure, 0-1
}

/** Text compared by exact match: ends trimmed, whitespace runs as one space (case and punctuation kept). */
export function exactMatchForm(text: string): string {
  return text.trim().replace(/\s+/gu, " ");
}

/** The four scores of `generations` against `targets` (same length, in order). */
export function generationMetrics(targets: readonly string[], generations: readonly string[]): GenerationMetrics {
  if (targets.length !== generations.length)
    throw new Error(`generationMetrics: ${generations.length} generations for ${targets.length} targets`);
  const n = targets.length;
  const mean = (score: (hypothesis: string, reference: string) => number) =>
    n === 0 ? 0 : generations.reduce((sum, g, i) => sum + score(g, targets[i] as string), 0) / n;
  return {
    n,
    exact_match: mean((g, t) => (exactMatchForm(g) === exactMatchForm(t) ? 1 : 0)),
    chrf: mean(chrf),
    bleu: mean(sentenceBleu),
    rouge_l: mean(rougeL),
  };
}
