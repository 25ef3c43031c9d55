// SMEAR through the CLI on the demo: adapter.routing: smear with a count of experts trains experts and
// routers together and saves adapter/experts/<name>/ (PEFT folders) + router.safetensors + router_config.json,
// which eval and score load; expert folders start the experts; an expert for another model is one clear
// line with nothing written.
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serializeSafetensors } from "../src/io/safetensors.js";
import { ensureBuilt, makeTempDir, removeTempDir, runTfew, runTfewOk } from "./helpers/tfew-cli.js";

const quick = ["train.steps=3", "train.batch_size=4", "workers=1", "monitor.gpu=off"].flatMap((s) => ["--set", s]);

describe("tfew train with adapter.routing: smear", () => {
  let dir: string;
  beforeAll(async () => {
    await ensureBuilt();
    dir = makeTempDir("tfew-smear-");
  });
  afterAll(() => removeTempDir(dir));

  it("saves experts + routers that eval and score load, and expert folders start the experts", async () => {
    const run = join(dir, "run");
    const r = await runTfewOk([
      "train",
      "--out",
      run,
      "--set",
      "adapter.routing=smear",
      "--set",
      "adapter.experts=2",
      ...quick,
    ]);
    expect(r.stderr).toMatch(/SMEAR: 2 experts × \d+ \(IA\)³ parameters \+ \d+ router parameters in 4 blocks/);
    for (const name of ["expert0", "expert1"])
      expect(
        JSON.parse(readFileSync(join(run, "adapter", "experts", name, "adapter_config.json"), "utf8")).peft_type,
      ).toBe("IA3");
    expect(existsSync(join(run, "adapter", "router.safetensors"))).toBe(true);
    expect(JSON.parse(readFileSync(join(run, "adapter", "router_config.json"), "utf8")).experts).toEqual([
      "expert0",
      "expert1",
    ]);
    const ev = await runTfewOk(["eval", "--run", run, "--out", join(dir, "eval")]);
    expect(ev.stdout).toMatch(/accuracy \d/);
    const pairs = join(dir, "pairs.jsonl");
    writeFileSync(pairs, `${JSON.stringify({ source: "My invoice is wrong.", target: "billing" })}\n`);
    const sc = await runTfewOk(["score", "--run", run, "--input", pairs, "--output", join(dir, "scores.jsonl")]);
    expect(sc.stdout).toMatch(/scored 1 pairs/);
    const from = join(dir, "from-experts");
    const experts = ["expert0", "expert1"].map((n) => join(run, "adapter", "experts", n));
    await runTfewOk([
      "train",
      "--out",
      from,
      "--set",
      "adapter.routing=smear",
      "--set",
      `adapter.experts=[${experts.join(", ")}]`,
      ...quick,
    ]);
    expect(readdirSync(join(from, "adapter", "experts")).sort()).toEqual(["expert0", "expert1"]);
  }, 300_000);

  it("an expert made for another model: one clear line, nothing written", async () => {
    const expert = join(dir, "other-expert");
    mkdirSync(expert);
    const tensors: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {};
    const vector = (path: string, shape: number[]) =>
      (tensors[`base_model.model.${path}.ia3_l`] = {
        dtype: "F32",
        shape,
        data: new Float32Array((shape[0] as number) * (shape[1] as number)).fill(1),
      });
    for (let i = 0; i < 2; i++) {
      for (const m of ["k", "v"]) vector(`encoder.block.${i}.layer.0.SelfAttention.${m}`, [64, 1]);
      vector(`encoder.block.${i}.layer.1.DenseReluDense.wo`, [1, 256]); // the demo's d_ff is 128
      for (const a of ["layer.0.SelfAttention", "layer.1.EncDecAttention"])
        for (const m of ["k", "v"]) vector(`decoder.block.${i}.${a}.${m}`, [64, 1]);
      vector(`decoder.block.${i}.layer.2.DenseReluDense.wo`, [1, 256]);
    }
    writeFileSync(join(expert, "adapter_model.safetensors"), serializeSafetensors(tensors, { format: "pt" }));
    writeFileSync(
      join(expert, "adapter_config.json"),
      JSON.stringify({
        peft_type: "IA3",
        target_modules: ["k", "v", "wo"],
        feedforward_modules: ["wo"],
        base_model_name_or_path: "other/t5",
      }),
    );
    const out = join(dir, "bad");
    const r = await runTfew([
      "train",
      "--out",
      out,
      "--set",
      "adapter.routing=smear",
      "--set",
      `adapter.experts=[${expert}, ${expert}]`,
      ...quick,
    ]);
    expect(r.code).not.toBe(0);
    const last = r.stderr.trim().split("\n").at(-1) ?? "";
    expect(last).toMatch(
      /^tfew: error: SMEAR expert .*other-expert does not fit this model: vector encoder\.block\.0\.layer\.1\.DenseReluDense\.wo .*is \[1, 256\]/,
    );
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  }, 120_000);
});
