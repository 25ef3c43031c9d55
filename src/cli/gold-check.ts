// `tfew gold-check`: the HF/PEFT gold fixtures recomputed on one backend (a device check for GPU hosts);
// prints one JSON line on stdout, a readable line on stderr, exit 0 only when every value is within tolerance.
import { join } from "node:path";
import { selectBackend, type BackendName } from "../backend/select.js";
import { runGoldCheck } from "../check/gold.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { log, PACKAGE_ROOT } from "./common.js";

/** Where the fixtures sit in a checkout and in the kit (scripts/kit.js keeps the same relative path). */
export const DEFAULT_GOLD_FIXTURES = join(PACKAGE_ROOT, "tests", "fixtures", "hf-reference", "t5-tiny-gated");

export async function goldCheckCommand(args: {
  backend?: string;
  fixtures?: string;
  output?: string;
}): Promise<number> {
  const backend = await selectBackend(args.backend as BackendName | undefined);
  log(`backend: ${backend.name} (${backend.reason})`);
  const result = await runGoldCheck({ fixtureDir: args.fixtures ?? DEFAULT_GOLD_FIXTURES, backend });
  const e = (v: number) => v.toExponential(2);
  log(
    `gold-check on ${result.backend}: logits max-abs ${e(result.logits_max_abs)} (≤ ${result.tolerance.logits_max_abs}), (IA)³ gradients rel ${e(result.ia3_grad_rel)}, T-Few gradients rel ${e(result.tfew_grad_rel)} (≤ ${result.tolerance.grad_rel}), loss rel ${e(result.loss_rel)} / ${e(result.tfew_loss_rel)}: ${result.pass ? "PASS" : "FAIL"} in ${result.seconds.toFixed(1)} s`,
  );
  if (args.output !== undefined) await writeJsonAtomic(args.output, result);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result.pass ? 0 : 1;
}
