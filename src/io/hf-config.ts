// config.json of a Hugging Face model folder as tfew writes it: JSON with 2-space indent whose float fields keep a
// decimal point. JSON.stringify writes 1.0 as `1`, and transformers 5.x validates config types strictly: an
// integer in a float field refuses the whole folder ("initializer_factor: expected float, got int").

/**
 * T5Config's float-typed fields (transformers models/t5/configuration_t5.py: dropout_rate, layer_norm_epsilon,
 * initializer_factor, classifier_dropout) — the floats a T5 config.json holds.
 */
export const HF_CONFIG_FLOAT_KEYS: ReadonlySet<string> = new Set([
  "dropout_rate",
  "layer_norm_epsilon",
  "initializer_factor",
  "classifier_dropout",
]);

/** The text of a config.json: JSON.stringify(value, null, 2) plus a newline, with float fields written as floats. */
export function hfConfigJson(config: Record<string, unknown>): string {
  return `${serialize(config, "", null)}\n`;
}

/** True when `config` has a float field holding an integer (JSON `1`), which transformers 5.x refuses. */
export function hasIntegerFloatField(config: Record<string, unknown>): boolean {
  return Object.entries(config).some(([key, value]) => HF_CONFIG_FLOAT_KEYS.has(key) && Number.isInteger(value));
}

function serialize(value: unknown, indent: string, key: string | null): string {
  if (typeof value === "number" && key !== null && HF_CONFIG_FLOAT_KEYS.has(key)) return floatText(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    const inner = `${indent}  `;
    return `[\n${value.map((item) => inner + serialize(item, inner, null)).join(",\n")}\n${indent}]`;
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return "{}";
    const inner = `${indent}  `;
    const lines = entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${serialize(v, inner, k)}`);
    return `{\n${lines.join(",\n")}\n${indent}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** 1 → "1.0", 1e-6 → "0.000001", 1e21 → "1e+21" (already a float to Python's json). */
function floatText(value: number): string {
  const text = JSON.stringify(value);
  return Number.isInteger(value) && /^-?\d+$/.test(text) ? `${text}.0` : text;
}
