// transformers' generate defaults (the config's generate: section, as GenerateSettings) with max_new_tokens 12,
// the fixture's setting.
import { defaultConfig } from "../../src/config/load.js";
import type { GenerateSettings } from "../../src/generate/generate.js";
import { generateSettings } from "../../src/generate/settings.js";

export const HF_DEFAULTS: GenerateSettings = { ...generateSettings(defaultConfig()), maxNewTokens: 12 };
