// Integration: `tfew eval` and `tfew predict` through the built CLI on the demo (a short training run first),
// zero-shot, K-fold cross-validation, and the PEFT fixture adapter on the gold tiny T5. Metrics are checked
// against the confusion matrix they report (exact up to 1e-12); predictions against the input's IDs.
import { demoRun } from "./helpers/demo-runs.js";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEMO_TASK_DIR,
  ensureBuilt,
  makeTempDir,
  parseCsv,
  removeTempDir,
  runTfew,
  runTfewOk,
  toCsv,
} from "./helpers/tfew-cli.js";
import { GOLD_MODEL_DIR, SHARED_TOKENIZER_DIR, hasSharedTokenizer, skipNote } from "./helpers/shared.js";

const TOL = 1e-12;
const DEMO_LABELS = (JSON.parse(readFileSync(join(DEMO_TASK_DIR, "labels.json"), "utf8")) as { labels: string[] })
  .labels;
const DEMO_TRAIN_N = parseCsv(readFileSync(join(DEMO_TASK_DIR, "train.csv"), "utf8")).rows.length;
const FIXTURE_ADAPTER = join(GOLD_MODEL_DIR, "adapter");

interface ClassEntry {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}
interface Metrics {
  n: number;
  accuracy: number;
  macro_f1: number;
  per_class: ClassEntry[];
  confusion: number[][];
}

/** Recomputes every number of a metrics object from its confusion matrix (confusion[gold][pred]). */
function expectConsistent(m: Metrics, labels: readonly string[], n: number): void {
  const k = labels.length;
  expect(m.n).toBe(n);
  expect(m.confusion).toHaveLength(k);
  for (const row of m.confusion) {
    expect(row).toHaveLength(k);
    for (const v of row) expect(Number.isInteger(v) && v >= 0).toBe(true);
  }
  const rowSum = (c: number) => (m.confusion[c] as number[]).reduce((a, b) => a + b, 0);
  const colSum = (c: number) => m.confusion.reduce((a, row) => a + (row[c] as number), 0);
  const tp = (c: number) => (m.confusion[c] as number[])[c] as number;
  expect(m.confusion.flat().reduce((a, b) => a + b, 0)).toBe(n);
  const trace = labels.reduce((a, _, c) => a + tp(c), 0);
  expect(Math.abs(m.accuracy - trace / n)).toBeLessThanOrEqual(TOL);
  expect(m.per_class.map((c) => c.label)).toEqual(labels);
  const f1s: number[] = [];
  m.per_class.forEach((entry, c) => {
    const p = colSum(c) === 0 ? 0 : tp(c) / colSum(c);
    const r = rowSum(c) === 0 ? 0 : tp(c) / rowSum(c);
    const f1 = p + r === 0 ? 0 : (2 * p * r) / (p + r);
    expect(entry.support).toBe(rowSum(c));
    expect(Math.abs(entry.precision - p)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(entry.recall - r)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(entry.f1 - f1)).toBeLessThanOrEqual(TOL);
    if (rowSum(c) > 0 || colSum(c) > 0) f1s.push(f1); // sklearn's macro-F1 label set: gold ∪ predicted
  });
  expect(Math.abs(m.macro_f1 - f1s.reduce((a, b) => a + b, 0) / f1s.length)).toBeLessThanOrEqual(TOL);
}

/** Checks a submission CSV: the exact header line, one row per input ID in input order, valid label names. */
function expectSubmission(text: string, ids: readonly string[], labels: readonly string[]): void {
  expect(text.split("\n")[0]).toBe("ID,Label");
  const { header, rows } = parseCsv(text);
  expect(header).toEqual(["ID", "Label"]);
  expect(rows.map((r) => r[0])).toEqual(ids);
  for (const row of rows) {
    expect(row).toHaveLength(2);
    expect(labels).toContain(row[1]);
  }
}

function readMetrics(dir: string): Metrics & Record<string, unknown> {
  return JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8")) as Metrics & Record<string, unknown>;
}

let tmp: string;
let runDir: string;

beforeAll(async () => {
  await ensureBuilt();
  tmp = makeTempDir("cli-eval");
  runDir = await demoRun("seed1");
});

afterAll(() => removeTempDir(tmp));

describe("tfew eval on the demo", () => {
  it("--run writes metrics.json whose numbers agree with its confusion matrix", async () => {
    const out = join(tmp, "eval-run");
    const r = await runTfewOk(["eval", "--run", runDir, "--data", DEMO_TASK_DIR, "--out", out]);
    const m = readMetrics(out);
    expect(m).toMatchObject({ split: "train", adapter: join(runDir, "adapter") });
    expectConsistent(m, DEMO_LABELS, DEMO_TRAIN_N);
    expect(r.stdout).toContain(
      `n=${DEMO_TRAIN_N}): accuracy ${m.accuracy.toFixed(4)}, macro-F1 ${m.macro_f1.toFixed(4)}`,
    );
  });

  it("--run R --adapter A scores A (with R's config) and says so in one line", async () => {
    const other = await demoRun("seed2");
    const [viaRun, viaAdapter] = [join(tmp, "eval-seed2"), join(tmp, "eval-seed1-adapter2")];
    await runTfewOk(["eval", "--run", other, "--data", DEMO_TASK_DIR, "--out", viaRun]);
    const adapter = join(other, "adapter");
    const r = await runTfewOk([
      "eval",
      "--run",
      runDir,
      "--adapter",
      adapter,
      "--data",
      DEMO_TASK_DIR,
      "--out",
      viaAdapter,
    ]);
    expect(r.stderr).toContain(
      `eval: scoring --adapter ${adapter} with the config of --run ${runDir}, not the run's own adapter`,
    );
    const [a, b] = [readMetrics(viaRun), readMetrics(viaAdapter)];
    expect(b.adapter).toBe(adapter);
    expect(b.confusion).toEqual(a.confusion);
    expect(b.macro_f1).toBeCloseTo(a.macro_f1, 12);
  });

  it("zero-shot (--model only) evaluates without an adapter", async () => {
    const out = join(tmp, "eval-zero");
    await runTfewOk(["eval", "--model", "data/demo-model", "--data", DEMO_TASK_DIR, "--out", out]);
    const m = readMetrics(out);
    expect(m.adapter).toBeNull();
    expectConsistent(m, DEMO_LABELS, DEMO_TRAIN_N);
  });

  it("--folds 2 trains a fresh adapter per fold with the run's config and reports mean and std", async () => {
    const out = join(tmp, "eval-folds");
    const r = await runTfewOk([
      "eval",
      "--run",
      runDir,
      "--data",
      DEMO_TASK_DIR,
      "--folds",
      "2",
      "--set",
      "train.steps=5",
      "--out",
      out,
    ]);
    const m = readMetrics(out) as unknown as {
      folds: number;
      mean: { accuracy: number; macro_f1: number };
      std: { accuracy: number; macro_f1: number };
      per_fold: Metrics[];
    };
    expect(m.folds).toBe(2);
    expect(m.per_fold).toHaveLength(2);
    const sizes = m.per_fold.map((f) => f.n);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(DEMO_TRAIN_N); // the held folds partition the labelled split
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    m.per_fold.forEach((f) => expectConsistent(f, DEMO_LABELS, f.n));
    for (const key of ["accuracy", "macro_f1"] as const) {
      const values = m.per_fold.map((f) => f[key]);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length); // population std
      expect(Math.abs(m.mean[key] - mean)).toBeLessThanOrEqual(TOL);
      expect(Math.abs(m.std[key] - std)).toBeLessThanOrEqual(TOL);
    }
    for (const fold of ["fold-1", "fold-2"]) {
      expect(existsSync(join(out, fold, "adapter", "adapter_model.safetensors"))).toBe(true);
      const summary = JSON.parse(readFileSync(join(out, fold, "summary.json"), "utf8")) as { steps: number };
      expect(summary.steps).toBe(5); // --set on top of the run's config
      expect(readFileSync(join(out, fold, "config.resolved.yaml"), "utf8")).toMatch(/^\s+gpu: off/m); // from the run
    }
    expect(r.stdout).toMatch(/^2-fold: accuracy \d\.\d{4} ± \d\.\d{4}, macro-F1 \d\.\d{4} ± \d\.\d{4}/);
  });

  it("says what to give when no model source is given (one line, exit 1)", async () => {
    const r = await runTfew(["eval", "--data", DEMO_TASK_DIR, "--out", join(tmp, "none")]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([
      "tfew: error: eval: give one of --run DIR, --adapter DIR or --model M",
    ]);
  });
});

describe("tfew predict on the demo", () => {
  it("writes ID,Label with one row per test ID in input order, rows with empty text included", async () => {
    // A copy of the demo task whose test file also has all-empty rows, one in the middle and one last.
    const task = join(tmp, "demo-task-empty-rows");
    cpSync(DEMO_TASK_DIR, task, { recursive: true });
    const { header, rows } = parseCsv(readFileSync(join(DEMO_TASK_DIR, "test_unlabeled.csv"), "utf8"));
    const idColumn = header.indexOf("ID");
    const emptyRow = (id: string) => header.map((_, i) => (i === idColumn ? id : ""));
    const withEmpty = [...rows.slice(0, 3), emptyRow("9001"), ...rows.slice(3), emptyRow("9002")];
    writeFileSync(join(task, "test_unlabeled.csv"), toCsv(header, withEmpty));
    const ids = withEmpty.map((r) => r[idColumn] as string);

    const out = join(tmp, "preds.csv");
    const r = await runTfewOk(["predict", "--run", runDir, "--data", task, "--split", "test", "--output", out]);
    expectSubmission(readFileSync(out, "utf8"), ids, DEMO_LABELS);
    expect(r.stdout).toContain(`wrote ${ids.length} predictions to ${out}`);
  });
});

if (!hasSharedTokenizer) console.log(skipNote("models/t5-tokenizer/tokenizer.json"));

describe("the PEFT fixture adapter on the gold tiny T5 (no tokenizer of its own)", () => {
  it("eval without --model says the adapter names no base model", async () => {
    const r = await runTfew([
      "eval",
      "--adapter",
      FIXTURE_ADAPTER,
      "--data",
      DEMO_TASK_DIR,
      "--out",
      join(tmp, "no-base"),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("names no base model; add --model M");
  });

  it.skipIf(!hasSharedTokenizer)("eval and predict with --adapter, --model and the shared tokenizer", async () => {
    const common = [
      "--adapter",
      FIXTURE_ADAPTER,
      "--model",
      GOLD_MODEL_DIR,
      "--data",
      DEMO_TASK_DIR,
      "--set",
      `tokenizer=${SHARED_TOKENIZER_DIR}`,
    ];
    const out = join(tmp, "eval-peft");
    await runTfewOk(["eval", ...common, "--out", out]);
    const m = readMetrics(out);
    expect(m.adapter).toBe(FIXTURE_ADAPTER);
    expectConsistent(m, DEMO_LABELS, DEMO_TRAIN_N);

    const preds = join(tmp, "preds-peft.csv");
    await runTfewOk(["predict", ...common, "--split", "test", "--output", preds]);
    const test = parseCsv(readFileSync(join(DEMO_TASK_DIR, "test_unlabeled.csv"), "utf8"));
    const idColumn = test.header.indexOf("ID");
    expectSubmission(
      readFileSync(preds, "utf8"),
      test.rows.map((r) => r[idColumn] as string),
      DEMO_LABELS,
    );
  });
});
