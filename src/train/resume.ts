// What `tfew train --resume` checks before it continues a run: that its checkpoint is there (or that the run never
// got to one), that manifest.json is this tfew's (a warning otherwise), and that the data and model files still
// have the sha256 the manifest recorded: a changed file is refused unless --accept-changed-inputs, and an accepted
// change keeps the earlier checksums in the manifest's input_history.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import type { RunConfig } from "../config/schema.js";
import type { DataFileRecord } from "../data/manifest.js";
import { TfewError } from "../errors.js";
import { readJson, runPaths, TFEW_VERSION } from "../io/run-dir.js";
import { loadCheckpoint, type TrainState } from "./checkpoint.js";

/** The inputs a manifest records (model_files: null for a hub model at a commit). */
export interface RunInputs {
  model_commit: string | null;
  model_files: Record<string, string> | null;
  data_files: DataFileRecord[];
}

/** One accepted change of inputs: the checksums the run had used up to `until_step`. */
export interface InputHistoryEntry extends RunInputs {
  until_step: number;
  changed: string[]; // the files (or "model commit") that differed
  accepted_at: string;
}

/** The manifest.json of the session before this resume (what the checks need of it). */
export interface PreviousManifest extends Partial<RunInputs> {
  tfew_version?: string;
  input_history?: InputHistoryEntry[];
}

/** The checkpoint to continue from; null (and a note) only when the run stopped before its first checkpoint. */
export async function resumeCheckpoint(
  runDir: string,
  config: RunConfig,
  log: (line: string) => void,
): Promise<TrainState | null> {
  const state = await loadCheckpoint(runDir);
  if (state !== null) return state;
  const files = runPaths(runDir);
  const first = Math.min(config.train.checkpoint_every, config.train.steps); // the step of the first checkpoint
  const reached = (await readMetricsLog(files.metrics)).lastStep;
  if (reached > first) {
    throw new TfewError(
      `resume: ${files.checkpoint} is missing, but the run had reached step ${reached} (${files.metrics}) and ` +
        `checkpoints every ${config.train.checkpoint_every}; ` +
        "restore the file to resume, or start over with tfew train --out NEW",
    );
  }
  log(
    `resume: ${runDir} has no checkpoint (the run stopped before step ${first}, its first one); starting from step 0`,
  );
  return null;
}

const UNCHECKED = "the run's inputs cannot be checked without it: restore it, or give --accept-changed-inputs";

/** The previous manifest.json (null when the run stopped before writing one); warns when another tfew wrote it. */
export async function readPreviousManifest(
  runDir: string,
  options: { acceptChanged: boolean; log: (line: string) => void },
): Promise<PreviousManifest | null> {
  const file = runPaths(runDir).manifest;
  if (!existsSync(file)) return null;
  let manifest: unknown;
  try {
    manifest = await readJson<unknown>(file);
  } catch (error) {
    if (options.acceptChanged) return null;
    throw new TfewError(`resume: ${(error as Error).message}; ${UNCHECKED}`);
  }
  if (typeof manifest !== "object" || manifest === null || Array.isArray(manifest)) {
    if (options.acceptChanged) return null;
    throw new TfewError(`resume: ${file} is not a JSON object; ${UNCHECKED}`);
  }
  const previous = manifest as PreviousManifest;
  if (previous.tfew_version !== TFEW_VERSION) {
    options.log(
      `resume: warning: ${file} was written by tfew ${previous.tfew_version ?? "(no version)"}, ` +
        `this is ${TFEW_VERSION}; continuing with this one (the manifest will say ${TFEW_VERSION})`,
    );
  }
  return previous;
}

/**
 * The inputs that differ from the previous manifest's ([] when none). Without `acceptChanged` a difference is
 * refused in one line naming the file.
 */
export function changedInputs(
  previous: PreviousManifest,
  current: RunInputs,
  options: { acceptChanged: boolean; manifestFile: string },
): string[] {
  const changes: { name: string; line: string }[] = [];
  if (previous.model_commit != null && current.model_commit !== null && previous.model_commit !== current.model_commit)
    changes.push({
      name: "model commit",
      line: `the model now resolves to commit ${current.model_commit}, the run started on ${previous.model_commit}`,
    });
  const before = fileShas(previous.model_files ?? {}, previous.data_files ?? []);
  const now = fileShas(current.model_files ?? {}, current.data_files);
  // a file with a recorded sha256 is the same input wherever it is now (a run folder's relative paths may
  // resolve elsewhere when it is resumed from another folder); the rest pair by path, else by file name
  const shas = new Set(now.map((f) => f.sha));
  const gone = before.filter((f) => !shas.has(f.sha));
  const added = now.filter((f) => !before.some((b) => b.sha === f.sha));
  for (const old of gone) {
    const shown = `sha256 ${old.sha.slice(0, 12)}… in ${options.manifestFile}`;
    const pair = added.find((f) => f.path === old.path) ?? added.find((f) => basename(f.path) === basename(old.path));
    if (pair === undefined) {
      changes.push({ name: old.path, line: `${old.path} (${shown}) is no longer among its inputs` });
      continue;
    }
    added.splice(added.indexOf(pair), 1);
    const line = `${pair.path} changed since the run started (${shown}, now ${pair.sha.slice(0, 12)}…)`;
    changes.push({ name: pair.path, line });
  }
  for (const f of added)
    changes.push({ name: f.path, line: `${f.path} is a new input (not in ${options.manifestFile})` });
  const first = changes[0];
  if (first !== undefined && !options.acceptChanged) {
    throw new TfewError(
      `resume: ${first.line}${changes.length > 1 ? ` (and ${changes.length - 1} more)` : ""}; restore it, ` +
        "or give --accept-changed-inputs to train on with the new inputs (recorded in manifest.json)",
    );
  }
  return changes.map((c) => c.name);
}

function fileShas(model: Record<string, string>, data: readonly DataFileRecord[]): { path: string; sha: string }[] {
  return [
    ...Object.entries(model).map(([path, sha]) => ({ path, sha })),
    ...data.map((f) => ({ path: f.path, sha: f.sha256 })),
  ];
}

/** The last step metrics.jsonl logged and the loss of its step 1 (complete rows only; a missing log is empty). */
export async function readMetricsLog(path: string): Promise<{ lastStep: number; firstLoss: number | null }> {
  const text = await readFile(path, "utf8").catch(() => "");
  let lastStep = 0;
  let firstLoss: number | null = null;
  for (const line of text.split("\n")) {
    try {
      const row = JSON.parse(line) as { step?: unknown; loss?: unknown };
      if (typeof row.step !== "number") continue;
      lastStep = Math.max(lastStep, row.step);
      if (row.step === 1 && typeof row.loss === "number") firstLoss = row.loss;
    } catch {
      // a line a kill cut short
    }
  }
  return { lastStep, firstLoss };
}
