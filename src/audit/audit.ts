// `tfew audit`: finds likely label errors. K fold adapters give out-of-fold p(label | x) (out-of-fold.ts),
// confident learning ranks and flags the examples (confident.ts), and report.ts writes the files. Fold adapters
// and probabilities live in <out>/folds/<key>/, keyed by the data files' sha256 and the resolved config, so a
// second audit of the same data and recipe reuses them.
import { join } from "node:path";
import { configToYaml } from "../config/load.js";
import type { RunConfig } from "../config/schema.js";
import { describeDataFiles } from "../data/manifest.js";
import type { TaskData } from "../data/task-types.js";
import { TfewError } from "../errors.js";
import { prepareModel, prepareTask, type Workspace } from "../engine/workspace.js";
import { ensureRunDir, sha256Text, TFEW_VERSION, writeJson } from "../io/run-dir.js";
import { confidentLearning } from "./confident.js";
import { outOfFoldProbabilities } from "./out-of-fold.js";
import { writeReports } from "./report.js";

export interface AuditOptions {
  config: RunConfig;
  folds: number;
  outDir: string;
  log: (line: string) => void;
  progressStream?: NodeJS.WriteStream;
  /** Already-loaded parts (tests, callers that hold them); default: loaded from the config. */
  task?: TaskData;
  workspace?: Workspace;
}

export interface AuditResult {
  outDir: string;
  n: number;
  issues: number;
  /** Indices into task.train, most suspicious first, and which of them are issues. */
  ranking: number[];
  isIssue: boolean[];
  cacheDir: string;
  reusedFolds: number;
}

/** What an audit writes into its --out folder: a folder holding only these is an earlier audit (--overwrite). */
export const AUDIT_OUTPUTS: readonly string[] = [
  "label_issues.csv",
  "summary.json",
  "label-studio-tasks.json",
  "label-studio-config.xml",
  "manifest.json",
  "folds",
];

/** The cache key: what the fold adapters depend on (data bytes, resolved recipe, fold count). */
export function auditCacheKey(dataSha256: readonly string[], config: RunConfig, folds: number): string {
  return sha256Text(JSON.stringify({ data: dataSha256, config: configToYaml({ ...config, out: null }), folds })).slice(
    0,
    16,
  );
}

export async function runAudit(options: AuditOptions): Promise<AuditResult> {
  const { config, log } = options;
  const started = new Date();
  if (!Number.isInteger(options.folds) || options.folds < 2)
    throw new TfewError(`audit: --folds ${options.folds} must be an integer of at least 2`);
  const task = options.task ?? (await prepareTask(config));
  if (task.train.length < options.folds) {
    throw new TfewError(
      `audit: --folds ${options.folds} needs at least ${options.folds} labelled examples; ${config.data.path} has ${task.train.length}`,
    );
  }
  const outDir = await ensureRunDir(options.outDir);
  const dataFiles = await describeDataFiles(task.files);
  const key = auditCacheKey(
    dataFiles.map((f) => f.sha256),
    config,
    options.folds,
  );
  const cacheDir = join(outDir, "folds", key);
  let workspace = options.workspace;
  const getWorkspace = async () => (workspace ??= await prepareModel(config, { log }));
  const oof = await outOfFoldProbabilities(
    { config, task, workspace: getWorkspace, log, progressStream: options.progressStream },
    { folds: options.folds, cacheDir },
  );
  const labels = task.train.map((e) => e.label as number);
  const result = confidentLearning(oof.probs, labels, task.labelNames.length);
  const input = { task, probs: oof.probs, result, labelField: config.data.label_field, idField: config.data.id_field };
  await writeReports(outDir, input, {
    folds: options.folds,
    cache_key: key,
    fold_dir: cacheDir,
    reused_folds: oof.reusedFolds,
  });
  await writeJson(outDir, "manifest.json", {
    tfew_version: TFEW_VERSION,
    command: "audit",
    model: config.model,
    model_commit: workspace?.source.commit ?? null,
    data_files: dataFiles,
    folds: options.folds,
    seed: config.seed,
    cache_key: key,
    reused_folds: oof.reusedFolds,
    started_at: started.toISOString(),
    ended_at: new Date().toISOString(),
  });
  await ensureRunDir(cacheDir); // the config the fold adapters were trained with, beside them
  await writeJson(cacheDir, "key.json", {
    data_files: dataFiles.map((f) => ({ path: f.path, sha256: f.sha256 })),
    folds: options.folds,
    config: configToYaml({ ...config, out: null }),
  });
  const issues = result.isIssue.filter(Boolean).length;
  return {
    outDir,
    n: labels.length,
    issues,
    ranking: result.ranking,
    isIssue: result.isIssue,
    cacheDir,
    reusedFolds: oof.reusedFolds,
  };
}
