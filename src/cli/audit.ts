// `tfew audit (--model M | --run R) --data D [--folds K] --out DIR`: likely label errors from K-fold out-of-fold
// probabilities and confident learning (src/audit); the recipe from the run folder or the default config.
import { join } from "node:path";
import { TfewError } from "../errors.js";
import { checkOutputs } from "../io/outputs.js";
import { parseTempName } from "../io/temp-files.js";
import { configOptions, dataOption, defineCommand, flagValue, inputPaths, overwriteOption } from "./command.js";
import { resolveSources } from "./sources.js";

export const auditCommand = defineCommand({
  command: "audit",
  describe:
    "find likely label errors: K-fold out-of-fold probabilities + confident learning; write label_issues.csv, summary.json, Label Studio tasks",
  options: {
    ...configOptions,
    model: {
      type: "string",
      describe: "model folder or hub id: audit with the default recipe (configs/default.yaml + --config/--set)",
    },
    run: { type: "string", describe: "run folder of tfew train: audit with its recipe (config.resolved.yaml)" },
    ...dataOption,
    folds: {
      type: "number",
      default: 5,
      describe: "K: fold adapters trained, each scoring the examples it did not see",
    },
    ...overwriteOption,
  },
  async run(args, ctx) {
    if ((args.model === undefined) === (args.run === undefined))
      throw new TfewError("audit: give exactly one of --model M or --run DIR");
    if (args.data === undefined) throw new TfewError("audit: give --data D (the labelled data to audit)");
    const flags = [...flagValue("data", "data.path", args.data), ...flagValue("backend", "backend", args.backend)];
    const { config } = await resolveSources(ctx, "audit", { ...args, adapter: undefined }, flags);
    const outDir = args.out ?? join("runs", "audit");
    const { AUDIT_OUTPUTS, runAudit } = await import("../audit/audit.js");
    const own = (_dir: string, entries: readonly string[]) =>
      entries.every((name) => AUDIT_OUTPUTS.includes(name) || parseTempName(name) !== null);
    await checkOutputs({
      command: "audit",
      outputs: [
        { flag: "--out", path: outDir, kind: "folder", isOwn: { test: own, not: "is not empty and holds no audit" } },
      ],
      inputs: inputPaths(args, ["data", "run", "model", "config"]),
      overwrite: args.overwrite,
    });
    const r = await runAudit({ config, folds: args.folds, outDir, log: ctx.log });
    const reused = r.reusedFolds > 0 ? ` (${r.reusedFolds} of ${args.folds} folds reused from ${r.cacheDir})` : "";
    ctx.out(
      `audit: ${r.issues} of ${r.n} labelled examples look mislabelled${reused}; ${join(r.outDir, "label_issues.csv")}`,
    );
    return 0;
  },
});
