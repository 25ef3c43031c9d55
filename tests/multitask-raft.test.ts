// Many real tasks at once: the RAFT tasks of ../shared (2 and 3 labels) plus a made-up 77-label task in ONE
// multi-task run, with routing task, shared and smear, and `tfew eval --run` reporting every task. The demo
// model is random, so this is a pipeline check (every task trains, evaluates and reports), not a ranking.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasSharedRaft, SHARED_RAFT_DIR, skipNote } from "./helpers/shared.js";
import { ensureBuilt, makeTempDir, removeTempDir, runTfewOk, toCsv } from "./helpers/tfew-cli.js";

const raftTasks = hasSharedRaft
  ? readdirSync(SHARED_RAFT_DIR, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
  : [];
if (!hasSharedRaft) console.log(skipNote("data/raft"));

let dir: string;
beforeAll(async () => {
  await ensureBuilt();
  dir = makeTempDir("tfew-multitask-raft-");
  // 77 labels ("label 0" .. "label 76"), two training rows each, like banking_77's label count
  const labels = Array.from({ length: 77 }, (_, i) => `label ${i}`);
  const rows = labels.flatMap((l, i) => [
    [`message ${i} asks about topic ${i}`, l],
    [`another message on topic ${i}`, l],
  ]);
  mkdirSync(join(dir, "many"));
  writeFileSync(join(dir, "many", "train.csv"), toCsv(["Text", "Label"], rows));
});
afterAll(() => removeTempDir(dir));

function tasksValue(): string {
  const raft = raftTasks.map((t) => `{name: ${t}, path: ${join(SHARED_RAFT_DIR, t)}}`);
  return `data.tasks=[${[...raft, `{name: many, path: ${join(dir, "many", "train.csv")}, template: "Text: {Text} Label:", max_choice_len: 16, labels: [${Array.from({ length: 77 }, (_, i) => `"label ${i}"`).join(", ")}]}`].join(", ")}]`;
}

const quick = ["train.steps=4", "train.batch_size=8", "monitor.gpu=off", "eval.batch_size=16", "data.max_seq_len=256"];

describe.skipIf(!hasSharedRaft)("RAFT tasks with 2, 3 and 77 labels in one run", () => {
  for (const routing of ["task", "shared", "smear"] as const) {
    it(`adapter.routing: ${routing}: trains, and eval --run reports every task`, async () => {
      const run = join(dir, `run-${routing}`);
      const sets = [tasksValue(), `adapter.routing=${routing}`, ...quick];
      await runTfewOk(["train", "--out", run, ...sets.flatMap((s) => ["--set", s])]);
      const rows = readFileSync(join(run, "metrics.jsonl"), "utf8").trim().split("\n");
      expect(rows).toHaveLength(4);
      for (const row of rows) expect(Number.isFinite((JSON.parse(row) as { loss: number }).loss)).toBe(true);
      const out = join(dir, `eval-${routing}`);
      const ev = await runTfewOk(["eval", "--run", run, "--out", out]);
      for (const name of [...raftTasks, "many"]) {
        const m = JSON.parse(readFileSync(join(out, name, "metrics.json"), "utf8")) as {
          n: number;
          confusion: number[][];
        };
        expect(m.n, name).toBeGreaterThan(0);
        expect(m.confusion.length, name).toBe(name === "many" ? 77 : name === "semiconductor_org_types" ? 3 : 2);
        expect(ev.stdout).toContain(`${name} (train, n=${m.n})`);
      }
    }, 600_000);
  }
});
