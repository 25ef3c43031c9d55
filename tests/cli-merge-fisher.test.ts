// `tfew merge --method fisher --data` through the built CLI on the demo: two tiny runs on the two halves of
// the demo task, a Fisher merge that computes and saves each fisher.safetensors, a second merge that reuses
// them (same bytes, files untouched), the merged adapter evaluates; bad input is one line and writes nothing.
import { DEMO_RUN_SETS } from "./helpers/demo-runs.js";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAdapter } from "../src/adapters/peft-adapter.js";
import { FISHER_FLOOR } from "../src/merge/merge.js";
import { readFisherRecord } from "../src/merge/fisher-file.js";
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

const QUICK = DEMO_RUN_SETS.flatMap((s) => ["--set", s]); // the shared demo runs' recipe

let tmp: string;
const half = (name: string) => join(tmp, `${name}.csv`);
const adapter = (run: string) => join(tmp, run, "adapter");

beforeAll(async () => {
  await ensureBuilt();
  tmp = makeTempDir("merge-fisher");
  const { header, rows } = parseCsv(readFileSync(join(DEMO_TASK_DIR, "train.csv"), "utf8"));
  writeFileSync(
    half("a"),
    toCsv(
      header,
      rows.filter((_, i) => i % 2 === 0),
    ),
  );
  writeFileSync(
    half("b"),
    toCsv(
      header,
      rows.filter((_, i) => i % 2 === 1),
    ),
  );
  const labelIndex = header.indexOf("Label");
  writeFileSync(
    half("other"),
    toCsv(
      header,
      rows.map((r) => r.map((v, j) => (j === labelIndex ? (v === "billing" ? "spam" : "ham") : v))),
    ),
  );
  await runTfewOk(["train", "--out", join(tmp, "ra"), ...QUICK, "--set", "seed=1", "--set", `data.path=${half("a")}`]);
  await runTfewOk(["train", "--out", join(tmp, "rb"), ...QUICK, "--set", "seed=2", "--set", `data.path=${half("b")}`]);
}, 300_000);
afterAll(() => removeTempDir(tmp));

const fisherArgs = (out: string, extra: string[] = []) => [
  "merge",
  "--method",
  "fisher",
  "--adapter",
  adapter("ra"),
  "--data",
  half("a"),
  "--adapter",
  adapter("rb"),
  "--data",
  half("b"),
  "--set",
  "monitor.gpu=off",
  ...extra,
  "--out",
  out,
];

describe("tfew merge --method fisher --data on the demo", () => {
  it("computes and saves each Fisher, merges by the formula, reuses the files on a second merge, and the merge evaluates", async () => {
    const first = await runTfewOk(fisherArgs(join(tmp, "m1")));
    expect(first.stderr.match(/^fisher: computing the model Fisher of /gm)).toHaveLength(2);
    expect(first.stderr).toContain("fisher: 2 computed, 0 reused");
    expect(first.stdout).toMatch(
      /^merged 2 adapters \(fisher, weights 0\.5000, 0\.5000\): 16 vectors, 1,280 parameters → /,
    );

    const records = await Promise.all(["ra", "rb"].map((r) => readFisherRecord(adapter(r))));
    const [a, b, merged] = await Promise.all([
      readAdapter(adapter("ra")),
      readAdapter(adapter("rb")),
      readAdapter(join(tmp, "m1")),
    ]);
    for (const r of records) {
      expect(r?.metadata).toMatchObject({ tfew_fisher: "model", examples: "30", length_norm: "1" });
      expect(r?.metadata.data_sha256).toMatch(/^[0-9a-f]{64}$/);
      expect([...(r?.values.values() ?? [])].some((v) => v.some((x) => x > 1e-6))).toBe(true);
    }
    // θ = Σ max(Fᵢ, ε) θᵢ / Σ max(Fᵢ, ε), element-wise (equal weights)
    for (const [path, v] of merged.values) {
      const [x, y] = [a, b].map((s) => s.values.get(path) as Float32Array);
      const [fx, fy] = records.map((r) => r?.values.get(path) as Float32Array);
      const want = Array.from(v, (_, i) => {
        const [wx, wy] = [
          Math.max((fx as Float32Array)[i] as number, FISHER_FLOOR),
          Math.max((fy as Float32Array)[i] as number, FISHER_FLOOR),
        ];
        return Math.fround(
          (wx * ((x as Float32Array)[i] as number) + wy * ((y as Float32Array)[i] as number)) / (wx + wy),
        );
      });
      expect(Array.from(v)).toEqual(want);
    }
    const record = JSON.parse(readFileSync(join(tmp, "m1", "merge.json"), "utf8")) as {
      inputs: { fisher: { kind: string; examples: number; reused: boolean; data_sha256: string } }[];
    };
    expect(record.inputs.map((i) => [i.fisher.kind, i.fisher.examples, i.fisher.reused])).toEqual([
      ["model", 30, false],
      ["model", 30, false],
    ]);

    const mtimes = ["ra", "rb"].map((r) => statSync(join(adapter(r), "fisher.safetensors")).mtimeMs);
    const second = await runTfewOk(fisherArgs(join(tmp, "m2")));
    expect(second.stderr.match(/^fisher: reusing /gm)).toHaveLength(2);
    expect(second.stderr).not.toContain("computing");
    expect(second.stderr).toContain("fisher: 0 computed, 2 reused");
    expect(["ra", "rb"].map((r) => statSync(join(adapter(r), "fisher.safetensors")).mtimeMs)).toEqual(mtimes);
    expect(
      readFileSync(join(tmp, "m2", "adapter_model.safetensors")).equals(
        readFileSync(join(tmp, "m1", "adapter_model.safetensors")),
      ),
    ).toBe(true);

    const e = await runTfewOk([
      "eval",
      "--adapter",
      join(tmp, "m1"),
      "--data",
      DEMO_TASK_DIR,
      "--set",
      "monitor.gpu=off",
      "--out",
      join(tmp, "eval-m1"),
    ]);
    expect(e.stdout).toMatch(/^support_tickets \(train, n=60\): accuracy [0-9.]+, macro-F1 [0-9.]+;/);
  }, 300_000);

  it("--fisher empirical recomputes (other inputs than the saved files) and records its kind", async () => {
    const r = await runTfewOk(fisherArgs(join(tmp, "m3"), ["--fisher", "empirical"]));
    expect(
      r.stderr.match(
        /^fisher: computing the empirical Fisher of .*\(the saved fisher\.safetensors was computed from other inputs\)$/gm,
      ),
    ).toHaveLength(2);
    expect((await readFisherRecord(adapter("ra")))?.metadata.tfew_fisher).toBe("empirical");
  }, 300_000);
});

describe("bad input: exit 1, one line, nothing written", () => {
  async function expectOneLineError(args: string[], message: RegExp): Promise<void> {
    const r = await runTfew(args);
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    expect(r.code, r.stderr).toBe(1);
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  }

  it("a --data count that differs from the --adapter count; --data without --method fisher", async () => {
    const out = join(tmp, "never-1");
    await expectOneLineError(
      [
        "merge",
        "--method",
        "fisher",
        "--adapter",
        adapter("ra"),
        "--data",
        half("a"),
        "--adapter",
        adapter("rb"),
        "--out",
        out,
      ],
      /^tfew: error: merge: 1 --data for 2 --adapter folders; give one --data per adapter/,
    );
    await expectOneLineError(
      [
        "merge",
        "--adapter",
        adapter("ra"),
        "--data",
        half("a"),
        "--adapter",
        adapter("rb"),
        "--data",
        half("b"),
        "--out",
        out,
      ],
      /^tfew: error: merge: --data is for --method fisher/,
    );
    expect(() => statSync(out)).toThrow();
  });

  it("data whose labels are not the adapter's task: nothing computed or written", async () => {
    const before = statSync(join(adapter("ra"), "fisher.safetensors")).mtimeMs;
    const out = join(tmp, "never-2");
    await expectOneLineError(
      [
        "merge",
        "--method",
        "fisher",
        "--adapter",
        adapter("ra"),
        "--data",
        half("other"),
        "--adapter",
        adapter("rb"),
        "--data",
        half("b"),
        "--out",
        out,
      ],
      /^tfew: error: merge: --data .*other\.csv has labels \["ham","spam"\] but .*ra\/adapter was trained on \["billing","bug report","feature request"\] \(.*config\.resolved\.yaml\); give each --adapter its own task's data/,
    );
    expect(statSync(join(adapter("ra"), "fisher.safetensors")).mtimeMs).toBe(before);
    expect(() => statSync(out)).toThrow();
  });
});
