// Prompt templates: the exact RAFT format, custom templates, longest-first truncation (with a one-token-per-word
// fake tokenizer, then the real T5 tokenizer), and every shared RAFT example within 256 tokens.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { SHARED_RAFT_DIR, SHARED_TOKENIZER_DIR, hasSharedRaft, hasSharedTokenizer, skipNote } from "../../tests/helpers/shared.js";
import { loadRaftTask } from "./raft.js";
import type { Example, TaskData } from "./task-types.js";
import { answerChoices, renderPrompt } from "./template.js";
import { loadTokenizer, type T5Tokenizer } from "./tokenizer.js";

/** One token per whitespace-separated word (+ </s>), so token counts are easy to see. */
const wordTokenizer: T5Tokenizer = {
  encode: (text, options = {}) => [...text.split(/\s+/).filter((w) => w !== "").map(() => 5), ...(options.addEos === false ? [] : [1])],
  decode: () => "",
  truncate: (text, maxTokens) => {
    const ends = [...text.matchAll(/\S+/g)].map((m) => m.index + m[0].length);
    return maxTokens <= 0 ? "" : text.slice(0, ends[Math.min(maxTokens, ends.length) - 1] ?? 0);
  },
  padId: 0,
  eosId: 1,
  vocabSize: 32100,
};

const task: TaskData = {
  name: "toy",
  labelNames: ["complaint", "no complaint"],
  textFields: ["Tweet text", "Source"],
  instruction: "Is this tweet a complaint? ",
  train: [],
  test: [],
  files: [],
};
const example: Example = { id: "7", fields: { "Tweet text": "  my parcel never came ", Source: "" }, label: 0 };

describe("RAFT template", () => {
  it("joins instruction, labels, non-empty fields and Label: exactly as documented", () => {
    const out = renderPrompt(task, example, { tokenizer: wordTokenizer, maxSeqLen: 256 });
    expect(out.text).toBe("Is this tweet a complaint? Possible labels: complaint, no complaint\nTweet text: my parcel never came\nLabel:");
    expect(out.ids).toHaveLength(18);
    expect(out.ids.at(-1)).toBe(1);
    expect(out.truncatedFields).toEqual([]);
    expect(answerChoices(task)).toEqual(["complaint", "no complaint"]);
  });

  it("renders custom templates with {instruction}, {labels}, fields and {{ }} escapes", () => {
    const template = "{{Q}} {instruction} [{labels}] Source={Source} Text={Tweet text} ->";
    const out = renderPrompt(task, example, { tokenizer: wordTokenizer, maxSeqLen: 256, template });
    expect(out.text).toBe("{Q} Is this tweet a complaint? [complaint, no complaint] Source= Text=my parcel never came ->");
    expect(() => renderPrompt(task, example, { tokenizer: wordTokenizer, maxSeqLen: 256, template: "{Tweet}" })).toThrow(
      /placeholder \{Tweet\} is unknown for task toy; use \{instruction\}, \{labels\} or \{Tweet text\}, \{Source\}/,
    );
    expect(() => renderPrompt(task, example, { tokenizer: wordTokenizer, maxSeqLen: 256, template: "a {labels" })).toThrow(/unclosed "\{"/);
    expect(() => renderPrompt(task, example, { tokenizer: wordTokenizer, maxSeqLen: 256, template: "a } b" })).toThrow(/stray "\}"/);
  });

  it("cuts the longest field first, down to a common level, never the fixed parts", () => {
    const words = (n: number, w: string): string => Array.from({ length: n }, (_, i) => `${w}${i}`).join(" ");
    const long: Example = { id: "1", fields: { "Tweet text": words(100, "t"), Source: words(10, "s") } };
    // Fixed parts: 10 words + "Tweet text:" (2) + "Source:" (1) + "Label:" (1) + </s> = 15 tokens.
    const out = renderPrompt(task, long, { tokenizer: wordTokenizer, maxSeqLen: 40 });
    expect(out.ids).toHaveLength(40);
    expect(out.truncatedFields).toEqual(["Tweet text"]);
    expect(out.text).toBe(`Is this tweet a complaint? Possible labels: complaint, no complaint\nTweet text: ${words(15, "t")}\nSource: ${words(10, "s")}\nLabel:`);
    const both = renderPrompt(task, long, { tokenizer: wordTokenizer, maxSeqLen: 25 }); // 10 tokens for both fields
    expect(both.truncatedFields).toEqual(["Tweet text", "Source"]);
    expect(both.text).toContain(`Tweet text: ${words(5, "t")}\nSource: ${words(5, "s")}\nLabel:`);
    const none = renderPrompt(task, long, { tokenizer: wordTokenizer, maxSeqLen: 12 }); // no room: both lines go
    expect(none.text).toBe("Is this tweet a complaint? Possible labels: complaint, no complaint\nLabel:");
    expect(none.truncatedFields).toEqual(["Tweet text", "Source"]);
    expect(() => renderPrompt(task, long, { tokenizer: wordTokenizer, maxSeqLen: 11 })).toThrow(
      /prompt of task toy is 12 tokens with every text field empty \(example 1\), over data\.max_seq_len=11; raise data\.max_seq_len \(to at least 28 for some text\) or shorten the instruction/,
    );
  });
});

if (!hasSharedTokenizer) console.log(skipNote("models/t5-tokenizer/tokenizer.json"));
if (!hasSharedRaft) console.log(skipNote("data/raft"));

describe.skipIf(!hasSharedTokenizer)("RAFT template with the T5 tokenizer", () => {
  let tok: T5Tokenizer;
  beforeAll(async () => {
    tok = await loadTokenizer(SHARED_TOKENIZER_DIR);
  });

  it("cuts a long synthetic example inside the text field, keeping instruction, labels and Label:", () => {
    const text = "The delivery was late again and nobody answered the phone. ".repeat(60);
    const out = renderPrompt(task, { id: "x", fields: { "Tweet text": text, Source: "web" } }, { tokenizer: tok, maxSeqLen: 64 });
    expect(out.ids.length).toBeLessThanOrEqual(64);
    expect(out.ids.length).toBeGreaterThan(56); // cut at a word boundary, so at most a word short
    expect(out.ids).toEqual(tok.encode(out.text));
    expect(out.truncatedFields).toEqual(["Tweet text"]);
    expect(out.text.startsWith("Is this tweet a complaint? Possible labels: complaint, no complaint\nTweet text: The delivery was late")).toBe(true);
    expect(out.text.endsWith("\nSource: web\nLabel:")).toBe(true);
    const kept = out.text.split("\nTweet text: ")[1]?.split("\nSource:")[0] ?? "";
    expect(text.startsWith(kept)).toBe(true);
    expect(kept.length).toBeLessThan(text.length / 4);
  });
});

describe.skipIf(!hasSharedTokenizer || !hasSharedRaft)("every shared RAFT example fits 256 tokens", () => {
  const tasks = hasSharedRaft ? readdirSync(SHARED_RAFT_DIR).filter((n) => !n.includes(".")) : [];
  let tok: T5Tokenizer;
  beforeAll(async () => {
    tok = await loadTokenizer(SHARED_TOKENIZER_DIR);
  });

  it.each(tasks)("%s: all train and test prompts render within 256 tokens", async (name) => {
    const data = await loadRaftTask(join(SHARED_RAFT_DIR, name));
    let truncated = 0;
    for (const ex of [...data.train, ...data.test]) {
      const out = renderPrompt(data, ex, { tokenizer: tok, maxSeqLen: 256 });
      if (out.ids.length > 256 || out.ids.at(-1) !== 1 || !out.text.endsWith("\nLabel:")) {
        throw new Error(`${name} example ${ex.id}: ${out.ids.length} tokens`);
      }
      if (out.truncatedFields.length > 0) truncated += 1;
    }
    console.log(`${name}: ${data.train.length + data.test.length} prompts, ${truncated} truncated to 256 tokens`);
  });
});
