// Prompts: T-Few's RAFT template (r-three/t-few RaftTemplate, raft_labels_in_input_string="comma") or a custom
// "{field}" template, rendered and tokenized within maxSeqLen by truncating text fields (longest first).
import { TfewError } from "../errors.js";
import type { Example, TaskData } from "./task-types.js";
import type { T5Tokenizer } from "./tokenizer.js";

export interface RenderOptions {
  tokenizer: T5Tokenizer;
  /** Most tokens of the encoded prompt, </s> included. */
  maxSeqLen: number;
  /**
   * Custom template: text with `{instruction}`, `{labels}` (label names joined by ", ") and `{<text field>}`
   * placeholders; `{{` and `}}` are literal braces. Default: the RAFT template (see renderPrompt).
   */
  template?: string;
}

export interface RenderedPrompt {
  text: string;
  /** tokenizer.encode(text), ending in </s>; length <= maxSeqLen. */
  ids: number[];
  /** Text fields that were cut to fit, in task.textFields order. */
  truncatedFields: string[];
}

type Values = Record<string, string>;
type Render = (values: Values) => string;
type Part = { literal: string } | { placeholder: string };

/** Answer choices for rank classification: the label names, in label order. */
export function answerChoices(task: TaskData): string[] {
  return task.labelNames;
}

/**
 * The default RAFT prompt, joined once and for all as:
 *   `${instruction} Possible labels: ${labelNames.join(", ")}` + for each text field (task order) whose trimmed value
 *   is non-empty `\n${field}: ${value}` + `\nLabel:`.
 * T-Few tokenizes these pieces separately and concatenates the ids; T5's normalizer turns "\n" into a word break,
 * so one string gives the same ids.
 */
function raftTemplate(task: TaskData): Render {
  const head = `${task.instruction.trim()} Possible labels: ${task.labelNames.join(", ")}`;
  return (values) => {
    let text = head;
    for (const field of task.textFields) {
      const value = values[field] ?? "";
      if (value !== "") text += `\n${field}: ${value}`;
    }
    return `${text}\nLabel:`;
  };
}

/**
 * The default prompt of a generative task (data.target_field): the instruction (when there is one), then
 * `\n${field}: ${value}` per non-empty text field as in the RAFT template, then `\n${targetField}:`.
 */
function generativeTemplate(task: TaskData, targetField: string): Render {
  const head = task.instruction.trim();
  return (values) => {
    let text = head;
    for (const field of task.textFields) {
      const value = values[field] ?? "";
      if (value !== "") text += `${text === "" ? "" : "\n"}${field}: ${value}`;
    }
    return `${text}\n${targetField}:`;
  };
}

function parseTemplate(template: string, task: TaskData): Part[] {
  const parts: Part[] = [];
  let literal = "";
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    const next = template[i + 1];
    if ((c === "{" && next === "{") || (c === "}" && next === "}")) {
      literal += c;
      i += 1;
    } else if (c === "{") {
      const end = template.indexOf("}", i + 1);
      if (end < 0) throw new TfewError(`template has an unclosed "{" at character ${i}; close it or write "{{" for a literal brace`);
      const name = template.slice(i + 1, end);
      const known = name === "instruction" || name === "labels" || task.textFields.includes(name);
      if (!known) {
        const fields = task.textFields.map((f) => `{${f}}`).join(", ");
        throw new TfewError(`template placeholder {${name}} is unknown for task ${task.name}; use {instruction}, {labels} or ${fields}`);
      }
      if (literal !== "") parts.push({ literal });
      literal = "";
      parts.push({ placeholder: name });
      i = end;
    } else if (c === "}") {
      throw new TfewError(`template has a stray "}" at character ${i}; write "}}" for a literal brace`);
    } else {
      literal += c;
    }
  }
  if (literal !== "") parts.push({ literal });
  return parts;
}

function customTemplate(template: string, task: TaskData): Render {
  const parts = parseTemplate(template, task);
  const fixed: Values = { instruction: task.instruction.trim(), labels: task.labelNames.join(", ") };
  // {instruction} and {labels} win over text fields of the same name.
  return (values) => parts.map((p) => ("literal" in p ? p.literal : (fixed[p.placeholder] ?? values[p.placeholder] ?? ""))).join("");
}

/** Largest L >= 0 such that cutting every count down to L removes at least `over` tokens (0 if none does). */
function waterLevel(counts: number[], over: number): number {
  const removed = (level: number): number => counts.reduce((sum, c) => sum + Math.max(0, c - level), 0);
  let lo = 0;
  let hi = Math.max(0, ...counts);
  if (removed(0) < over) return 0;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (removed(mid) >= over) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Renders `example` with the task's template and tokenizes it. If the prompt (with </s>) is longer than maxSeqLen,
 * text fields are cut like HF's "longest_first": the longest fields (in tokens) are shortened first, down to a common
 * level, each to a prefix of its text ending at a word boundary. The instruction, label list and "Label:" are never
 * cut; if they alone exceed maxSeqLen, a TfewError says so.
 */
export function renderPrompt(task: TaskData, example: Example, options: RenderOptions): RenderedPrompt {
  const { tokenizer, maxSeqLen } = options;
  if (!Number.isInteger(maxSeqLen) || maxSeqLen < 2) {
    throw new TfewError(`data.max_seq_len ${maxSeqLen} is not an integer >= 2; set data.max_seq_len (e.g. 256)`);
  }
  const render =
    options.template !== undefined
      ? customTemplate(options.template, task)
      : task.targetField !== undefined
        ? generativeTemplate(task, task.targetField)
        : raftTemplate(task);
  const original: Values = Object.fromEntries(task.textFields.map((f) => [f, (example.fields[f] ?? "").trim()]));
  const values: Values = { ...original };
  let text = render(values);
  let ids = tokenizer.encode(text);
  if (ids.length <= maxSeqLen) return { text, ids, truncatedFields: [] };

  const bare = tokenizer.encode(render(Object.fromEntries(task.textFields.map((f) => [f, ""])))).length;
  if (bare > maxSeqLen) {
    throw new TfewError(
      `prompt of task ${task.name} is ${bare} tokens with every text field empty (example ${example.id}), over ` +
        `data.max_seq_len=${maxSeqLen}; raise data.max_seq_len (to at least ${bare + 16} for some text) or ` +
        (options.template === undefined && task.labelNames.length > 10
          ? `use a data.template without {labels} (the default one lists all ${task.labelNames.length} labels)`
          : "shorten the instruction (data.instruction), label names or template (data.template)"),
    );
  }
  const count = (s: string): number => tokenizer.encode(s, { addEos: false }).length;
  const counts = task.textFields.map((f) => count(values[f] ?? ""));
  const truncated = new Set<string>();
  while (ids.length > maxSeqLen) {
    const level = waterLevel(counts, ids.length - maxSeqLen);
    let changed = false;
    task.textFields.forEach((field, i) => {
      if ((counts[i] ?? 0) <= level) return;
      values[field] = tokenizer.truncate(original[field] ?? "", level).trimEnd();
      counts[i] = count(values[field] ?? "");
      truncated.add(field);
      changed = true;
    });
    text = render(values);
    ids = tokenizer.encode(text);
    if (!changed && ids.length > maxSeqLen) {
      throw new TfewError(`cannot fit example ${example.id} of task ${task.name} into data.max_seq_len=${maxSeqLen} tokens; raise data.max_seq_len`);
    }
  }
  return { text, ids, truncatedFields: task.textFields.filter((f) => truncated.has(f)) };
}
