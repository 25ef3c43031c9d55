// The Slurm engine: DIR/sweep.sbatch, one job array whose task I runs `tfew sweep cell DIR I` (resources from
// the sweep file), submitted with `sbatch --parsable`; the job id goes to DIR/slurm.json for status and reruns.
import { existsSync } from "node:fs";
import { rm, symlink } from "node:fs/promises";
import { join, relative } from "node:path";
import { TfewError } from "../errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";
import { readJsonOrNull } from "../io/run-dir.js";
import type { SlurmSettings } from "./schema.js";
import { runCommand } from "./spawn.js";
import { cellPaths, makeDir, type SweepPlan } from "./sweep-dir.js";

export const SBATCH_FILE = "sweep.sbatch";
export const SLURM_JSON = "slurm.json";

export interface SlurmRecord {
  job_id: string;
  indices: number[];
  submitted_at: string;
}

/** `0-7`, or `1,3-5` for a rerun of some cells; `%P` caps how many run at once. */
export function arraySpec(indices: readonly number[], maxParallel: number | null): string {
  const parts: string[] = [];
  for (let i = 0; i < indices.length;) {
    let j = i;
    while (j + 1 < indices.length && (indices[j + 1] as number) === (indices[j] as number) + 1) j++;
    parts.push(i === j ? String(indices[i]) : `${indices[i]}-${indices[j]}`);
    i = j + 1;
  }
  return `${parts.join(",")}${maxParallel === null ? "" : `%${maxParallel}`}`;
}

function shellQuote(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'"'"'`)}'`;
}

/** The sbatch script text. Output goes to DIR/logs/<index>.out (Slurm's %a); each cell folder links to it. */
export function sbatchScript(options: {
  sweepDir: string;
  plan: SweepPlan;
  indices: readonly number[];
  slurm: SlurmSettings;
  maxParallel: number | null;
  tfew: readonly string[];
}): string {
  const { sweepDir, plan, slurm } = options;
  if (/[\s%]/.test(sweepDir) || /[\s%]/.test(plan.cwd)) {
    throw new TfewError(
      `slurm: ${/[\s%]/.test(sweepDir) ? sweepDir : plan.cwd} contains a space or %, which #SBATCH lines cannot hold; use a sweep folder and working folder without them`,
    );
  }
  const directives = [
    `--job-name=tfew-sweep-${plan.sweep_sha256.slice(0, 8)}`,
    `--array=${arraySpec(options.indices, options.maxParallel)}`,
    `--output=${join(sweepDir, "logs", "%a.out")}`,
    "--open-mode=append",
    `--chdir=${plan.cwd}`,
    `--cpus-per-task=${slurm.cpus_per_task}`,
    ...(slurm.partition !== null ? [`--partition=${slurm.partition}`] : []),
    ...(slurm.account !== null ? [`--account=${slurm.account}`] : []),
    ...(slurm.gpus > 0 ? [`--gres=gpu:${slurm.gpus}`] : []),
    ...(slurm.mem !== null ? [`--mem=${slurm.mem}`] : []),
    ...(slurm.time !== null ? [`--time=${slurm.time}`] : []),
    ...slurm.extra,
  ];
  return [
    "#!/bin/bash",
    `# tfew sweep of ${plan.sweep_file}: ${plan.cells.length} cells as one Slurm job array; task I runs cell I`,
    "# (a complete cell exits at once, a killed one resumes). Written by `tfew sweep run`; resubmit that way.",
    "# Output: DIR/logs/<I>.out (%a); cells/<I>-<slug>/slurm.out links to it.",
    ...directives.map((d) => `#SBATCH ${d}`),
    "",
    `exec ${[...options.tfew, "sweep", "cell", sweepDir].map(shellQuote).join(" ")} "$SLURM_ARRAY_TASK_ID"`,
    "",
  ].join("\n");
}

/** Job ids still known to squeue for this sweep's last submission (empty when squeue is missing). */
async function activeJob(sweepDir: string): Promise<string | null> {
  const record = await readJsonOrNull<SlurmRecord>(join(sweepDir, SLURM_JSON));
  if (record === null) return null;
  const r = await runCommand("squeue", ["-h", "-j", record.job_id, "-o", "%i"], { hint: "" }).catch(() => null);
  return r !== null && r.code === 0 && r.stdout.trim() !== "" ? record.job_id : null;
}

/** Array task index -> Slurm state (PENDING, RUNNING, ...) of this sweep's last job; empty without squeue. */
export async function slurmTaskStates(
  sweepDir: string,
): Promise<{ jobId: string | null; states: Map<number, string> }> {
  const states = new Map<number, string>();
  const record = await readJsonOrNull<SlurmRecord>(join(sweepDir, SLURM_JSON));
  if (record === null) return { jobId: null, states };
  const r = await runCommand("squeue", ["-h", "-r", "-j", record.job_id, "-o", "%K %T"], { hint: "" }).catch(
    () => null,
  );
  for (const line of r?.code === 0 ? r.stdout.split("\n") : []) {
    const [index, state] = line.trim().split(/\s+/);
    if (index !== undefined && state !== undefined && /^\d+$/.test(index)) states.set(Number(index), state);
  }
  return { jobId: record.job_id, states };
}

/** Writes DIR/sweep.sbatch for `indices` (and the log links) and, unless dryRun, submits it. */
export async function submitSlurm(
  sweepDir: string,
  plan: SweepPlan,
  options: {
    indices: number[];
    slurm: SlurmSettings;
    maxParallel: number | null;
    tfew: readonly string[];
    dryRun: boolean;
  },
): Promise<{ script: string; jobId: string | null }> {
  const script = join(sweepDir, SBATCH_FILE);
  await makeDir(join(sweepDir, "logs"));
  await writeFileAtomic(
    script,
    sbatchScript({
      sweepDir,
      plan,
      indices: options.indices,
      slurm: options.slurm,
      maxParallel: options.maxParallel,
      tfew: options.tfew,
    }),
  );
  for (const index of options.indices) await linkCellLog(sweepDir, plan, index);
  if (options.dryRun) return { script, jobId: null };
  const running = await activeJob(sweepDir);
  if (running !== null)
    throw new TfewError(
      `slurm job ${running} of this sweep is still queued or running; wait for it (tfew sweep status ${sweepDir}) or scancel ${running}`,
    );
  const r = await runCommand("sbatch", ["--parsable", script], {
    hint: `run tfew sweep run on a Slurm login node, or add --dry-run to only write ${script}`,
  });
  const jobId = r.stdout.trim().split(";")[0] ?? "";
  if (r.code !== 0 || !/^\d+$/.test(jobId)) {
    const why = (r.stderr.trim().split("\n").at(-1) ?? "").trim() || `exit code ${r.code}`;
    throw new TfewError(`sbatch refused ${script}: ${why}; fix the slurm: settings of the sweep file`);
  }
  const record: SlurmRecord = { job_id: jobId, indices: options.indices, submitted_at: new Date().toISOString() };
  await writeJsonAtomic(join(sweepDir, SLURM_JSON), record);
  return { script, jobId };
}

/** cells/<I>-<slug>/slurm.out -> ../../logs/<I>.out (Slurm's --output cannot name the cell folder itself). */
async function linkCellLog(sweepDir: string, plan: SweepPlan, index: number): Promise<void> {
  const cell = plan.cells[index];
  if (cell === undefined) return;
  const paths = cellPaths(sweepDir, cell);
  const link = join(paths.dir, "slurm.out");
  if (existsSync(link)) return;
  await rm(link, { force: true }); // a dangling link from an earlier submission
  await symlink(relative(paths.dir, join(sweepDir, "logs", `${index}.out`)), link).catch(() => undefined);
}
