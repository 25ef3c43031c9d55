// Deprecated keys: train.workers still loads (files, --set) as the top-level workers with one warning line;
// both names from one source are an error; the resolved config and its legacy form (older run folders).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TfewError } from "../errors.js";
import { configToYaml, legacyConfigYaml, loadRunConfig, type LoadOptions } from "./load.js";

const dir = mkdtempSync(join(tmpdir(), "tfew-aliases-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const load = (options: Partial<LoadOptions>) => loadRunConfig({ files: [], sets: [], ...options });

/** The one-line TfewError message of a load that must fail. */
function errorOf(options: Partial<LoadOptions>): string {
  try {
    load(options);
  } catch (error) {
    expect(error).toBeInstanceOf(TfewError);
    expect((error as TfewError).message).not.toContain("\n");
    return (error as TfewError).message;
  }
  throw new Error("expected loadRunConfig to throw");
}

const WHY = "it is now the key workers (it also sets the workers of eval, audit and Fisher merging)";

describe("train.workers, the old name of workers", () => {
  it("in a file: read as workers, with one warning line naming the file", () => {
    const a = file("old.yaml", "train:\n  steps: 5\n  workers: 2\n");
    const { config, warnings } = load({ files: [a] });
    expect(config.workers).toBe(2);
    expect(config.train.steps).toBe(5);
    expect(warnings).toEqual([`warning: train.workers (${a}) is deprecated: ${WHY}; write workers: 2`]);
  });

  it("by --set: read as workers, typed like workers (auto stays text)", () => {
    const { config, warnings } = load({ sets: ["train.workers=auto"] });
    expect(config.workers).toBe("auto");
    expect(warnings).toEqual([
      `warning: train.workers (--set train.workers=auto) is deprecated: ${WHY}; write workers: "auto"`,
    ]);
    expect(load({ sets: ["train.workers=3"] }).config.workers).toBe(3);
  });

  it("used in several sources: still one line, naming each; the later source wins as for any key", () => {
    const a = file("old-a.yaml", "train:\n  workers: 2\n");
    const b = file("new-b.yaml", "workers: 4\n");
    const { config, warnings } = load({ files: [a, b], sets: ["train.workers=3"] });
    expect(config.workers).toBe(3);
    expect(warnings).toEqual([
      `warning: train.workers (${a}, --set train.workers=3) is deprecated: ${WHY}; write workers: 3`,
    ]);
    expect(load({ files: [a], sets: ["workers=1"] }).config.workers).toBe(1); // e.g. eval --run OLD --set workers=1
  });

  it("no deprecated key: no warnings", () => {
    expect(load({ sets: ["workers=2"] }).warnings).toEqual([]);
    expect(load({ files: [file("plain.yaml", "seed: 3\n")] }).warnings).toEqual([]);
  });

  it("both names in one file, or both among the --set overrides: one clear error", () => {
    const both = file("both.yaml", "workers: 2\ntrain:\n  workers: 3\n");
    expect(errorOf({ files: [both] })).toBe(
      `train.workers and workers are both given in ${both}; train.workers is the old name of workers: keep only workers`,
    );
    expect(errorOf({ sets: ["workers=2", "train.workers=3"] })).toBe(
      "train.workers and workers are both given in --set train.workers=3 and --set workers=2; train.workers is the old name of workers: keep only workers",
    );
  });

  it("a bad value names the key as the user wrote it", () => {
    const bad = file("bad.yaml", "train:\n  workers: 0\n");
    expect(errorOf({ files: [bad] })).toBe(
      `workers in ${bad} must be a positive integer or "auto", got 0 (given as train.workers, its deprecated name)`,
    );
    expect(errorOf({ sets: ["train.workers=none"] })).toBe(
      'workers in --set train.workers=none must be a positive integer or "auto", got "none" (given as train.workers, its deprecated name)',
    );
  });

  it("config.resolved.yaml writes only workers; legacyConfigYaml is the older form with train.workers", () => {
    const { config } = load({ sets: ["train.workers=2"] });
    const text = configToYaml(config);
    expect(text).toMatch(/^workers: 2$/m);
    expect(text).not.toMatch(/^ +workers:/m);
    const legacy = legacyConfigYaml(config);
    expect(legacy).not.toMatch(/^workers:/m);
    expect(legacy).toContain("  log_every: 1\n  workers: 2\n  skip_nonfinite: false\n");
    const back = load({ files: [file("legacy.yaml", legacy)] });
    expect(back.config).toEqual(config);
    expect(back.warnings).toHaveLength(1);
  });
});
