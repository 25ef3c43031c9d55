// Generative tasks end to end (data.target_field): a tiny copy-a-word task built here from words of the demo
// model's vocabulary trains with the LM loss only (loss falls), `tfew eval` generates and writes exact match,
// chrF, BLEU and ROUGE-L (recomputed here from its predictions.csv), `tfew predict` writes one ID,generation row
// per test ID, a multi-task run mixes it with the demo classification task, and bad input is one clear line.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sentenceBleu } from "../src/generate/bleu.js";
import { chrf } from "../src/generate/chrf.js";
import { rougeL } from "../src/generate/rouge.js";
import { DEMO_TASK_DIR, makeTempDir, parseCsv, removeTempDir, runTfew, runTfewOk, toCsv } from "./helpers/tfew-cli.js";

// words the demo tokenizer knows (slot fillers of src/demo/demo-task.ts)
const TRAIN_WORDS = ["reports", "projects", "contacts", "tasks", "notes", "files", "invoices", "charts"];
const MORE_WORDS = ["Ana", "Ben", "Chen", "Dana", "Eli", "Farah", "Gus", "Hana"];
const TEST_WORDS = ["Ivan", "Jo", "Slack", "Outlook", "Trello"];

const QUICK = ["workers=1", "monitor.gpu=off", "train.checkpoint_every=1000", "train.batch_size=8"];
const sets = (values: string[]) => values.flatMap((v) => ["--set", v]);

let dir: string;
let trainCsv: string;
let testCsv: string;

beforeAll(() => {
  dir = makeTempDir("tfew-generative-");
  trainCsv = join(dir, "copy.csv");
  testCsv = join(dir, "copy-test.csv");
  const words = [...TRAIN_WORDS, ...MORE_WORDS];
  writeFileSync(
    trainCsv,
    toCsv(
      ["ID", "word", "copy"],
      words.map((w, i) => [`t${i}`, w, w]),
    ),
  );
  writeFileSync(
    testCsv,
    toCsv(
      ["ID", "word"],
      TEST_WORDS.map((w, i) => [`e${i}`, w]),
    ),
  );
});
afterAll(() => removeTempDir(dir));

const taskSets = () => [`data.path=${trainCsv}`, `data.test_path=${testCsv}`, "data.target_field=copy"];

describe("a generative task (data.target_field)", () => {
  let run: string;

  it("trains with the LM loss only: one log line says so, and the loss falls", async () => {
    run = join(dir, "run");
    const r = await runTfewOk(["train", "--out", run, ...sets([...taskSets(), ...QUICK, "train.steps=150"])]);
    expect(r.stderr).toContain('is generative (data.target_field "copy"): the LM loss alone is trained');
    const rows = readFileSync(join(run, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { step: number; loss: number; lm_loss: number });
    const first = rows[0] as { loss: number };
    const last = rows.at(-1) as { loss: number; lm_loss: number };
    expect(rows.every((row) => Number.isFinite(row.loss) && row.loss === row.lm_loss)).toBe(true);
    expect(last.loss).toBeLessThan(first.loss / 4);
  });

  it("eval generates and writes exact match, chrF, BLEU, ROUGE-L: the scores of its predictions", async () => {
    const out = join(dir, "eval");
    const args = ["eval", "--run", run, "--split", "train", "--out", out, "--predictions"];
    const r = await runTfewOk([...args, ...sets(["generate.max_new_tokens=6"])]);
    expect(r.stdout).toMatch(/exact match [\d.]+, chrF [\d.]+, BLEU [\d.]+, ROUGE-L [\d.]+/);
    const metrics = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")) as Record<string, number | string>;
    const { header, rows } = parseCsv(readFileSync(join(out, "predictions.csv"), "utf8"));
    expect(header).toEqual(["ID", "target", "generation"]);
    const targets = new Map(parseCsv(readFileSync(trainCsv, "utf8")).rows.map((row) => [row[0], row[2]]));
    expect(rows.map((row) => row[1])).toEqual(rows.map((row) => targets.get(row[0])));
    const mean = (f: (g: string, t: string) => number) =>
      rows.reduce((s, row) => s + f(row[2] as string, row[1] as string), 0) / rows.length;
    expect(metrics.n).toBe(TRAIN_WORDS.length + MORE_WORDS.length);
    expect(metrics.strategy).toBe("greedy");
    expect(metrics.exact_match).toBeCloseTo(
      mean((g, t) => (g.trim() === t ? 1 : 0)),
      12,
    );
    expect(metrics.chrf).toBeCloseTo(mean(chrf), 9);
    expect(metrics.bleu).toBeCloseTo(mean(sentenceBleu), 9);
    expect(metrics.rouge_l).toBeCloseTo(mean(rougeL), 12);
    expect(metrics.exact_match).toBeGreaterThanOrEqual(0.5); // 150 steps learn to copy the training words
  });

  it("predict writes one ID,generation row per test ID, in order", async () => {
    const output = join(dir, "gen.csv");
    const r = await runTfewOk(["predict", "--run", run, "--output", output, ...sets(["generate.max_new_tokens=4"])]);
    expect(r.stdout).toContain(`wrote ${TEST_WORDS.length} generations`);
    const { header, rows } = parseCsv(readFileSync(output, "utf8"));
    expect(header).toEqual(["ID", "generation"]);
    expect(rows.map((row) => row[0])).toEqual(TEST_WORDS.map((_, i) => `e${i}`));
  });

  it("mixes with a classification task in one multi-task run; eval --run scores each its own way", async () => {
    const mixed = join(dir, "mixed");
    const gen = `{name: gen, path: ${trainCsv}, target_field: copy}`;
    const tasks = `data.tasks=[{name: cls, path: ${DEMO_TASK_DIR}}, ${gen}]`;
    const r = await runTfewOk(["train", "--out", mixed, ...sets([tasks, ...QUICK, "train.steps=3"])]);
    expect(r.stderr).toContain("generative task gen (data.target_field) train with the LM loss only");
    const out = join(dir, "mixed-eval");
    await runTfewOk(["eval", "--run", mixed, "--out", out, ...sets(["generate.max_new_tokens=3"])]);
    const cls = JSON.parse(readFileSync(join(out, "cls", "metrics.json"), "utf8")) as Record<string, unknown>;
    const scores = JSON.parse(readFileSync(join(out, "gen", "metrics.json"), "utf8")) as Record<string, unknown>;
    expect(typeof cls.accuracy).toBe("number");
    expect(Object.keys(scores)).toEqual(expect.arrayContaining(["exact_match", "chrf", "bleu", "rouge_l"]));
  });
});

describe("bad input of a generative task: one line naming the key", () => {
  const oneLine = (stderr: string) => {
    const lines = stderr.trim().split("\n");
    expect(lines.filter((l) => l.startsWith("tfew: error:"))).toHaveLength(1);
    return lines.at(-1) as string;
  };

  it("a missing target column names data.target_field", async () => {
    const out = join(dir, "bad-target");
    const r = await runTfew(["train", "--out", out, ...sets([...taskSets(), "data.target_field=summary", ...QUICK])]);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toMatch(/has no column "summary" .*data\.target_field/);
    expect(existsSync(join(out, "adapter"))).toBe(false);
  });

  it("train.ul_weight asked for (not the recipe's 1) is refused: it needs answer choices", async () => {
    const r = await runTfew([
      "train",
      "--out",
      join(dir, "bad-ul"),
      ...sets([...taskSets(), ...QUICK, "train.ul_weight=0.5"]),
    ]);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toMatch(/train\.ul_weight=0\.5 needs answer choices.*set train\.ul_weight=0/);
  });

  it("a RAFT task with data.target_field, --folds and --probabilities: each one line", async () => {
    const raft = await runTfew(["eval", "--model", "data/demo-model", ...sets(["data.target_field=Label"])]);
    expect(oneLine(raft.stderr)).toContain("data.target_field");
    const folds = await runTfew(["eval", "--model", "data/demo-model", "--folds", "2", ...sets(taskSets())]);
    expect(oneLine(folds.stderr)).toMatch(/--folds .*data\.target_field "copy"/);
    const output = join(dir, "never.csv");
    const probs = await runTfew([
      "predict",
      "--model",
      "data/demo-model",
      "--output",
      output,
      "--probabilities",
      ...sets(taskSets()),
    ]);
    expect(oneLine(probs.stderr)).toContain("drop --probabilities");
    expect(existsSync(output)).toBe(false);
  });
});
