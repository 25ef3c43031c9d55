// (IA)³ configuration with PEFT's semantics (peft tuners/ia3/config.py): target_modules and
// feedforward_modules as name suffixes or one regex; per-model-type defaults as a data table.
import { TfewError } from "../errors.js";

export interface Ia3Config {
  targetModules: string[] | string; // list: module name or ".name" suffix; string: full-match regex
  feedforwardModules: string[] | string; // subset of targets whose INPUT is scaled (PEFT is_feedforward)
}

/** PEFT's TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING / ..._FEEDFORWARD_MODULES_MAPPING for T5-family models. */
export const IA3_DEFAULTS: Record<"t5" | "mt5", Ia3Config> = {
  t5: { targetModules: ["k", "v", "wo"], feedforwardModules: ["wo"] },
  mt5: { targetModules: ["k", "v", "wi_1"], feedforwardModules: [] },
};

export function resolveIa3Config(
  modelType: "t5" | "mt5",
  overrides: { targetModules: string[] | string | null; feedforwardModules: string[] | string | null },
): Ia3Config {
  const defaults = IA3_DEFAULTS[modelType];
  const targetModules = overrides.targetModules ?? defaults.targetModules;
  const feedforwardModules =
    overrides.feedforwardModules ?? defaultFeedforward(targetModules, defaults.feedforwardModules);
  if (Array.isArray(targetModules) && Array.isArray(feedforwardModules)) {
    const missing = feedforwardModules.filter((m) => !targetModules.includes(m));
    if (missing.length > 0) {
      throw new TfewError(
        `adapter: feedforward_modules [${missing.join(", ")}] are not in target_modules [${targetModules.join(", ")}]; every feed-forward module must also be a target (PEFT's rule)`,
      );
    }
  }
  return { targetModules, feedforwardModules };
}

/**
 * PEFT's default when feedforward_modules is not given: the model type's feed-forward modules, as far as they are
 * targets (PEFT marks a matched target as feed-forward when its name ends with a table entry). A target list keeps
 * its own spelling (["k", "v", "wo"] → ["wo"]; ["layer.1.DenseReluDense.wo"] → that entry); a regex keeps the table.
 */
function defaultFeedforward(targets: string[] | string, table: string[] | string): string[] | string {
  if (typeof targets === "string" || typeof table === "string") return table;
  return targets.filter((t) => table.some((f) => t === f || t.endsWith(`.${f}`)));
}

/** PEFT's match: a regex must match the whole module path; a list entry matches the path or its last ".name" suffix. */
export function moduleMatches(path: string, patterns: string[] | string): boolean {
  if (typeof patterns === "string") {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${patterns})$`);
    } catch (error) {
      throw new TfewError(`adapter: module regex "${patterns}" is not valid (${(error as Error).message})`);
    }
    return re.test(path);
  }
  return patterns.some((p) => path === p || path.endsWith(`.${p}`));
}
