// ROUGE-L (Lin 2004): longest common subsequence of word tokens; P = LCS / |hypothesis|, R = LCS / |reference|,
// F = 2PR / (P + R) (β = 1, as Google's rouge_score reports fmeasure), 0-1. Tokens: lowercased runs of letters and
// digits (rouge_score keeps only [a-z0-9]; here any script's letters count, so non-English text is not dropped).

/** Lowercased word tokens: maximal runs of Unicode letters, marks and digits. */
export function rougeTokens(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? [];
}

/** Length of the longest common subsequence of two token lists (dynamic programming, one row). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = 0; // row[j − 1] of the previous i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = a[i - 1] === b[j - 1] ? diagonal + 1 : Math.max(above, row[j - 1] as number);
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** ROUGE-L F-measure of `hypothesis` against `reference`, 0-1 (0 when either has no tokens). */
export function rougeL(hypothesis: string, reference: string): number {
  const h = rougeTokens(hypothesis);
  const r = rougeTokens(reference);
  if (h.length === 0 || r.length === 0) return 0;
  const lcs = lcsLength(h, r);
  if (lcs === 0) return 0;
  const p = lcs / h.length;
  const rec = lcs / r.length;
  return (2 * p * rec) / (p + rec);
}
