// `tfew audit` end to end on the demo task with 6 of 60 labels flipped on purpose: the flipped rows must rank
// high (mean rank in the top half; measured: see README), every file is consistent with the others, and a
// second audit reuses the fold adapters and probabilities (no training) and writes the same label_issues.csv.
import { demoRun } from "./helpers/demo-runs.js";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEMO_MODEL_DIR,
  DEMO_TASK_DIR,
  ensureBuilt,
  makeTempDir,
  parseCsv,
  removeTempDir,
  runTfew,
  runTfewOk,
  toCsv,
} from "./helpers/tfew-cli.js";

const LABELS = ["billing", "bug report", "feature request"];
const FLIPPED = ["3", "11", "19", "27", "35", "43"]; // each moved to the next label
const SETS = ["workers=1", "monitor.gpu=off"].flatMap((s) => ["--set", s]);

let tmp: string;
let dataDir: string;
const given = new Map<string, string>();

beforeAll(async () => {
  await ensureBuilt();
  tmp = makeTempDir("audit");
  dataDir = join(tmp, "flipped-task");
  cpSync(DEMO_TASK_DIR, dataDir, { recursive: true });
  const { header, rows } = parseCsv(readFileSync(join(dataDir, "train.csv"), "utf8"));
  const [labelCol, idCol] = [header.indexOf("Label"), header.indexOf("ID")];
  const flipped = rows.map((r) => {
    const label = (r[labelCol] as string).trim();
    const next = FLIPPED.includes(r[idCol] as string) ? (LABELS[(LABELS.indexOf(label) + 1) % 3] as string) : label;
    given.set(r[idCol] as string, next);
    return r.map((v, k) => (k === labelCol ? next : v));
  });
  writeFileSync(join(dataDir, "train.csv"), toCsv(header, flipped));
});

afterAll(() => removeTempDir(tmp));

interface IssueRow {
  id: string;
  given: string;
  suggested: string;
  selfConfidence: number;
  isIssue: boolean;
}

function readIssues(dir: string): IssueRow[] {
  const { header, rows } = parseCsv(readFileSync(join(dir, "label_issues.csv"), "utf8"));
  expect(header).toEqual(["ID", "given_label", "suggested_label", "self_confidence", "is_issue"]);
  return rows.map((r) => ({
    id: r[0] as string,
    given: r[1] as string,
    suggested: r[2] as string,
    selfConfidence: Number(r[3]),
    isIssue: r[4] === "true",
  }));
}

describe("tfew audit on the demo with flipped labels", () => {
  it("ranks the flipped rows high and writes consistent files; a second audit reuses the folds", async () => {
    const out = join(tmp, "audit");
    const args = ["audit", "--model", DEMO_MODEL_DIR, "--data", dataDir, "--folds", "3", "--out", out, ...SETS];
    const first = await runTfewOk(args, { timeoutMs: 300_000 });
    const issues = readIssues(out);
    // one row per labelled example, in ascending self-confidence, with the given labels of the data
    expect(issues.map((r) => r.id).sort()).toEqual([...given.keys()].sort());
    for (const r of issues) expect(r.given).toBe(given.get(r.id));
    issues
      .slice(1)
      .forEach((r, i) => expect(r.selfConfidence).toBeGreaterThanOrEqual((issues[i] as IssueRow).selfConfidence));
    const ranks = FLIPPED.map((id) => issues.findIndex((r) => r.id === id) + 1);
    const meanRank = ranks.reduce((a, b) => a + b, 0) / ranks.length;
    console.log(
      `flipped rows rank ${ranks.join(", ")} of ${issues.length} (mean ${meanRank.toFixed(1)}); ${issues.filter((r) => r.isIssue).length} flagged`,
    );
    expect(meanRank).toBeLessThanOrEqual(issues.length / 2);

    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Record<string, unknown>;
    const flagged = issues.filter((r) => r.isIssue);
    expect(summary.issues).toBe(flagged.length);
    expect(first.stdout).toContain(`audit: ${flagged.length} of 60 labelled examples look mislabelled`);
    const perClass = summary.issues_per_class as Record<string, number>;
    for (const label of LABELS) expect(perClass[label]).toBe(flagged.filter((r) => r.given === label).length);
    const noise = summary.noise_matrix as Record<string, Record<string, number> | string>;
    for (const truth of LABELS)
      expect(
        Math.abs(LABELS.reduce((a, g) => a + ((noise[g] as Record<string, number>)[truth] as number), 0) - 1),
      ).toBeLessThan(1e-9);
    const tasks = JSON.parse(readFileSync(join(out, "label-studio-tasks.json"), "utf8")) as {
      data: Record<string, string>;
      predictions: { result: { value: { choices: string[] } }[] }[];
    }[];
    expect(tasks.map((t) => [t.data.ID, t.data.Label, t.predictions[0]?.result[0]?.value.choices[0]])).toEqual(
      flagged.map((r) => [r.id, r.given, r.suggested]),
    );
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as {
      data_files: { path: string; format: string; rows: number | null }[];
    };
    expect(manifest.data_files.map((f) => [f.path.split("/").at(-1), f.format, f.rows])).toEqual([
      ["task.json", "json", null],
      ["labels.json", "json", null],
      ["train.csv", "csv", 60],
      ["test_unlabeled.csv", "csv", 100],
    ]);

    const second = await runTfewOk([...args, "--overwrite"], { timeoutMs: 120_000 }); // its own earlier audit
    expect(second.stdout).toMatch(/\(3 of 3 folds reused from /);
    expect(second.stderr).not.toMatch(/train:/); // no fold was trained again
    expect(readIssues(out)).toEqual(issues);
  });

  it("--run audits with the run's recipe (its config.resolved.yaml, plus --set)", async () => {
    const run = await demoRun("seed1");
    const out = join(tmp, "audit-run");
    await runTfewOk(
      ["audit", "--run", run, "--data", dataDir, "--folds", "2", "--out", out, "--set", "train.lr=0.01"],
      { timeoutMs: 120_000 },
    );
    expect(readIssues(out)).toHaveLength(60);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as { folds: number; fold_dir: string };
    expect(summary.folds).toBe(2);
    const foldConfig = readFileSync(join(summary.fold_dir, "fold-1", "config.resolved.yaml"), "utf8");
    expect(foldConfig).toMatch(/^ {2}steps: 6$/m); // from the run
    expect(foldConfig).toMatch(/^ {2}lr: 0\.01$/m); // from --set
    expect(foldConfig).toContain(`path: ${dataDir}`); // from --data
  });

  it("needs exactly one of --model and --run, and --data", async () => {
    const both = await runTfew([
      "audit",
      "--model",
      DEMO_MODEL_DIR,
      "--run",
      tmp,
      "--data",
      dataDir,
      "--out",
      join(tmp, "x"),
    ]);
    expect(both.code).toBe(1);
    expect(both.stderr.trim()).toBe("tfew: error: audit: give exactly one of --model M or --run DIR");
    const noData = await runTfew(["audit", "--model", DEMO_MODEL_DIR, "--out", join(tmp, "x")]);
    expect(noData.stderr.trim()).toBe("tfew: error: audit: give --data D (the labelled data to audit)");
  });
});
