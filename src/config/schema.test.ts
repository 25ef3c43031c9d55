// Schema defaults are the T-Few recipe; every shipped configs/*.yaml validates; configs/default.yaml lists every
// schema key with its default (or a marked demo value) and a comment; PEFT's subset rule holds; data.tasks entries
// override data.* keys (checked like data.*), duplicate names are one clear line, routing defaults to task.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import YAML, { isScalar } from "yaml";
import { schemaAt, sectionKeys, valueAt } from "./issues.js";
import { DEFAULT_CONFIG_FILE, defaultConfig, loadRunConfig, readConfigFile } from "./load.js";
import { RunConfigSchema } from "./schema.js";

const CONFIG_DIR = join(DEFAULT_CONFIG_FILE, "..");

describe("RunConfigSchema defaults", () => {
  it("are the T-Few recipe, key for key", () => {
    expect(defaultConfig()).toEqual({
      model: "data/demo-model",
      revision: "main",
      tokenizer: null,
      backend: "auto",
      seed: 42,
      workers: "auto",
      data: {
        path: "data/demo-task",
        test_path: null,
        text_fields: null,
        label_field: "Label",
        target_field: null,
        id_field: "ID",
        labels: null,
        instruction: null,
        template: null,
        max_seq_len: 256,
        max_choice_len: 32,
        tasks: null,
      },
      adapter: {
        target_modules: null,
        feedforward_modules: null,
        task_name: "default",
        init_from: null,
        routing: "task",
        experts: null,
      },
      train: {
        steps: 1000,
        batch_size: 8,
        micro_batch_size: "auto",
        lr: 3e-3,
        optimizer: "adafactor",
        weight_decay: 0,
        warmup_ratio: 0.06,
        max_grad_norm: 1.0,
        length_norm: 1,
        ul_weight: 1,
        ln_weight: 1,
        checkpoint_every: 100,
        log_every: 1,
        skip_nonfinite: false,
      },
      eval: { length_norm: 1, batch_size: 16, choice_chunk: 32 },
      // transformers' GenerationConfig defaults (max_length 20 → max_new_tokens null), then tfew's own keys
      generate: {
        strategy: "greedy",
        max_new_tokens: null,
        min_new_tokens: 0,
        num_beams: 1,
        length_penalty: 1,
        early_stopping: false,
        num_return_sequences: 1,
        temperature: 1,
        top_k: 50,
        top_p: 1,
        repetition_penalty: 1,
        no_repeat_ngram_size: 0,
        mbr_candidates: 8,
        mbr_candidates_from: "sample",
        mbr_utility: "chrf",
        batch_size: 16,
        eos_token_id: null,
      },
      monitor: { gpu: "auto", interval_ms: 1000, peak_tflops: null },
      out: null,
    });
  });

  it("returns a fresh object each call", () => {
    const a = defaultConfig();
    a.train.steps = 5;
    expect(defaultConfig().train.steps).toBe(1000);
  });

  it("fills a partly given section and keeps the given values", () => {
    const config = RunConfigSchema.parse({ train: { steps: 10 } });
    expect(config.train.steps).toBe(10);
    expect(config.train.lr).toBe(3e-3);
    expect(config.eval.batch_size).toBe(16);
  });

  it("accepts feedforward_modules inside target_modules and rejects one outside (PEFT's rule)", () => {
    expect(
      RunConfigSchema.safeParse({ adapter: { target_modules: ["k", "v", "wo"], feedforward_modules: ["wo"] } }).success,
    ).toBe(true);
    expect(RunConfigSchema.safeParse({ adapter: { feedforward_modules: ["wo"] } }).success).toBe(true); // targets from table
    const bad = RunConfigSchema.safeParse({ adapter: { target_modules: ["k", "v"], feedforward_modules: ["wo"] } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(["adapter", "feedforward_modules"]);
  });

  it("checks the edges of ranges: warmup_ratio in [0, 1), interval_ms >= 100, seed >= 0", () => {
    const ok = (value: unknown) => RunConfigSchema.safeParse(value).success;
    expect(ok({ train: { warmup_ratio: 0 } })).toBe(true);
    expect(ok({ train: { warmup_ratio: 0.999 } })).toBe(true);
    expect(ok({ train: { warmup_ratio: 1 } })).toBe(false);
    expect(ok({ monitor: { interval_ms: 100 } })).toBe(true);
    expect(ok({ monitor: { interval_ms: 99 } })).toBe(false);
    expect(ok({ seed: 0 })).toBe(true);
    expect(ok({ seed: -1 })).toBe(false);
    expect(ok({ seed: 1.5 })).toBe(false);
    expect(ok({ train: { lr: Infinity } })).toBe(false);
    expect(ok({ train: { max_grad_norm: null, micro_batch_size: 2 }, workers: 3 })).toBe(true);
    expect(ok({ workers: 0 })).toBe(false);
    expect(ok({ train: { workers: 3 } })).toBe(false); // the old name is the loader's alias, not a schema key
  });
});

describe("shipped configs", () => {
  const files = readdirSync(CONFIG_DIR).filter((name) => /\.(ya?ml|json)$/.test(name));

  it("include default.yaml and the T-Few recipes", () => {
    for (const name of [
      "default.yaml",
      "flan-t5-small.yaml",
      "flan-t5-base.yaml",
      "flan-t5-large.yaml",
      "t0-3b.yaml",
    ]) {
      expect(files).toContain(name);
    }
  });

  it.each(files)("%s validates", (name) => {
    const { config } = loadRunConfig({ files: [join(CONFIG_DIR, name)], sets: [] });
    expect(config.train.steps).toBeGreaterThan(0);
  });

  it("default.yaml is the quick demo run", () => {
    const { config } = loadRunConfig({ files: [DEFAULT_CONFIG_FILE], sets: [] });
    expect(config.model).toBe("data/demo-model");
    expect(config.data.path).toBe("data/demo-task");
    expect(config.train).toMatchObject({
      steps: 60,
      batch_size: 8,
      lr: 3e-2,
      warmup_ratio: 0.06,
      checkpoint_every: 30,
    });
    expect(config.workers).toBe(1);
  });

  it.each(["flan-t5-small", "flan-t5-base", "flan-t5-large", "t0-3b"])(
    "%s.yaml carries the paper's hyper-parameters",
    (name) => {
      const { config } = loadRunConfig({ files: [join(CONFIG_DIR, `${name}.yaml`)], sets: [] });
      expect(config.train).toMatchObject({
        steps: 1000,
        batch_size: 8,
        lr: 3e-3,
        optimizer: "adafactor",
        warmup_ratio: 0.06,
        length_norm: 1,
        ul_weight: 1,
        ln_weight: 1,
      });
      expect(config.model).toBe(name === "t0-3b" ? "bigscience/T0_3B" : `google/${name}`);
      if (name === "t0-3b") expect(config.backend).toBe("tensorflow");
    },
  );
});

describe("configs/default.yaml", () => {
  // The demo-sized values, each commented "demo: ..." in the file: the only keys allowed to differ from the
  // schema default (the demo model and task paths are the schema defaults themselves).
  const DEMO_VALUES: Record<string, unknown> = {
    workers: 1,
    "data.max_seq_len": 64,
    "data.max_choice_len": 8,
    "train.steps": 60,
    "train.lr": 3e-2,
    "train.checkpoint_every": 30,
  };
  const defaults = defaultConfig();
  const isSection = (value: unknown) => typeof value === "object" && value !== null && !Array.isArray(value);
  /** Every value key path of the schema, walked through sectionKeys (sections: a mapping as default). */
  const leaves = (path: string[]): string[][] =>
    (sectionKeys(schemaAt(path) ?? RunConfigSchema) ?? []).flatMap((key) =>
      isSection(valueAt(defaults, [...path, key])) ? leaves([...path, key]) : [[...path, key]],
    );
  const keys = leaves([]);
  const raw = readConfigFile(DEFAULT_CONFIG_FILE);
  const document = YAML.parseDocument(readFileSync(DEFAULT_CONFIG_FILE, "utf8"));

  it("the walk finds the schema's keys (sections included)", () => {
    expect(keys.length).toBeGreaterThan(40);
    expect(keys.map((k) => k.join("."))).toEqual(expect.arrayContaining(["workers", "data.tasks", "adapter.experts"]));
  });

  it("lists every schema key, with the schema default except the listed demo values", () => {
    const missing = keys.filter((path) => valueAt(raw, path) === undefined).map((path) => path.join("."));
    expect(missing, "keys of src/config/schema.ts missing from configs/default.yaml").toEqual([]);
    const differing = keys
      .map((path) => path.join("."))
      .filter((key) => !Object.hasOwn(DEMO_VALUES, key))
      .filter(
        (key) => JSON.stringify(valueAt(raw, key.split("."))) !== JSON.stringify(valueAt(defaults, key.split("."))),
      );
    expect(differing, "values of configs/default.yaml that differ from the schema default").toEqual([]);
    for (const [key, value] of Object.entries(DEMO_VALUES)) {
      expect(valueAt(raw, key.split(".")), key).toEqual(value);
      expect(valueAt(defaults, key.split(".")), `${key} is the schema default: drop it from DEMO_VALUES`).not.toEqual(
        value,
      );
    }
  });

  it("comments every key; exactly the demo values say demo:", () => {
    for (const path of keys) {
      const key = path.join(".");
      const node = document.getIn(path, true);
      const comment = isScalar(node) ? (node.comment ?? "") : "";
      expect(comment.trim(), `${key} has no comment`).not.toBe("");
      expect(comment.trimStart().startsWith("demo:"), `${key}: "demo:" comment iff a demo value`).toBe(
        Object.hasOwn(DEMO_VALUES, key),
      );
    }
  });
});

const load = (...sets: string[]) => loadRunConfig({ files: [], sets }).config;

describe("data.tasks", () => {
  it("accepts tasks with weights and data.* overrides; absent keys stay unset (the run's data.* applies)", () => {
    const config = load("data.tasks=[{name: a, path: x, labels: [p, q], weight: 2}, {name: b, path: y}]");
    expect(config.data.tasks).toEqual([
      { name: "a", path: "x", labels: ["p", "q"], weight: 2 },
      { name: "b", path: "y", weight: 1 },
    ]);
    expect(config.adapter.routing).toBe("task");
    expect(load().data.tasks).toBeNull();
  });

  it("rejects duplicate task names in one line", () => {
    expect(() => load("data.tasks=[{name: a, path: x}, {name: a, path: y}]")).toThrow(
      /^data\.tasks in --set data\.tasks=.* names the task "a" twice; give each task a unique name$/,
    );
  });

  it("checks an override like the data.* key it overrides", () => {
    expect(() => load("data.tasks=[{name: a, path: x, labels: 3}]")).toThrow(
      /^data\.tasks\.labels in --set .* must be a non-empty list of strings/,
    );
    expect(() => load("data.tasks=[{name: a, path: x, labls: [p]}]")).toThrow(
      /unknown key "data\.tasks\.labls" .*did you mean "labels"\?/,
    );
    expect(() => load("data.tasks=[{path: x}]")).toThrow(/data\.tasks\.name/);
  });

  it("takes adapter.routing and adapter.experts", () => {
    expect(load("adapter.routing=shared").adapter.routing).toBe("shared");
    expect(load("adapter.routing=smear", "adapter.experts=3").adapter.experts).toBe(3);
    expect(() => load("adapter.routing=mix")).toThrow(/adapter\.routing .* must be one of "task", "shared", "smear"/);
  });
});
