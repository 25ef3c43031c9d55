// Per-example probabilities on the demo: `tfew predict --probabilities` (one p(<label>) column per label) and
// `tfew eval --predictions` (predictions.csv beside metrics.json): rows sum to 1, the argmax is the predicted
// label, eval and predict agree, and both equal what `tfew audit` computes for the same adapter and examples.
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoRun } from "./helpers/demo-runs.js";
import {
  DEMO_MODEL_DIR,
  DEMO_TASK_DIR,
  ensureBuilt,
  makeTempDir,
  parseCsv,
  removeTempDir,
  runTfewOk,
  toCsv,
} from "./helpers/tfew-cli.js";

const LABELS = ["billing", "bug report", "feature request"];
const P_HEADER = LABELS.map((l) => `p(${l})`);
const SETS = ["workers=1", "monitor.gpu=off"].flatMap((s) => ["--set", s]);

let tmp: string;
let run: string;
beforeAll(async () => {
  await ensureBuilt();
  tmp = makeTempDir("probabilities");
  run = await demoRun("seed1");
}, 300_000);
afterAll(() => removeTempDir(tmp));

interface Table {
  header: string[];
  rows: string[][];
}
const readTable = (file: string): Table => parseCsv(readFileSync(file, "utf8"));
const probsOf = (row: string[], from: number) => row.slice(from).map(Number);
const argmax = (p: number[]) => p.reduce((best, v, j) => (v > (p[best] as number) ? j : best), 0);

function expectDistribution(p: number[], predicted: string | undefined): void {
  expect(p).toHaveLength(LABELS.length);
  for (const v of p) expect(v).toBeGreaterThan(0);
  expect(Math.abs(p.reduce((a, b) => a + b, 0) - 1)).toBeLessThanOrEqual(1e-6);
  expect(LABELS[argmax(p)]).toBe(predicted);
}

describe("per-example probabilities", () => {
  it("predict --probabilities: ID, Label, one p(label | x) per label; eval --predictions agrees", async () => {
    const preds = join(tmp, "preds.csv");
    const split = ["--split", "train"];
    await runTfewOk(["predict", "--run", run, ...split, "--probabilities", "--output", preds, ...SETS]);
    const p = readTable(preds);
    expect(p.header).toEqual(["ID", "Label", ...P_HEADER]);
    expect(p.rows).toHaveLength(60);
    for (const row of p.rows) expectDistribution(probsOf(row, 2), row[1]);

    const plain = join(tmp, "plain.csv");
    await runTfewOk(["predict", "--run", run, ...split, "--output", plain, ...SETS]);
    const q = readTable(plain);
    expect(q.header).toEqual(["ID", "Label"]); // without the flag: the RAFT submission as before
    expect(q.rows).toEqual(p.rows.map((r) => r.slice(0, 2)));

    const out = join(tmp, "eval");
    const e = await runTfewOk(["eval", "--run", run, ...split, "--predictions", "--out", out, ...SETS]);
    expect(e.stdout).toContain(`${join(out, "metrics.json")}, ${join(out, "predictions.csv")}`);
    const t = readTable(join(out, "predictions.csv"));
    expect(t.header).toEqual(["ID", "gold", "predicted", ...P_HEADER]);
    const train = readTable(join(DEMO_TASK_DIR, "train.csv"));
    const [labelCol, idCol] = [train.header.indexOf("Label"), train.header.indexOf("ID")];
    expect(t.rows.map((r) => [r[0], r[1]])).toEqual(train.rows.map((r) => [r[idCol], r[labelCol]?.trim()]));
    t.rows.forEach((row, i) => {
      expectDistribution(probsOf(row, 3), row[2]);
      expect(row[2]).toBe(p.rows[i]?.[1]);
      expect(probsOf(row, 3)).toEqual(probsOf(p.rows[i] as string[], 2)); // the same batches: the same bytes
    });
    const metrics = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")) as { accuracy: number };
    const correct = t.rows.filter((r) => r[1] === r[2]).length;
    expect(metrics.accuracy).toBeCloseTo(correct / t.rows.length, 12);
  }, 300_000);

  it("equal to audit's out-of-fold probabilities for the same fold adapter and examples", async () => {
    const audit = join(tmp, "audit");
    const recipe = ["train.steps=2", "train.checkpoint_every=100"].flatMap((s) => ["--set", s]);
    await runTfewOk(
      ["audit", "--model", DEMO_MODEL_DIR, "--data", DEMO_TASK_DIR, "--folds", "2", "--out", audit, ...SETS, ...recipe],
      { timeoutMs: 300_000 },
    );
    const [key] = readdirSync(join(audit, "folds"));
    const foldDir = join(audit, "folds", key as string, "fold-1");
    const fold = JSON.parse(readFileSync(join(foldDir, "probabilities.json"), "utf8")) as {
      ids: string[];
      probs: number[][];
    };
    // the held-out rows alone, in the order audit scored them: the same batches
    const held = join(tmp, "held-out");
    cpSync(DEMO_TASK_DIR, held, { recursive: true });
    const train = readTable(join(DEMO_TASK_DIR, "train.csv"));
    const idCol = train.header.indexOf("ID");
    const rows = fold.ids.map((id) => train.rows.find((r) => r[idCol] === id) as string[]);
    writeFileSync(join(held, "train.csv"), toCsv(train.header, rows));
    const preds = join(tmp, "fold-1.csv");
    const adapter = ["--adapter", join(foldDir, "adapter"), "--data", held];
    await runTfewOk(["predict", ...adapter, "--split", "train", "--probabilities", "--output", preds, ...SETS]);
    const byId = new Map(readTable(preds).rows.map((r) => [r[0] as string, probsOf(r, 2)]));
    expect(fold.ids.length).toBe(30);
    let worst = 0;
    fold.ids.forEach((id, i) => {
      const mine = byId.get(id) as number[];
      (fold.probs[i] as number[]).forEach((v, j) => (worst = Math.max(worst, Math.abs(v - (mine[j] as number)))));
    });
    console.log(`predict --probabilities vs audit's probabilities.json (30 held-out rows): max |Δp| ${worst}`);
    expect(worst).toBeLessThanOrEqual(1e-12); // one function, the same scores (1.2e-6 with other batch members)
  }, 300_000);
});
