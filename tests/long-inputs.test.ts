// Bounded memory for any prompt the model accepts: train, eval, predict and score on the wasm backend at
// 2,048 input tokens × 77 answer choices (the demo model), sized from the model's shapes before any kernel
// runs; never an internal error. Needs dist/ (npm test builds first).
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBenchTask } from "../src/bench/tasks.js";
import { DEMO_MODEL, requireBuild, runCli, scratch } from "./helpers/spawn-tfew.js";

const LONG = [
  "--set",
  `model=${DEMO_MODEL}`,
  "--set",
  "data.max_seq_len=2048",
  "--set",
  "data.template={instruction}\nText: {Text}\nLabel:",
  "--set",
  // the demo tokenizer spells "class 1" .. "class 77" in up to 10 pieces: at the demo config's 8 the labels
  // collide (and used to be scored as identical choices)
  "data.max_choice_len=16",
  "--set",
  "monitor.gpu=off",
  "--backend",
  "wasm",
];

describe("2,048 tokens × 77 choices on wasm", () => {
  let dir: string;
  let task: string;
  beforeAll(async () => {
    requireBuild();
    dir = await scratch("long");
    // 8 labelled + 8 test rows of ~2,600 words: every prompt is cut to exactly 2,048 tokens
    task = await ensureBenchTask(dir, { labels: 77, rows: 8, words: 2600, seed: 3 });
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("trains, evaluates, predicts and scores", async () => {
    const train = await runCli(
      [
        "train",
        "--out",
        join(dir, "run"),
        ...LONG,
        "--set",
        `data.path=${task}`,
        "--set",
        "train.steps=2",
        "--set",
        "train.batch_size=2",
        "--set",
        "workers=1",
      ],
      { cwd: dir },
    );
    expect(train.code, train.stderr).toBe(0);
    expect(train.stderr).toMatch(/77 choices/);
    expect(train.stderr).toMatch(/micro-batches of 1 /); // one 2,048-token example with 77 choices per pass fits the heap
    const run = join(dir, "run");
    const evaluated = await runCli(["eval", "--run", run, ...LONG, "--out", join(dir, "eval")], { cwd: dir });
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const metrics = JSON.parse(await readFile(join(dir, "eval", "metrics.json"), "utf8")) as { n: number };
    expect(metrics.n).toBe(8);
    const predicted = await runCli(["predict", "--run", run, ...LONG, "--output", join(dir, "preds.csv")], {
      cwd: dir,
    });
    expect(predicted.code, predicted.stderr).toBe(0);
    expect((await readFile(join(dir, "preds.csv"), "utf8")).trim().split("\n")).toHaveLength(9);
    const source = (await readFile(join(task, "train.csv"), "utf8")).split("\n")[1]?.split(",")[0] as string;
    await writeFile(join(dir, "pairs.jsonl"), `${JSON.stringify({ source, target: "class 1" })}\n`);
    const scored = await runCli(
      [
        "score",
        "--model",
        DEMO_MODEL,
        "--input",
        join(dir, "pairs.jsonl"),
        "--output",
        join(dir, "scores.jsonl"),
        "--backend",
        "wasm",
      ],
      { cwd: dir },
    );
    expect(scored.code, scored.stderr).toBe(0);
    const score = JSON.parse(await readFile(join(dir, "scores.jsonl"), "utf8")) as { logprob: number };
    expect(Number.isFinite(score.logprob)).toBe(true);
    for (const r of [train, evaluated, predicted, scored])
      expect(r.stderr).not.toMatch(/internal error|Aborted|out of bounds/);
  }, 240_000);

  it("an example that cannot fit is one line naming it, its tokens and the key to lower", async () => {
    const r = await runCli(
      [
        "train",
        "--out",
        join(dir, "huge"),
        ...LONG,
        "--set",
        `data.path=${task}`,
        "--set",
        "data.max_seq_len=8192",
        "--set",
        "train.steps=1",
      ],
      { cwd: dir },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/memory: training example \d+ \(\d{4} input tokens, 77 choices/);
    expect(r.stderr).toMatch(/run it on --backend tensorflow .* or make it smaller \(data\.max_seq_len/);
    expect(r.stderr).not.toMatch(/internal error/);
  }, 60_000);
});
