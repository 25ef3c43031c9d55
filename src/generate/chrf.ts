// chrF (Popović 2015) as sacrebleu's default CHRF(): character n-grams of orders 1..6 with whitespace removed, no
// word n-grams, β = 2; precision and recall averaged over the orders where both sides have n-grams, then
// F_β = (1 + β²)·P·R / (β²·P + R), on sacrebleu's 0-100 scale.

export const CHRF_CHAR_ORDER = 6;
export const CHRF_BETA = 2;

/** Counts of the character n-grams of `text` (whole code points). */
export function charNgrams(text: string, n: number): Map<string, number> {
  const chars = Array.from(text);
  const out = new Map<string, number>();
  for (let i = 0; i + n <= chars.length; i++) {
    const gram = chars.slice(i, i + n).join("");
    out.set(gram, (out.get(gram) ?? 0) + 1);
  }
  return out;
}

/** Σ min(count in a, count in b): the clipped matches of two n-gram count tables. */
export function matches(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): number {
  let m = 0;
  for (const [gram, count] of a) m += Math.min(count, b.get(gram) ?? 0);
  return m;
}

function total(counts: ReadonlyMap<string, number>): number {
  let t = 0;
  for (const c of counts.values()) t += c;
  return t;
}

/** Sentence chrF of `hypothesis` against `reference`, 0-100. */
export function chrf(hypothesis: string, reference: string, order = CHRF_CHAR_ORDER, beta = CHRF_BETA): number {
  const hyp = hypothesis.replace(/\s+/gu, "");
  const ref = reference.replace(/\s+/gu, "");
  let precision = 0;
  let recall = 0;
  let effective = 0;
  for (let n = 1; n <= order; n++) {
    const h = charNgrams(hyp, n);
    const r = charNgrams(ref, n);
    const nh = total(h);
    const nr = total(r);
    if (nh === 0 || nr === 0) continue;
    const m = matches(h, r);
    precision += m / nh;
    recall += m / nr;
    effective++;
  }
  if (effective === 0) return 0;
  precision /= effective;
  recall /= effective;
  if (precision + recall === 0) return 0;
  const b2 = beta * beta;
  return (100 * ((1 + b2) * precision * recall)) / (b2 * precision + recall);
}
