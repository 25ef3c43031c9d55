// Sentence BLEU (Papineni et al. 2002) as sacrebleu's sentence_bleu defaults: 13a tokenization, n-grams 1..4,
// clipped counts, "exp" smoothing (the k-th order with no match counts 1/2^k matches: mteval-v13a's smoothing),
// effective order (orders the hypothesis is too short for are left out), brevity penalty; 0-100.

export const BLEU_MAX_ORDER = 4;

/** sacrebleu's 13a tokenizer (mteval-v13a.pl): punctuation split off, except . and , between digits. */
export function tokenize13a(text: string): string[] {
  let line = text
    .replace(/<skipped>/g, "")
    .replace(/-\n/g, "")
    .replace(/\n/g, " ");
  if (line.includes("&"))
    line = line
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, "&")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">");
  line = ` ${line} `
    .replace(/([{-~[-` -&(-+:-@/])/g, " $1 ")
    .replace(/([^0-9])([.,])/g, "$1 $2 ")
    .replace(/([.,])([^0-9])/g, " $1 $2")
    .replace(/([0-9])(-)/g, "$1 $2 ");
  return line.split(/\s+/).filter((t) => t.length > 0);
}

/** Counts of the word n-grams of `tokens`. */
export function wordNgrams(tokens: readonly string[], n: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const gram = tokens.slice(i, i + n).join("\u0001");
    out.set(gram, (out.get(gram) ?? 0) + 1);
  }
  return out;
}

/** Clipped n-gram matches and hypothesis n-gram counts for orders 1..maxOrder (the modified precision's parts). */
export function ngramStats(
  hyp: readonly string[],
  ref: readonly string[],
  maxOrder = BLEU_MAX_ORDER,
): { correct: number[]; total: number[] } {
  const correct: number[] = [];
  const total: number[] = [];
  for (let n = 1; n <= maxOrder; n++) {
    const h = wordNgrams(hyp, n);
    const r = wordNgrams(ref, n);
    let c = 0;
    let t = 0;
    for (const [gram, count] of h) {
      c += Math.min(count, r.get(gram) ?? 0);
      t += count;
    }
    correct.push(c);
    total.push(t);
  }
  return { correct, total };
}

/** Sentence BLEU of `hypothesis` against one `reference`, 0-100. */
export function sentenceBleu(hypothesis: string, reference: string, maxOrder = BLEU_MAX_ORDER): number {
  const hyp = tokenize13a(hypothesis);
  const ref = tokenize13a(reference);
  if (hyp.length === 0 || ref.length === 0) return 0;
  const { correct, total } = ngramStats(hyp, ref, maxOrder);
  if ((correct[0] as number) === 0) return 0; // sacrebleu: no unigram match scores 0
  let logSum = 0;
  let order = 0;
  let smooth = 1;
  for (let n = 0; n < maxOrder; n++) {
    const t = total[n] as number;
    if (t === 0) break; // effective order: the hypothesis has no n-grams of this order
    order++;
    let precision: number;
    if ((correct[n] as number) === 0) {
      smooth *= 2;
      precision = 1 / (smooth * t);
    } else precision = (correct[n] as number) / t;
    logSum += Math.log(precision);
  }
  const brevity = hyp.length < ref.length ? Math.exp(1 - ref.length / hyp.length) : 1;
  return 100 * brevity * Math.exp(logSum / order);
}
