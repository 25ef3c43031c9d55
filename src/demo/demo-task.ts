// The demo classification task: synthetic customer-support tickets from templates and seeded choices, written
// in the RAFT layout (train.csv, test_unlabeled.csv, task.json, labels.json) like oughtinc/raft-baselines data/.
import { mulberry32 } from "../engine/rng.js";
import { csvField } from "../data/table.js";

export const DEMO_TASK_NAME = "support_tickets";
export const DEMO_TEXT_FIELD = "Ticket";
export const DEMO_LABELS = ["billing", "bug report", "feature request"] as const;
/** task.json "description": the instruction the RAFT template puts before every ticket. */
export const DEMO_DESCRIPTION = "Which team should handle this customer support ticket?";

export interface DemoRow {
  id: number; // RAFT "ID": train 0..n-1, test continues from n
  text: string; // the Ticket field, as written to the CSV (may start with a space or hold a newline)
  label: number; // index into DEMO_LABELS; test rows keep theirs only for checks (never written)
}

export interface DemoTask {
  name: string;
  description: string;
  labels: string[];
  textField: string;
  train: DemoRow[];
  test: DemoRow[];
  /** Train IDs whose label toCsv writes after a space (",  billing,"), read back by skipinitialspace. */
  paddedLabelIds: number[];
}

export interface DemoTaskOptions {
  seed: number;
  trainRows: number; // labelled rows in train.csv (RAFT has 50)
  testRows: number; // rows in test_unlabeled.csv
}

type Rand = () => number;
const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;

// Slot fillers shared by all labels, so the label is carried by the body's wording, not by the product named.
const SLOTS: Record<string, readonly string[]> = {
  product: [
    "the mobile app",
    "the web dashboard",
    "the desktop client",
    "the public API",
    "the sync service",
    "the export tool",
    "the calendar view",
    "the team inbox",
  ],
  thing: ["reports", "projects", "contacts", "tasks", "notes", "files", "invoices", "charts"],
  plan: ["Basic", "Pro", "Team", "Business"],
  month: ["January", "February", "March", "April", "May", "June"],
  tool: ["Slack", "Outlook", "Zapier", "Google Drive", "Dropbox", "Trello"],
  button: ["Save", "Send", "Export", "Share"],
  name: ["Ana", "Ben", "Chen", "Dana", "Eli", "Farah", "Gus", "Hana", "Ivan", "Jo"],
};

// One body per ticket; {slot} is filled from SLOTS. Some bodies mention another label's topic on purpose
// ("invoices" in a bug report), so a single keyword does not always decide the label.
const BODIES: readonly (readonly string[])[] = [
  [
    "I was charged twice for the {plan} plan this month.",
    "My invoice for {month} shows the wrong amount.",
    "Can I get a refund for the {plan} plan? I cancelled last week.",
    "The card payment failed, but the money still left my account.",
    "Please change the billing address on our invoices.",
    "Why did the price of the {plan} plan go up in {month}?",
    "We paid for ten seats but only use four. Can you lower the bill?",
    "I need a receipt for my last payment, with our tax number on it.",
  ],
  [
    "{Product} crashes every time I open {thing}.",
    "I get an error when I save {thing} in {product}.",
    "Since the last update {product} shows a blank screen.",
    "The search in {product} finds nothing, even for exact names.",
    'The "{button}" button in {product} does nothing when I click it.',
    "{Product} freezes when I upload a large file.",
    "Dates in {thing} are off by one day after the update.",
    "I keep getting logged out of {product} every few minutes.",
  ],
  [
    "It would be great if {product} had a dark mode.",
    "Please add an option to export {thing} as a spreadsheet.",
    "Could you let us share {thing} with the whole team?",
    "I would love keyboard shortcuts in {product}.",
    "Any plans to connect {product} with {tool}?",
    "We need a way to schedule {thing} for later.",
    "Can you add a filter for archived {thing}?",
    "A weekly summary email of new {thing} would help us a lot.",
  ],
];

const GREETINGS = ["", "", "Hi!", "Hello!", "Hey there!", "Good morning!"];
// Context sentences that fit any label (they do not give the answer away).
const CONTEXT = [
  "",
  "",
  "",
  "We use {product} every day.",
  "This is for our whole office.",
  "I am on the {plan} plan.",
  "Not urgent.",
];
const CLOSINGS = ["", "", "Thanks!", "Thank you.", "Cheers,\n{name}", "Regards, {name}"];

function fill(template: string, rand: Rand): string {
  return template.replace(/\{(\w+)\}/g, (_, slot: string) => {
    const key = slot.toLowerCase();
    const value = pick(rand, SLOTS[key] ?? [`{${slot}}`]);
    // "{Product}" at the start of a sentence: capitalise the filler
    return slot === key ? value : value.charAt(0).toUpperCase() + value.slice(1);
  });
}

/** One ticket text for `label`: [greeting] body [context] [closing], some closings on a new line. */
function ticketText(label: number, rand: Rand): string {
  const parts = [pick(rand, GREETINGS), pick(rand, BODIES[label] ?? []), pick(rand, CONTEXT), pick(rand, CLOSINGS)];
  return parts
    .filter((p) => p !== "")
    .map((p) => fill(p, rand))
    .join(" ");
}

/** Labels 0,1,2,0,1,2,… for `n` rows, then a seeded shuffle: balanced up to one row per label. */
function balancedLabels(n: number, rand: Rand): number[] {
  const labels = Array.from({ length: n }, (_, i) => i % DEMO_LABELS.length);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [labels[i], labels[j]] = [labels[j] as number, labels[i] as number];
  }
  return labels;
}

/**
 * The demo task, the same for the same options. Train rows 0-3 exercise the CSV loader: row 0 (billing) ends with
 * a closing over two lines (a multi-line quoted field), row 1 (bug report) holds a quoted button name (escaped "")
 * and commas, row 2 (feature request) starts with a space (dropped by skipinitialspace), row 3's label is written
 * after a space.
 */
export function generateDemoTask(options: DemoTaskOptions): DemoTask {
  if (options.trainRows < 4)
    throw new Error(`generateDemoTask: trainRows ${options.trainRows} < 4; rows 0-3 are pinned`);
  const rand = mulberry32(options.seed);
  const trainLabels = balancedLabels(options.trainRows, rand);
  // rows 0, 1, 2 get labels 0, 1, 2 (a swap keeps the balance)
  for (let k = 0; k < DEMO_LABELS.length; k++) {
    const j = trainLabels.indexOf(k, k);
    [trainLabels[k], trainLabels[j]] = [trainLabels[j] as number, trainLabels[k] as number];
  }
  const rows = (labels: number[], firstId: number): DemoRow[] =>
    labels.map((label, i) => ({ id: firstId + i, text: ticketText(label, rand), label }));
  const train = rows(trainLabels, 0);
  const test = rows(balancedLabels(options.testRows, rand), options.trainRows);
  const pinned = [
    "Hello team, my invoice for March lists the Pro plan twice.\nThanks,\nDana",
    'Hi, the "Export" button in the web dashboard does nothing, even after a restart.',
    " Please add a dark mode to the mobile app.",
  ];
  pinned.forEach((text, k) => {
    const row = train[k];
    if (row !== undefined) row.text = text;
  });
  const task = {
    name: DEMO_TASK_NAME,
    description: DEMO_DESCRIPTION,
    labels: [...DEMO_LABELS],
    textField: DEMO_TEXT_FIELD,
  };
  return { ...task, train, test, paddedLabelIds: [3] };
}

/** One CSV field as Python's csv.writer (QUOTE_MINIMAL) writes it: quoted when it holds , " \r or \n. */

/** train.csv (`Ticket,Label,ID`, label names) or test_unlabeled.csv (`Ticket,ID`), "\n" line ends, as the RAFT files. */
export function toCsv(task: DemoTask, split: "train" | "test"): string {
  const labelled = split === "train";
  const header = labelled ? [task.textField, "Label", "ID"] : [task.textField, "ID"];
  const lines = [header.map(csvField).join(",")];
  for (const row of labelled ? task.train : task.test) {
    const fields = [csvField(row.text)];
    if (labelled) {
      const pad = task.paddedLabelIds.includes(row.id) ? " " : "";
      fields.push(pad + csvField(task.labels[row.label] ?? ""));
    }
    fields.push(String(row.id));
    lines.push(fields.join(","));
  }
  return `${lines.join("\n")}\n`;
}

/** json.dumps with Python's default separators (", " and ": "), as raft-baselines' one-line task.json files. */
function pythonJsonDumps(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}: ${pythonJsonDumps(v)}`)
      .join(", ")}}`;
  }
  return JSON.stringify(value);
}

/** task.json as in raft-baselines: {"name", "description", "data_columns": [fields, "ID"], "label_columns"}. */
export function taskJson(task: DemoTask): string {
  return pythonJsonDumps({
    name: task.name,
    description: task.description,
    data_columns: [task.textField, "ID"],
    label_columns: { Label: task.labels },
  });
}

/** labels.json like the shared RAFT folders' (label order, HF ClassLabel names, train counts). */
export function labelsJson(task: DemoTask): string {
  const counts = Object.fromEntries(
    task.labels.map((name, k) => [name, task.train.filter((r) => r.label === k).length]),
  );
  const json = {
    task: task.name,
    label_column: "Label",
    text_columns: [task.textField],
    labels: task.labels,
    hf_class_label_names: ["Unlabeled", ...task.labels],
    train_label_counts: counts,
    note:
      "Synthetic demo task generated by tfew (src/demo/demo-task.ts; npm run demo:make). train.csv stores label-name " +
      "strings; test_unlabeled.csv has no Label column, as in the RAFT files.",
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

/** Every text the demo's prompts contain (tickets, instruction, label list, field names): the tokenizer corpus. */
export function demoCorpus(task: DemoTask): string[] {
  const prompt = `${task.description} Possible labels: ${task.labels.join(", ")}\n${task.textField}: \nLabel:`;
  return [prompt, ...task.labels, ...task.train.map((r) => r.text), ...task.test.map((r) => r.text)];
}
