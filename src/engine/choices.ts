// Answer choices as decoder token ids: each label name tokenized and cut to data.max_choice_len tokens (the
// last kept token is </s>, as T-Few's rank classification scores whole choices). Two labels that end up with the
// same ids would score identically, so eval would predict one of them everywhere: that is refused here.
import { TfewError } from "../errors.js";

export interface ChoiceTokenizer {
  encode(text: string): number[];
  eosId: number;
}

/** Token ids per label, each at most `maxLen` long and ending in </s>; one line when two labels collide. */
export function choiceTokenIds(labels: readonly string[], tokenizer: ChoiceTokenizer, maxLen: number): number[][] {
  const full = labels.map((name) => tokenizer.encode(name));
  const cut = full.map((ids) => (ids.length <= maxLen ? ids : [...ids.slice(0, maxLen - 1), tokenizer.eosId]));
  const seen = new Map<string, number>();
  cut.forEach((ids, i) => {
    const key = ids.join(",");
    const j = seen.get(key);
    if (j === undefined) {
      seen.set(key, i);
      return;
    }
    const pair = `"${labels[j]}" and "${labels[i]}"`;
    if (full[i]!.join(",") !== full[j]!.join(",")) {
      const need = commonPrefix(full[i]!, full[j]!) + 2; // the first differing token, plus </s>
      throw new TfewError(
        `answer choices ${pair} are the same ${maxLen} token(s) after data.max_choice_len truncation, so ` +
          `they cannot be told apart; set data.max_choice_len to at least ${need} or rename a label (data.labels)`,
      );
    }
    throw new TfewError(
      `answer choices ${pair} tokenize to the same tokens, so they cannot be told apart; ` +
        `rename one of them (data.labels)`,
    );
  });
  return cut;
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}
