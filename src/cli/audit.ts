// `tfew audit (--model M | --run R) --data D [--folds K] --out DIR`: the CLI side of src/audit (config from the
// run folder or the default recipe, the one-line result).
import { join } from "node:path";
import { runAudit } from "../audit/audit.js";
import { loadRunConfig } from "../config/load.js";
import type { RunConfig } from "../config/schema.js";
import { TfewError } from "../errors.js";
import { runPaths } from "../io/run-dir.js";
import { configFromArgs, log, type ConfigArgs } from "./common.js";

export interface AuditArgs extends ConfigArgs {
  model?: string;
  run?: string;
  data?: string;
  folds: number;
}

/** The recipe: a run folder's config.resolved.yaml (plus --config/--set), or the default config with --model. */
function auditConfig(args: AuditArgs): RunConfig {
  if ((args.model === undefined) === (args.run === undefined))
    throw new TfewError("audit: give exactly one of --model M or --run DIR");
  if (args.data === undefined) throw new TfewError("audit: give --data D (the labelled data to audit)");
  const sets = [
    ...(args.set ?? []),
    `data.path=${args.data}`,
    ...(args.backend !== undefined ? [`backend=${args.backend}`] : []),
  ];
  if (args.run !== undefined)
    return loadRunConfig({ files: [runPaths(args.run).config, ...(args.config ?? [])], sets }).config;
  return configFromArgs({
    ...args,
    set: [`model=${args.model as string}`, ...sets],
    backend: undefined,
    out: undefined,
  }).config;
}

export async function auditCommand(args: AuditArgs): Promise<number> {
  const config = auditConfig(args);
  const outDir = args.out ?? join("runs", "audit");
  const r = await runAudit({ config, folds: args.folds, outDir, log });
  const reused = r.reusedFolds > 0 ? ` (${r.reusedFolds} of ${args.folds} folds reused from ${r.cacheDir})` : "";
  process.stdout.write(
    `audit: ${r.issues} of ${r.n} labelled examples look mislabelled${reused}; ${join(r.outDir, "label_issues.csv")}\n`,
  );
  return 0;
}
