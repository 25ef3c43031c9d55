// `tfew gold-check`: the HF/PEFT gold fixtures recomputed on one backend (a device check for GPU hosts);
// prints one JSON line on stdout, a readable line on stderr, exit 0 only when every value is within tolerance.
import { join } from "node:path";
import type { BackendName } from "../backend/backend-names.js";
import { checkOutputs } from "../io/outputs.js";
import { backendOption, defineCommand, overwriteOption, verboseOption } from "./command.js";
import { PACKAGE_ROOT } from "./common.js";

/** Where the fixtures sit in a checkout and in the kit (scripts/kit.js keeps the same relative path). */
export const DEFAULT_GOLD_FIXTURES = join(PACKAGE_ROOT, "tests", "fixtures", "hf-reference", "t5-tiny-gated");

export const goldCheckCommand = defineCommand({
  command: "gold-check",
  describe:
    "recompute the HF/PEFT gold fixtures on a backend (logits ≤ 1e-3, (IA)³ gradients ≤ 1e-3 relative); a GPU check",
  options: {
    ...backendOption,
    fixtures: { type: "string", describe: "fixture folder (default: tests/fixtures/hf-reference/t5-tiny-gated)" },
    output: { type: "string", describe: "also write the JSON result to this file" },
    ...overwriteOption,
    ...verboseOption,
  },
  async run(args, ctx) {
    if (args.output !== undefined) {
      const inputs = [{ flag: "--fixtures", path: args.fixtures ?? DEFAULT_GOLD_FIXTURES }];
      const outputs = [{ flag: "--output", path: args.output, kind: "file" as const }];
      await checkOutputs({ command: "gold-check", outputs, inputs, overwrite: args.overwrite });
    }
    const { selectBackend } = await import("../backend/select.js");
    const { runGoldCheck } = await import("../check/gold.js");
    const { writeJsonAtomic } = await import("../io/atomic.js");
    const backend = await selectBackend(args.backend as BackendName | undefined);
    ctx.log(`backend: ${backend.name} (${backend.reason})`);
    const result = await runGoldCheck({ fixtureDir: args.fixtures ?? DEFAULT_GOLD_FIXTURES, backend });
    const e = (v: number) => v.toExponential(2);
    const t = result.tolerance;
    const logits = `logits max-abs ${e(result.logits_max_abs)} (≤ ${t.logits_max_abs})`;
    const grads = `(IA)³ gradients rel ${e(result.ia3_grad_rel)}, T-Few gradients rel ${e(result.tfew_grad_rel)}`;
    const losses = `loss rel ${e(result.loss_rel)} / ${e(result.tfew_loss_rel)}`;
    const verdict = `${result.pass ? "PASS" : "FAIL"} in ${result.seconds.toFixed(1)} s`;
    ctx.log(`gold-check on ${result.backend}: ${logits}, ${grads} (≤ ${t.grad_rel}), ${losses}: ${verdict}`);
    if (args.output !== undefined) await writeJsonAtomic(args.output, result);
    ctx.out(JSON.stringify(result));
    return result.pass ? 0 : 1;
  },
});
