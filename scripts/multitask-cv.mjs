#!/usr/bin/env node
// Many tasks, one frozen model, compared by K-fold cross-validation on the embedded demo: the demo task is
// split into two tasks (A: even rows, B: odd rows); for every fold each method trains on the other folds of
// both tasks and is scored (macro-F1) on the held-out fold of each task. Methods: single-task adapters,
// one multi-task run (adapter.routing: task), their average merge, their Fisher merge, and SMEAR (one expert
// per task). Runs the built CLI (npm run build first). Writes <out>/results.json and prints a markdown table.
// Usage: node scripts/multitask-cv.mjs [--folds 3] [--out bench-results/multitask-cv]
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "csv-parse/sync";

const ROOT = resolve(fileURLToPath(import.meta.url), "..", "..");
const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const FOLDS = Number(flag("--folds", "3"));
const OUT = resolve(flag("--out", join(ROOT, "bench-results", "multitask-cv")));
const DEMO = join(ROOT, "data", "demo-task");
const BASE = [
  "--config",
  join(ROOT, "configs", "default.yaml"),
  "--set",
  `model=${join(ROOT, "data", "demo-model")}`,
  "--set",
  "monitor.gpu=off",
];

function tfew(argv) {
  const r = spawnSync(process.execPath, [join(ROOT, "bin", "tfew.js"), ...argv], { cwd: OUT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tfew ${argv.join(" ")} failed (${r.status}):\n${r.stderr}`);
  return r;
}

const field = (v) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
/** A RAFT-layout folder holding `rows` as its labelled split (task.json and labels.json copied). */
function taskFolder(dir, header, rows) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "train.csv"),
    [header.join(","), ...rows.map((r) => header.map((h) => field(r[h])).join(","))].join("\n") + "\n",
  );
  for (const f of ["task.json", "labels.json"]) copyFileSync(join(DEMO, f), join(dir, f));
  return dir;
}

function macroF1(evalOut) {
  return JSON.parse(readFileSync(join(evalOut, "metrics.json"), "utf8")).macro_f1;
}

if (existsSync(OUT)) rmSync(OUT, { recursive: true });
mkdirSync(OUT, { recursive: true });
const rows = parse(readFileSync(join(DEMO, "train.csv"), "utf8"), { columns: true, bom: true });
const header = Object.keys(rows[0]);
const tasks = { A: rows.filter((_, i) => i % 2 === 0), B: rows.filter((_, i) => i % 2 === 1) };
const methods = ["single-task", "multi-task", "average merge", "Fisher merge", "SMEAR"];
const scores = Object.fromEntries(methods.map((m) => [m, { A: [], B: [] }]));
const t0 = performance.now();

for (let k = 0; k < FOLDS; k++) {
  const fold = join(OUT, `fold-${k + 1}`);
  const data = {};
  for (const [name, list] of Object.entries(tasks)) {
    data[name] = {
      train: taskFolder(
        join(fold, "data", `${name}-train`),
        header,
        list.filter((_, i) => i % FOLDS !== k),
      ),
      held: taskFolder(
        join(fold, "data", `${name}-held`),
        header,
        list.filter((_, i) => i % FOLDS === k),
      ),
    };
  }
  const evaluate = (adapter, task, label) => {
    const out = join(fold, "eval", label, task);
    tfew(["eval", "--adapter", adapter, "--data", data[task].held, "--split", "train", "--out", out, ...BASE]);
    return macroF1(out);
  };
  // single-task adapters
  for (const t of ["A", "B"]) {
    tfew(["train", "--out", join(fold, `single-${t}`), ...BASE, "--set", `data.path=${data[t].train}`]);
    scores["single-task"][t].push(evaluate(join(fold, `single-${t}`, "adapter"), t, "single"));
  }
  // one multi-task run (task routing) and one SMEAR run (one expert per task)
  const tasksYaml = `data:\n  tasks:\n    - {name: A, path: ${JSON.stringify(data.A.train)}}\n    - {name: B, path: ${JSON.stringify(data.B.train)}}\n`;
  writeFileSync(join(fold, "tasks.yaml"), tasksYaml);
  tfew(["train", "--out", join(fold, "multi"), ...BASE, "--config", join(fold, "tasks.yaml")]);
  tfew([
    "train",
    "--out",
    join(fold, "smear"),
    ...BASE,
    "--config",
    join(fold, "tasks.yaml"),
    "--set",
    "adapter.routing=smear",
  ]);
  for (const t of ["A", "B"]) {
    scores["multi-task"][t].push(evaluate(join(fold, "multi", "adapter", t), t, "multi"));
    scores.SMEAR[t].push(evaluate(join(fold, "smear", "adapter"), t, "smear"));
  }
  // merges of the two single-task adapters
  const single = (t) => join(fold, `single-${t}`, "adapter");
  tfew([
    "merge",
    "--adapter",
    single("A"),
    "--adapter",
    single("B"),
    "--method",
    "average",
    "--out",
    join(fold, "merged-average"),
  ]);
  tfew([
    "merge",
    "--adapter",
    single("A"),
    "--data",
    data.A.train,
    "--adapter",
    single("B"),
    "--data",
    data.B.train,
    "--method",
    "fisher",
    "--out",
    join(fold, "merged-fisher"),
    ...BASE,
  ]);
  for (const t of ["A", "B"]) {
    scores["average merge"][t].push(evaluate(join(fold, "merged-average"), t, "average"));
    scores["Fisher merge"][t].push(evaluate(join(fold, "merged-fisher"), t, "fisher"));
  }
  process.stderr.write(`fold ${k + 1}/${FOLDS} done (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
}

const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
const std = (v) => Math.sqrt(v.reduce((a, x) => a + (x - mean(v)) ** 2, 0) / Math.max(1, v.length - 1));
const lines = [
  `| method | task A macro-F1 | task B macro-F1 | mean over tasks (± std over ${FOLDS} folds) |`,
  "|---|---|---|---|",
];
for (const m of methods) {
  const { A, B } = scores[m];
  const both = A.map((a, i) => (a + B[i]) / 2);
  lines.push(
    `| ${m} | ${mean(A).toFixed(3)} | ${mean(B).toFixed(3)} | ${mean(both).toFixed(3)} ± ${std(both).toFixed(3)} |`,
  );
}
writeFileSync(
  join(OUT, "results.json"),
  JSON.stringify(
    { date: new Date().toISOString(), folds: FOLDS, seconds: (performance.now() - t0) / 1000, scores },
    null,
    2,
  ) + "\n",
);
process.stdout.write(`${lines.join("\n")}\n`);
