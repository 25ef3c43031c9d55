// Synthetic RAFT-layout tasks for benchmarks: prompts long enough to fill max_seq_len (256) and a chosen
// number of short labels (2, 10, 77), written once under bench-results/tasks/.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.js";
import { mulberry32 } from "../engine/rng.js";

const WORDS = [
  "the",
  "order",
  "billing",
  "account",
  "error",
  "page",
  "crash",
  "feature",
  "request",
  "payment",
  "invoice",
  "login",
  "screen",
  "report",
  "customer",
  "support",
  "update",
  "refund",
  "app",
  "slow",
];

function labelNames(count: number): string[] {
  if (count === 2) return ["yes", "no"];
  return Array.from({ length: count }, (_, i) => `class ${i + 1}`);
}

/** A task folder with `rows` labelled and `rows` test examples of ~`words` words each. */
export async function ensureBenchTask(
  root: string,
  options: { labels: number; rows: number; words: number; seed: number },
): Promise<string> {
  const dir = join(root, `long-${options.labels}-labels-${options.rows}`);
  if (existsSync(join(dir, "task.json"))) return dir;
  await mkdir(dir, { recursive: true });
  const rand = mulberry32(options.seed);
  const names = labelNames(options.labels);
  const text = () => Array.from({ length: options.words }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(" ");
  const train = [
    "Text,Label,ID",
    ...Array.from({ length: options.rows }, (_, i) => `${text()},${names[i % names.length]},${i}`),
  ];
  const test = ["Text,ID", ...Array.from({ length: options.rows }, (_, i) => `${text()},${options.rows + i}`)];
  await writeFileAtomic(join(dir, "train.csv"), `${train.join("\n")}\n`);
  await writeFileAtomic(join(dir, "test_unlabeled.csv"), `${test.join("\n")}\n`);
  await writeFileAtomic(
    join(dir, "task.json"),
    JSON.stringify({
      name: `long_${options.labels}`,
      description: "Which class is this text?",
      data_columns: ["Text", "ID"],
      label_columns: { Label: names },
    }),
  );
  return dir;
}
