// loadRunConfig: file merge order, --set typing, and one-line errors that name the key path and its file.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TfewError } from "../errors.js";
import { configToYaml, defaultConfig, loadRunConfig, type LoadOptions } from "./load.js";

const dir = mkdtempSync(join(tmpdir(), "tfew-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Write a config file into the temp folder and return its path. */
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The TfewError message loadRunConfig throws; fails the test when it does not throw one. */
function errorOf(options: Partial<LoadOptions>): string {
  try {
    loadRunConfig({ files: [], sets: [], ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(TfewError);
    const message = (error as TfewError).message;
    expect(message).not.toContain("\n"); // one line
    return message;
  }
  throw new Error("expected loadRunConfig to throw");
}

describe("merging files", () => {
  it("later files win, sections merge key by key, lists replace", () => {
    const a = file("a.yaml", "train:\n  steps: 10\n  lr: 0.1\nadapter:\n  target_modules: [k, v, wo]\n");
    const b = file("b.yaml", "train:\n  steps: 20\nadapter:\n  target_modules: [q]\n");
    const { config, sources } = loadRunConfig({ files: [a, b], sets: [] });
    expect(config.train.steps).toBe(20);
    expect(config.train.lr).toBe(0.1); // kept from a.yaml
    expect(config.adapter.target_modules).toEqual(["q"]); // replaced, not concatenated
    expect(config.train.batch_size).toBe(8); // schema default
    expect(sources).toEqual([a, b]);
  });

  it("reads JSON and .yml, and an empty file is an empty mapping", () => {
    const json = file("c.json", JSON.stringify({ seed: 7, data: { labels: ["no", "yes"] } }));
    const yml = file("d.yml", "");
    const { config } = loadRunConfig({ files: [json, yml], sets: [] });
    expect(config.seed).toBe(7);
    expect(config.data.labels).toEqual(["no", "yes"]);
  });

  it("null in a later file replaces a value", () => {
    const a = file("e.yaml", "data:\n  labels: [a, b]\n");
    const b = file("f.yaml", "data:\n  labels: null\n");
    expect(loadRunConfig({ files: [a, b], sets: [] }).config.data.labels).toBeNull();
  });

  it("base sits under the files and is not mutated", () => {
    const base = { train: { steps: 5, lr: 0.5 } };
    const a = file("g.yaml", "train:\n  steps: 6\n");
    const { config } = loadRunConfig({ files: [a], sets: [], base });
    expect(config.train).toMatchObject({ steps: 6, lr: 0.5 });
    expect(base.train.steps).toBe(5);
  });
});

describe("--set overrides", () => {
  const set = (...sets: string[]) => loadRunConfig({ files: [], sets }).config;

  it("parses values as YAML: numbers, lists, null, booleans, auto", () => {
    const config = set(
      "train.lr=1e-3",
      "adapter.target_modules=[k,v]",
      "data.labels=null",
      "train.skip_nonfinite=true",
      "train.micro_batch_size=4",
      "workers=auto",
      "train.max_grad_norm=null",
    );
    expect(config.train.lr).toBeCloseTo(1e-3, 15);
    expect(config.adapter.target_modules).toEqual(["k", "v"]);
    expect(config.data.labels).toBeNull();
    expect(config.train.skip_nonfinite).toBe(true);
    expect(config.train.micro_batch_size).toBe(4);
    expect(config.workers).toBe("auto");
    expect(config.train.max_grad_norm).toBeNull();
  });

  it("keeps text as text where YAML would read something else", () => {
    const config = set("revision=1234", "data.instruction=Answer: yes or no", "data.path=raft:twitter_complaints");
    expect(config.revision).toBe("1234");
    expect(config.data.instruction).toBe("Answer: yes or no");
    expect(config.data.path).toBe("raft:twitter_complaints");
  });

  it("wins over files, later --set wins over earlier, and shows in sources", () => {
    const a = file("h.yaml", "train:\n  lr: 0.1\n");
    const { config, sources } = loadRunConfig({ files: [a], sets: ["train.lr=0.2", "train.lr=0.3"] });
    expect(config.train.lr).toBe(0.3);
    expect(sources).toEqual([a, "--set train.lr=0.2", "--set train.lr=0.3"]);
  });

  it("can set a whole section as a flow mapping", () => {
    expect(set("eval={batch_size: 4}").eval).toEqual({ length_norm: 1, batch_size: 4, choice_chunk: 32 });
  });
});

describe("errors: one line with the key path, the file and what is allowed", () => {
  it("file not found", () => {
    const missing = join(dir, "missing.yaml");
    expect(errorOf({ files: [missing] })).toContain(`config file not found: ${missing}`);
  });

  it("unsupported extension", () => {
    expect(errorOf({ files: [file("x.toml", "a = 1")] })).toMatch(
      /x\.toml has extension "\.toml"; use \.yaml, \.yml or \.json/,
    );
  });

  it("YAML syntax error gives file and line", () => {
    const bad = file("syntax.yaml", "train:\n  steps: 10\n  lr: [1e-3\nseed: 1\n");
    const message = errorOf({ files: [bad] });
    expect(message).toContain(`YAML syntax error in ${bad} at line`);
  });

  it("duplicate YAML key is a syntax error with its line", () => {
    const bad = file("dup.yaml", "seed: 1\nseed: 2\n");
    expect(errorOf({ files: [bad] })).toContain(`YAML syntax error in ${bad} at line 2`);
  });

  it("JSON syntax error names the file", () => {
    const bad = file("bad.json", '{"seed": 1,\n "train": }');
    expect(errorOf({ files: [bad] })).toContain(`JSON syntax error in ${bad}`);
  });

  it("a top-level list is not a config", () => {
    const bad = file("list.yaml", "- a\n- b\n");
    expect(errorOf({ files: [bad] })).toBe(
      `config file ${bad} must hold a mapping of keys (model, data, train, ...) at the top level, got ["a","b"]`,
    );
  });

  it("unknown key names the file it came from, the allowed keys and the likely one", () => {
    const a = file("ok.yaml", "train:\n  steps: 10\n");
    const b = file("typo.yaml", "train:\n  stpes: 10\n");
    const message = errorOf({ files: [b, a] });
    expect(message).toMatch(
      new RegExp(
        `^unknown key "train\\.stpes" in ${b.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}; allowed keys in train: steps, batch_size, `,
      ),
    );
    expect(message).toContain('did you mean "steps"?');
  });

  it("unknown top-level key lists the top-level keys", () => {
    const b = file("top.yaml", "modle: x\n");
    expect(errorOf({ files: [b] })).toContain(`unknown key "modle" in ${b}; allowed top-level keys: model, revision,`);
  });

  it("unknown key from the base config says so", () => {
    expect(errorOf({ base: { train: { nope: 1 } } })).toContain('unknown key "train.nope" in the base config');
  });

  it("wrong type: the exact message", () => {
    const b = file("b.yaml", 'train:\n  steps: "abc"\n');
    expect(errorOf({ files: [b] })).toBe(`train.steps in ${b} must be a positive integer, got "abc"`);
  });

  it("bad values: zero steps, negative lr, enum, range, list element, section", () => {
    const cases: [string, string][] = [
      ["train:\n  steps: 0\n", "train.steps in FILE must be a positive integer, got 0"],
      ["train:\n  lr: -0.1\n", "train.lr in FILE must be a positive number, got -0.1"],
      ["train:\n  optimizer: sgd\n", 'train.optimizer in FILE must be one of "adafactor", "adamw", got "sgd"'],
      ["train:\n  warmup_ratio: 1\n", "train.warmup_ratio in FILE must be a number in [0, 1), got 1"],
      [
        "train:\n  micro_batch_size: big\n",
        'train.micro_batch_size in FILE must be a positive integer or "auto", got "big"',
      ],
      ["backend: cuda\n", 'backend in FILE must be one of "auto", "tensorflow", "wasm", "cpu", "webgpu", got "cuda"'],
      [
        "data:\n  labels: [a, 3]\n",
        'data.labels in FILE must be a non-empty list of strings, e.g. [a, b], or null, got ["a",3]',
      ],
      ["monitor:\n  interval_ms: 50\n", "monitor.interval_ms in FILE must be an integer >= 100, got 50"],
      ["train: 5\n", "train in FILE must be a mapping with keys steps, batch_size, micro_batch_size,"],
      ["train:\n  lr: .inf\n", "train.lr in FILE must be a positive number, got Infinity"],
    ];
    cases.forEach(([text, expected], i) => {
      const path = file(`value-${i}.yaml`, text);
      expect(errorOf({ files: [path] })).toContain(expected.replace("FILE", path));
    });
  });

  it("blames the last file that set the bad value", () => {
    const a = file("lr-bad.yaml", "train:\n  lr: -1\n");
    const b = file("lr-good.yaml", "train:\n  lr: 0.1\n");
    expect(loadRunConfig({ files: [a, b], sets: [] }).config.train.lr).toBe(0.1);
    expect(errorOf({ files: [b, a] })).toBe(`train.lr in ${a} must be a positive number, got -1`);
  });

  it("feedforward_modules outside target_modules (PEFT's rule)", () => {
    const a = file("ff.yaml", "adapter:\n  target_modules: [k, v]\n  feedforward_modules: [wo]\n");
    expect(errorOf({ files: [a] })).toBe(
      `adapter.feedforward_modules in ${a} must be a subset of adapter.target_modules (PEFT's rule), got "wo" not in [k, v]`,
    );
  });

  it("counts further problems after the first", () => {
    const a = file("many.yaml", "train:\n  steps: 0\n  lr: -1\n  stpes: 3\n");
    const message = errorOf({ files: [a] });
    expect(message).toMatch(/^unknown key "train\.stpes"/); // unknown keys first
    expect(message).toMatch(/\(and 2 more problems\)$/);
  });

  it("--set without =", () => {
    expect(errorOf({ sets: ["train.lr"] })).toBe(
      '--set "train.lr" has no "="; write section.key=value, e.g. --set train.lr=1e-3',
    );
  });

  it("--set with an empty key path", () => {
    expect(errorOf({ sets: ["train.=3"] })).toContain('--set "train.=3": "train." is not a key path');
  });

  it("--set with an unknown path", () => {
    expect(errorOf({ sets: ["train.stpes=3"] })).toBe(
      'unknown key "train.stpes" in --set train.stpes=3; allowed keys in train: steps, batch_size, micro_batch_size, ' +
        "lr, optimizer, weight_decay, warmup_ratio, max_grad_norm, length_norm, ul_weight, ln_weight, checkpoint_every, " +
        'log_every, skip_nonfinite; did you mean "steps"?',
    );
    expect(errorOf({ sets: ["trian.steps=3"] })).toContain(
      'unknown key "trian.steps" in --set trian.steps=3; allowed top-level keys:',
    );
    expect(errorOf({ sets: ["train.lr.x=3"] })).toBe(
      'unknown key "train.lr.x" in --set train.lr.x=3; train.lr is a value, not a section',
    );
  });

  it("--set with a wrong type names the override", () => {
    expect(errorOf({ sets: ["train.lr=abc"] })).toBe(
      'train.lr in --set train.lr=abc must be a positive number, got "abc"',
    );
    expect(errorOf({ sets: ["train.steps=-5"] })).toBe(
      "train.steps in --set train.steps=-5 must be a positive integer, got -5",
    );
  });

  it("--set with broken YAML for a non-text key", () => {
    expect(errorOf({ sets: ["adapter.target_modules=[k, v"] })).toContain(
      "--set adapter.target_modules=[k, v: the value is not valid YAML",
    );
  });
});

describe("configToYaml", () => {
  it("writes keys in schema order and loads back to the same config", () => {
    const config = loadRunConfig({
      files: [],
      sets: ["train.lr=1e-3", "data.instruction=Answer: yes or no", "revision=1234", "adapter.target_modules=[k,v]"],
    }).config;
    const text = configToYaml(config);
    expect(text.startsWith("# ")).toBe(true);
    const topKeys = [...text.matchAll(/^([a-z_]+):/gm)].map((m) => m[1]);
    expect(topKeys).toEqual([
      "model",
      "revision",
      "tokenizer",
      "backend",
      "seed",
      "workers",
      "data",
      "adapter",
      "train",
      "eval",
      "monitor",
      "out",
    ]);
    expect(text.indexOf("  steps:")).toBeLessThan(text.indexOf("  batch_size:"));
    const back = loadRunConfig({ files: [file("resolved.yaml", text)], sets: [] }).config;
    expect(back).toEqual(config);
    expect(configToYaml(defaultConfig())).toContain("micro_batch_size: auto");
  });

  it("leaves data.target_field out while null (older runs keep their config sha) and writes it when set", () => {
    expect(configToYaml(defaultConfig())).not.toContain("target_field");
    const config = loadRunConfig({ files: [], sets: ["data.target_field=summary"] }).config;
    const text = configToYaml(config);
    expect(text).toContain("  target_field: summary\n");
    expect(loadRunConfig({ files: [file("resolved.yaml", text)], sets: [] }).config).toEqual(config);
  });

  it("leaves generate: out at its defaults (older runs keep their config sha) and writes it when set", () => {
    expect(configToYaml(defaultConfig())).not.toContain("generate:");
    const config = loadRunConfig({ files: [], sets: ["generate.top_p=0.9"] }).config;
    const text = configToYaml(config);
    expect(text).toContain("generate:\n  strategy: greedy");
    expect(loadRunConfig({ files: [file("resolved.yaml", text)], sets: [] }).config).toEqual(config);
  });
});

describe("named values (CLI flags)", () => {
  it("apply after --set and name the flag in an error", () => {
    const flags = [{ source: "--backend", key: "backend", value: "cpu" }];
    const { config, sources } = loadRunConfig({ files: [], sets: ["backend=wasm"], flags });
    expect(config.backend).toBe("cpu");
    expect(sources).toEqual(["--set backend=wasm", "--backend"]);
    const bad = [{ source: "--data", key: "data.path", value: 3 }];
    expect(() => loadRunConfig({ files: [], sets: [], flags: bad })).toThrow(/data\.path in --data must be/);
  });

  it("defaults sit under --set", () => {
    const defaults = [{ source: "the embedded demo", key: "data.path", value: "demo-task" }];
    const { config } = loadRunConfig({ files: [], sets: ["data.path=mine"], defaults });
    expect(config.data.path).toBe("mine");
  });
});
