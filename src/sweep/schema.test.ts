// The sweep file schema: defaults, and one line naming the key for each bad input.
import { describe, expect, it } from "vitest";
import { TfewError } from "../errors.js";
import { parseSweepText } from "./schema.js";

function messageOf(text: string): string {
  try {
    parseSweepText(text, "s.yaml");
  } catch (error) {
    expect(error).toBeInstanceOf(TfewError);
    const message = (error as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected a TfewError");
}

describe("parseSweepText", () => {
  it("fills the defaults of a minimal file", () => {
    const sweep = parseSweepText("grid:\n  seed: [1, 2]\n", "s.yaml");
    expect(sweep.base).toEqual([]);
    expect(sweep.set).toEqual({});
    expect(sweep.grid).toEqual({ seed: [1, 2] });
    expect(sweep.eval).toBeNull();
    expect(sweep.engine).toBe("local");
    expect(sweep.slurm).toEqual({
      partition: null,
      account: null,
      cpus_per_task: 1,
      gpus: 0,
      mem: null,
      time: null,
      extra: [],
    });
    expect(sweep.kubernetes.runs_mount).toBe("/runs");
    expect(sweep.max_parallel).toBeNull();
  });

  it("reads the issue's example file", () => {
    const sweep = parseSweepText(
      [
        "base: [configs/flan-t5-base.yaml]",
        "set: {train.steps: 1000}",
        "grid:",
        "  data.path: [raft:ade_corpus_v2, raft:overruling]",
        "  seed: [1, 2, 3, 4, 5]",
        "eval: {split: train, folds: null}",
        "engine: local",
        'slurm: {partition: gpu, cpus_per_task: 8, gpus: 1, time: "02:00:00", extra: []}',
        'kubernetes: {image: "tfew:cuda12", namespace: default, gpus: 1, runs_volume_claim: tfew-runs, hf_volume_claim: hf-cache}',
      ].join("\n"),
      "s.yaml",
    );
    expect(sweep.set).toEqual({ "train.steps": 1000 });
    expect(sweep.eval).toEqual({ split: "train", folds: null });
    expect(sweep.slurm.gpus).toBe(1);
    expect(sweep.kubernetes.hf_volume_claim).toBe("hf-cache");
  });

  it("names an unknown top-level key and lists the allowed ones", () => {
    const m = messageOf("grid: {seed: [1]}\nengin: local\n");
    expect(m).toContain('unknown key "engin" in s.yaml');
    expect(m).toContain("allowed top-level keys: base, set, grid, eval, engine, slurm, kubernetes, max_parallel");
  });

  it("names an unknown nested key with its section", () => {
    const m = messageOf("grid: {seed: [1]}\nslurm: {gpu: 1}\n");
    expect(m).toContain('unknown key "slurm.gpu" in s.yaml; allowed keys in slurm:');
    expect(m).toContain("gpus");
  });

  it("refuses an empty grid, a missing grid and an empty list", () => {
    expect(messageOf("grid: {}\n")).toBe(
      "grid in s.yaml is empty; list at least one key with its values, e.g. seed: [1, 2, 3]",
    );
    expect(messageOf("engine: local\n")).toContain("grid in s.yaml is required");
    expect(messageOf("grid: {seed: []}\n")).toBe(
      "grid.seed in s.yaml is an empty list; give at least one value or remove the key",
    );
  });

  it("names the key and the allowed values of a wrong type", () => {
    expect(messageOf("grid: {seed: [1]}\nengine: lsf\n")).toBe(
      'engine in s.yaml must be "local", "slurm" or "kubernetes", got "lsf"',
    );
    expect(messageOf("grid: {seed: [1]}\nslurm: {cpus_per_task: 0}\n")).toBe(
      "slurm.cpus_per_task in s.yaml must be a positive integer, got 0",
    );
    expect(messageOf("grid: {seed: 1}\n")).toContain("grid.seed in s.yaml must be");
    expect(messageOf("grid: {seed: [1]}\neval: {folds: 1}\n")).toBe(
      "eval.folds in s.yaml must be an integer >= 2 or null, got 1",
    );
  });

  it("refuses a key in both set and grid, and out anywhere", () => {
    expect(messageOf("set: {seed: 3}\ngrid: {seed: [1]}\n")).toBe(
      "key seed is in both set and grid of s.yaml; keep it in one of them",
    );
    expect(messageOf("set: {out: x}\ngrid: {seed: [1]}\n")).toContain('s.yaml sets "out"');
  });

  it("requires an image and a runs claim for engine kubernetes", () => {
    expect(messageOf("grid: {seed: [1]}\nengine: kubernetes\n")).toContain("kubernetes.image in s.yaml is required");
    expect(messageOf("grid: {seed: [1]}\nengine: kubernetes\nkubernetes: {image: x}\n")).toContain(
      "kubernetes.runs_volume_claim in s.yaml is required",
    );
  });

  it("reports YAML syntax errors and a non-mapping file", () => {
    expect(messageOf("grid: [\n")).toMatch(/^YAML syntax error in s.yaml/);
    expect(messageOf("- 1\n- 2\n")).toContain("must hold a mapping");
  });
});
