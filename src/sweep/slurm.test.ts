// The Slurm engine without a cluster: array specs, the sbatch file's text, --dry-run's files, and a missing sbatch.
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TfewError } from "../errors.js";
import { loadSweepFile } from "./schema.js";
import { arraySpec, sbatchScript, submitSlurm } from "./slurm.js";
import { prepareSweepDir } from "./sweep-dir.js";

const work = mkdtempSync(join(tmpdir(), "tfew-slurm-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SWEEP = [
  "set: {train.steps: 2}",
  "grid:",
  "  data.path: [raft:ade_corpus_v2, raft:overruling]",
  "  seed: [1, 2, 3]",
  "engine: slurm",
  'slurm: {partition: gpu, account: lab, cpus_per_task: 8, gpus: 1, mem: 32G, time: "02:00:00", extra: ["--qos=short", "--constraint=a100"]}',
  "max_parallel: 4",
].join("\n");

async function prepared(name: string) {
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, SWEEP);
  const dir = join(work, name);
  const { plan } = await prepareSweepDir(dir, loadSweepFile(file), { cwd: work });
  return { dir, plan, sweep: loadSweepFile(file).sweep };
}

describe("arraySpec", () => {
  it("writes ranges, single indices and the %max_parallel cap", () => {
    expect(arraySpec([0, 1, 2, 3, 4, 5], 4)).toBe("0-5%4");
    expect(arraySpec([1, 3, 4, 5, 9], null)).toBe("1,3-5,9");
    expect(arraySpec([7], 2)).toBe("7%2");
  });
});

describe("sbatchScript", () => {
  it("holds the array, the resources of the file and the cell command", async () => {
    const { dir, plan, sweep } = await prepared("text");
    const text = sbatchScript({
      sweepDir: dir,
      plan,
      indices: [0, 1, 2, 3, 4, 5],
      slurm: sweep.slurm,
      maxParallel: 4,
      tfew: ["/usr/bin/node", "/opt/tfew/bin/tfew.js"],
    });
    const directives = text.split("\n").filter((l) => l.startsWith("#SBATCH "));
    expect(directives).toEqual([
      `#SBATCH --job-name=tfew-sweep-${plan.sweep_sha256.slice(0, 8)}`,
      "#SBATCH --array=0-5%4",
      `#SBATCH --output=${join(dir, "logs", "%a.out")}`,
      "#SBATCH --open-mode=append",
      `#SBATCH --chdir=${work}`,
      "#SBATCH --cpus-per-task=8",
      "#SBATCH --partition=gpu",
      "#SBATCH --account=lab",
      "#SBATCH --gres=gpu:1",
      "#SBATCH --mem=32G",
      "#SBATCH --time=02:00:00",
      "#SBATCH --qos=short",
      "#SBATCH --constraint=a100",
    ]);
    expect(text.startsWith("#!/bin/bash\n")).toBe(true);
    expect(text).toContain(`\nexec /usr/bin/node /opt/tfew/bin/tfew.js sweep cell ${dir} "$SLURM_ARRAY_TASK_ID"\n`);
  });

  it("refuses a sweep folder with a space (an #SBATCH line cannot hold it)", async () => {
    const { plan, sweep } = await prepared("space");
    expect(() =>
      sbatchScript({
        sweepDir: "/tmp/my sweep",
        plan,
        indices: [0],
        slurm: sweep.slurm,
        maxParallel: null,
        tfew: ["node", "t.js"],
      }),
    ).toThrow(TfewError);
  });
});

describe("submitSlurm", () => {
  it("--dry-run writes DIR/sweep.sbatch, DIR/logs and each cell's slurm.out link, and submits nothing", async () => {
    const { dir, plan, sweep } = await prepared("dry");
    const r = await submitSlurm(dir, plan, {
      indices: [1, 4],
      slurm: sweep.slurm,
      maxParallel: 2,
      tfew: ["node", "t.js"],
      dryRun: true,
    });
    expect(r.jobId).toBeNull();
    expect(readFileSync(join(dir, "sweep.sbatch"), "utf8")).toContain("#SBATCH --array=1,4%2");
    expect(existsSync(join(dir, "logs"))).toBe(true);
    expect(readlinkSync(join(dir, plan.cells[4]?.dir ?? "", "slurm.out"))).toBe(join("..", "..", "logs", "4.out"));
    expect(existsSync(join(dir, "slurm.json"))).toBe(false);
  });

  it("says in one line that sbatch is missing, and how to only write the file", async () => {
    const { dir, plan, sweep } = await prepared("nosbatch");
    const path = process.env.PATH;
    process.env.PATH = join(work, "empty-bin");
    try {
      const error = await submitSlurm(dir, plan, {
        indices: [0],
        slurm: sweep.slurm,
        maxParallel: null,
        tfew: ["node", "t.js"],
        dryRun: false,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TfewError);
      expect((error as Error).message).toBe(
        `sbatch not found on PATH; run tfew sweep run on a Slurm login node, or add --dry-run to only write ${join(dir, "sweep.sbatch")}`,
      );
    } finally {
      process.env.PATH = path;
    }
  });
});
