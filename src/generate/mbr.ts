// Minimum Bayes risk selection (Kumar & Byrne 2004; as ZurichNLP/mbr and naist-nlp/mbrs use it for sampled or
// beam candidates): candidate i's expected utility is Σ_j u(y_i, y_j) / N over all N candidates as pseudo-
// references (j = i included, which adds the same maximal self-utility to every non-empty candidate); the
// winner has the highest, ties going to the lowest index.
import { sentenceBleu } from "./bleu.js";
import { chrf } from "./chrf.js";
import { rougeL } from "./rouge.js";

export type UtilityName = "chrf" | "bleu" | "rouge-l";
export type Utility = (hypothesis: string, reference: string) => number;

export const UTILITIES: Readonly<Record<UtilityName, Utility>> = { chrf, bleu: sentenceBleu, "rouge-l": rougeL };

/** Expected utility of every candidate from a full utility table u[i][j] = u(y_i, y_j). */
export function expectedUtilities(table: readonly (readonly number[])[]): number[] {
  const n = table.length;
  return table.map((row) => row.reduce((sum, u) => sum + u, 0) / n);
}

/** Candidate indices best first (expected utility descending, ties by lower index) and their expected utilities. */
export function rankByExpected(expected: readonly number[]): number[] {
  return expected.map((_, i) => i).sort((a, b) => (expected[b] as number) - (expected[a] as number) || a - b);
}

/** MBR over candidate texts: the ranking (order[0] is the MBR choice) and each candidate's expected utility. */
export function mbrSelect(texts: readonly string[], utility: Utility): { order: number[]; expected: number[] } {
  const cache = new Map<string, number>();
  const table = texts.map((h) =>
    texts.map((r) => {
      const key = `${h}\u0000${r}`;
      let u = cache.get(key);
      if (u === undefined) cache.set(key, (u = utility(h, r)));
      return u;
    }),
  );
  const expected = expectedUtilities(table);
  return { order: rankByExpected(expected), expected };
}
