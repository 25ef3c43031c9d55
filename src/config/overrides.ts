// `--set section.key=value` overrides, as nanoGPT's configurator.py `--key=value`: the key path must exist in
// the schema, the value is read as YAML (1e-3, [k, v], null, "quoted text"), and validation types it later.
import YAML from "yaml";
import { TfewError } from "../errors.js";
import { aliasTarget } from "./aliases.js";
import { schemaAt, unknownKeyMessage } from "./issues.js";

/** One parsed `--set`: the key path and its value, ready to merge as a layer. */
export interface Override {
  arg: string; // the text as given, e.g. "train.lr=1e-3"
  path: string[]; // ["train", "lr"]
  value: unknown; // 0.001
}

/** Parse `section.key=value`; throws a one-line TfewError for a missing "=" or an unknown key path. */
export function parseOverride(arg: string): Override {
  const equals = arg.indexOf("=");
  if (equals < 0) {
    throw new TfewError(`--set ${JSON.stringify(arg)} has no "="; write section.key=value, e.g. --set train.lr=1e-3`);
  }
  const key = arg.slice(0, equals).trim();
  const path = key.split(".");
  if (path.some((segment) => segment.length === 0)) {
    throw new TfewError(
      `--set ${JSON.stringify(arg)}: ${JSON.stringify(key)} is not a key path; write section.key=value, e.g. train.lr=1e-3`,
    );
  }
  const schema = schemaAt(aliasTarget(path) ?? path); // a deprecated key (train.workers) takes its new key's values
  if (schema === undefined) throw new TfewError(unknownKeyMessage(path, `--set ${arg}`));
  const raw = arg.slice(equals + 1);

  let parsed: unknown;
  let syntaxError: string | undefined;
  try {
    parsed = YAML.parse(raw, { logLevel: "error" });
  } catch (error) {
    syntaxError = (error instanceof Error ? error.message : String(error)).split("\n")[0];
  }
  if (syntaxError === undefined && schema.safeParse(parsed).success) return { arg, path, value: parsed };
  // Text that YAML reads as something else (revision=1234, instruction=Answer: yes or no) stays text
  // when the key takes text.
  if (schema.safeParse(raw).success) return { arg, path, value: raw };
  if (syntaxError !== undefined) {
    throw new TfewError(`--set ${arg}: the value is not valid YAML (${syntaxError}); quote it or close its brackets`);
  }
  return { arg, path, value: parsed }; // wrong type: validation names the key and what it allows
}

/** The override as a nested mapping: train.lr=1e-3 -> { train: { lr: 0.001 } }. */
export function overrideData(override: Override): Record<string, unknown> {
  let data: unknown = override.value;
  for (let i = override.path.length - 1; i >= 0; i--) data = { [override.path[i] as string]: data };
  return data as Record<string, unknown>;
}
