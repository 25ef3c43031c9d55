// One rule for every command that writes (src/io/outputs.ts checkOutputs): an existing output is refused with one
// line naming it and --overwrite, an output that is one of the inputs is always refused (real paths: ./p.jsonl,
// symlinks), and a non-empty folder that is not the command's own earlier output is never replaced.
import { existsSync } from "node:fs";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_RUN_SETS, demoRun } from "./helpers/demo-runs.js";
import { listFiles } from "./helpers/spawn-tfew.js";
import {
  DEMO_MODEL_DIR,
  DEMO_TASK_DIR,
  makeTempDir,
  removeTempDir,
  runTfew,
  type CliResult,
} from "./helpers/tfew-cli.js";
import { REPO_ROOT } from "./helpers/shared.js";

let tmp: string;
let pairs: string;
let adapters: [string, string];
const QUICK = DEMO_RUN_SETS.flatMap((s) => ["--set", s]);

beforeAll(async () => {
  tmp = makeTempDir("outputs");
  pairs = join(tmp, "p.jsonl");
  await writeFile(pairs, `${JSON.stringify({ source: "Ticket: my invoice is wrong", target: "billing" })}\n`);
  adapters = [join(await demoRun("seed1"), "adapter"), join(await demoRun("seed2"), "adapter")];
}, 300_000);
afterAll(() => removeTempDir(tmp));

/** The one `tfew: error:` line of a refused command (exit 1, not the bug code 70). */
function refusal(r: CliResult): string {
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^tfew: error: /);
  return lines[0] as string;
}

/** A file of the user's that must survive: returns a check that it is byte-identical. */
async function mine(path: string, text = "mine\n"): Promise<() => Promise<void>> {
  await writeFile(path, text);
  return async () => expect(await readFile(path, "utf8")).toBe(text);
}

const zeroShot = ["--model", DEMO_MODEL_DIR, "--data", DEMO_TASK_DIR, ...QUICK];
const mergeArgs = (out: string, ...more: string[]) => [
  "merge",
  "--adapter",
  adapters[0],
  "--adapter",
  adapters[1],
  "--out",
  out,
  ...more,
];
const exportArgs = (out: string, ...more: string[]) => [
  "export",
  "--model",
  DEMO_MODEL_DIR,
  "--adapter",
  adapters[0],
  "--out",
  out,
  ...more,
];

describe("output == input is always refused (real paths)", () => {
  it("score: --output p.jsonl as --input ./p.jsonl, or as a symlink to it; the input is untouched", async () => {
    const before = await readFile(pairs, "utf8");
    const rel = `./${relative(REPO_ROOT, pairs)}`; // runTfew runs in the repo root
    const link = join(tmp, "link.jsonl");
    await symlink(pairs, link);
    for (const output of [rel, link]) {
      const line = refusal(
        await runTfew(["score", "--model", DEMO_MODEL_DIR, "--input", pairs, "--output", output, "--overwrite"]),
      );
      expect(line).toBe(
        `tfew: error: score: --output ${output} is the same file as --input ${pairs}; give another --output (an input is never overwritten, not even with --overwrite)`,
      );
    }
    expect(await readFile(pairs, "utf8")).toBe(before);
  });

  it("predict and eval: an output that is the --data file", async () => {
    const data = join(tmp, "data.csv");
    const keep = await mine(data, "ID,Label\n");
    const p = refusal(
      await runTfew(["predict", "--model", DEMO_MODEL_DIR, "--data", data, "--output", data, "--overwrite"]),
    );
    expect(p).toContain(`predict: --output ${data} is the same file as --data ${data}`);
    const metrics = join(tmp, "evalout", "metrics.json");
    await mkdir(join(tmp, "evalout"));
    const keepMetrics = await mine(metrics);
    const e = refusal(
      await runTfew(["eval", "--model", DEMO_MODEL_DIR, "--data", metrics, "--out", join(tmp, "evalout")]),
    );
    expect(e).toContain(`eval: --out ${metrics} is the same file as --data ${metrics}`);
    await keep();
    await keepMetrics();
  });

  it("merge --out an --adapter, export --out the --model, audit --out the --data folder", async () => {
    const before = await listFiles(adapters[0]);
    expect(refusal(await runTfew(mergeArgs(adapters[0], "--overwrite")))).toContain(
      `merge: --out ${adapters[0]} is the same folder as --adapter ${adapters[0]}`,
    );
    expect(refusal(await runTfew(exportArgs(DEMO_MODEL_DIR, "--overwrite")))).toContain(
      `export: --out ${DEMO_MODEL_DIR} is the same folder as --model ${DEMO_MODEL_DIR}`,
    );
    const audit = ["audit", "--model", DEMO_MODEL_DIR, "--data", DEMO_TASK_DIR, "--out", DEMO_TASK_DIR];
    expect(refusal(await runTfew([...audit, "--overwrite"]))).toContain(
      `audit: --out ${DEMO_TASK_DIR} is the same folder as --data ${DEMO_TASK_DIR}`,
    );
    expect(await listFiles(adapters[0])).toEqual(before);
  });

  it("report --output one of its folders, gold-check --output its --fixtures, train --out its data folder", async () => {
    const folder = join(tmp, "a-folder");
    await mkdir(folder);
    expect(refusal(await runTfew(["report", folder, "--output", folder]))).toContain(
      `report: --output ${folder} is the same file as the folder ${folder}`,
    );
    expect(refusal(await runTfew(["gold-check", "--fixtures", folder, "--output", `${folder}/`]))).toContain(
      `gold-check: --output ${folder}/ is the same file as --fixtures ${folder}`,
    );
    const t = await runTfew(["train", ...QUICK, "--out", DEMO_TASK_DIR]);
    expect(refusal(t)).toContain(`train: out folder ${DEMO_TASK_DIR} is not empty`);
  });
});

describe("an existing output is refused without --overwrite", () => {
  it("score: an existing --output is kept; --overwrite replaces it", async () => {
    const out = join(tmp, "scores.jsonl");
    const keep = await mine(out);
    const args = ["score", "--model", DEMO_MODEL_DIR, "--input", pairs, "--output", out];
    expect(refusal(await runTfew(args))).toBe(
      `tfew: error: score: ${out} already exists; give --overwrite to replace it, or another --output file`,
    );
    await keep();
    const r = await runTfew([...args, "--overwrite"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(await readFile(out, "utf8"))).toHaveProperty("logprob");
  });

  it("merge and export: an earlier output needs --overwrite; a folder of the user's is never replaced", async () => {
    for (const [command, args, record] of [
      ["merge", mergeArgs, "merge.json"],
      ["export", exportArgs, "tfew_export.json"],
    ] as const) {
      const out = join(tmp, `${command}-out`);
      expect((await runTfew(args(out))).code).toBe(0);
      expect(refusal(await runTfew(args(out)))).toBe(
        `tfew: error: ${command}: ${out} already exists; give --overwrite to replace it, or another --out folder`,
      );
      const before = await readFile(join(out, record), "utf8");
      const again = await runTfew(args(out, "--overwrite"));
      expect(again.code, again.stderr).toBe(0);
      expect(await readFile(join(out, record), "utf8")).not.toBe(before); // a new record (its "created" time)
      expect((await listFiles(tmp)).filter((f) => f.includes(".tmp-") || f.includes(".old-"))).toEqual([]);
      const user = join(tmp, `${command}-user`);
      await mkdir(user);
      const keep = await mine(join(user, "notes.txt"));
      expect(refusal(await runTfew(args(user, "--overwrite")))).toBe(
        `tfew: error: ${command}: ${user} is not empty and holds no ${record} (not a tfew ${command} output); choose another --out folder (it is never overwritten, not even with --overwrite)`,
      );
      await keep();
    }
  });

  it("audit: the user's summary.json and label_issues.csv in a non-empty folder are never overwritten", async () => {
    const out = join(tmp, "audit-user");
    await mkdir(out);
    const summary = await mine(join(out, "summary.json"), '{"mine": true}\n');
    const issues = await mine(join(out, "label_issues.csv"), "my,own\n");
    const notes = await mine(join(out, "notes.md"));
    for (const more of [[], ["--overwrite"]]) {
      const args = ["audit", "--model", DEMO_MODEL_DIR, "--data", DEMO_TASK_DIR, "--out", out, ...more];
      expect(refusal(await runTfew(args))).toContain(`audit: ${out} is not empty and holds no audit; choose another`);
    }
    await Promise.all([summary(), issues(), notes()]);
  });

  it("report: an earlier report needs --overwrite; a page of the user's is never replaced", async () => {
    const run = await demoRun("seed1");
    const out = join(tmp, "report.html");
    expect((await runTfew(["report", run, "--output", out])).code).toBe(0);
    expect(refusal(await runTfew(["report", run, "--output", out]))).toBe(
      `tfew: error: report: ${out} already exists; give --overwrite to replace it, or another --output file`,
    );
    expect((await runTfew(["report", run, "--output", out, "--overwrite"])).code).toBe(0);
    const page = join(tmp, "page.html");
    const keep = await mine(page, "<p>my notes</p>");
    expect(refusal(await runTfew(["report", run, "--output", page, "--overwrite"]))).toContain(
      `report: ${page} exists and is not a tfew report; choose another --output file`,
    );
    await keep();
  });

  it("make-demo: the demo folders need --overwrite; a folder of the user's called demo-model is never replaced", async () => {
    const out = join(tmp, "demo");
    expect((await runTfew(["make-demo", "--out", out])).code).toBe(0);
    expect(refusal(await runTfew(["make-demo", "--out", out]))).toBe(
      `tfew: error: make-demo: ${join(out, "demo-model")} already exists; give --overwrite to replace it, or another --out folder`,
    );
    expect((await runTfew(["make-demo", "--out", out, "--overwrite"])).code).toBe(0);
    const user = join(tmp, "user-demo");
    await mkdir(join(user, "demo-model"), { recursive: true });
    const keep = await mine(join(user, "demo-model", "README.md"), "# my model\n");
    expect(refusal(await runTfew(["make-demo", "--out", user, "--overwrite"]))).toContain(
      `make-demo: ${join(user, "demo-model")} is not a tfew demo`,
    );
    await keep();
  });

  it("gold-check, eval, predict, train: an existing output is refused before any compute", async () => {
    const result = join(tmp, "gold.json");
    const keep = await mine(result);
    expect(refusal(await runTfew(["gold-check", "--output", result]))).toContain(
      `gold-check: ${result} already exists; give --overwrite`,
    );
    await keep();
    const preds = join(tmp, "preds.csv");
    const keepPreds = await mine(preds);
    expect(refusal(await runTfew(["predict", ...zeroShot, "--output", preds]))).toContain(
      `predict: ${preds} already exists; give --overwrite`,
    );
    await keepPreds();
    const evalOut = join(tmp, "eval-existing");
    await mkdir(evalOut);
    const keepMetrics = await mine(join(evalOut, "metrics.json"));
    expect(refusal(await runTfew(["eval", ...zeroShot, "--out", evalOut]))).toContain(
      `eval: ${join(evalOut, "metrics.json")} already exists; give --overwrite`,
    );
    await keepMetrics();
    const run = await demoRun("seed1");
    expect(refusal(await runTfew(["train", ...QUICK, "--out", run]))).toContain("already holds a run");
    expect(existsSync(join(run, "adapter"))).toBe(true);
  });
});
