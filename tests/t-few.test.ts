// t-few's own (IA)³ checkpoints: tests/fixtures/t-few/demo.pt was written by pip's torch 2.13 with
// scripts/make_tfew_checkpoint.py for the demo model (k, v and wi_1 `multi_lora_b` [out, 1], as t-few's ia3 config
// saves them). `tfew convert --from t-few` must give PEFT vectors that score exactly like t-few applies them
// (wi_1's output scaled), `adapter.init_from: FILE.pt` must start a run from the same vectors as the converted
// folder, and a file for another model shape is one line with nothing written.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAdapter, recordedBaseModel, writeAdapterFiles } from "../src/adapters/peft-adapter.js";
import { readTorchCheckpoint } from "../src/io/torch-pickle.js";
import { DEMO_RUN_SETS } from "./helpers/demo-runs.js";
import { DEMO_MODEL_DIR, ensureBuilt, makeTempDir, removeTempDir, runTfew, runTfewOk } from "./helpers/tfew-cli.js";

const FIXTURES = join(import.meta.dirname, "fixtures", "t-few");
const DEMO_PT = join(FIXTURES, "demo.pt");
const OTHER_PT = join(FIXTURES, "demo-8-heads.pt"); // num_heads 8: k and v are [128, 1], the demo's [64, 1]

let tmp: string;
let converted: string;
beforeAll(async () => {
  await ensureBuilt();
  tmp = makeTempDir("t-few");
  converted = join(tmp, "converted");
}, 300_000);
afterAll(() => removeTempDir(tmp));

const readScores = (file: string) =>
  readFileSync(file, "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => (JSON.parse(l) as { logprob: number }).logprob);

describe("tfew convert --from t-few", () => {
  it("k, v as they are; wi_1's output vectors become wo's input vectors, the same numbers", async () => {
    const r = await runTfewOk(["convert", "--from", "t-few", DEMO_PT, "--model", DEMO_MODEL_DIR, "--out", converted]);
    expect(r.stdout).toBe(
      `converted ${DEMO_PT} (t-few): 16 vectors, 1,280 parameters, targets ["k","v","wo"] → ${converted}\n`,
    );
    const tfew = await readTorchCheckpoint(DEMO_PT);
    const peft = await readAdapter(converted);
    expect(peft.config).toEqual({ targetModules: ["k", "v", "wo"], feedforwardModules: ["wo"] });
    expect(peft.baseModel).toBe(recordedBaseModel(DEMO_MODEL_DIR)); // the embedded demo: relative to the clone
    expect(peft.values.size).toBe(tfew.size);
    for (const [name, record] of tfew) {
      const path = name.replace(/\.multi_lora_b$/, "").replace(/\.wi_1$/, ".wo");
      expect(Array.from(peft.values.get(path) ?? []), path).toEqual(Array.from(record.data));
      const [out] = record.shape;
      expect(peft.shapes.get(path)).toEqual(path.endsWith(".wo") ? [1, out] : [out, 1]);
    }
  });

  it("scores: model + converted adapter equal the same vectors applied as t-few does (wi_1's output)", async () => {
    // t-few's semantics written directly: every multi_lora_b scales its own module's output
    const direct = join(tmp, "direct");
    const tfew = await readTorchCheckpoint(DEMO_PT);
    const paths = [...tfew.keys()].map((n) => n.replace(/\.multi_lora_b$/, ""));
    await writeAdapterFiles(direct, {
      config: { targetModules: ["k", "v", "wi_1"], feedforwardModules: [] },
      baseModel: DEMO_MODEL_DIR,
      values: new Map(paths.map((p) => [p, tfew.get(`${p}.multi_lora_b`)?.data as Float32Array])),
      shapes: new Map(paths.map((p) => [p, tfew.get(`${p}.multi_lora_b`)?.shape as number[]])),
    });
    const pairs = join(tmp, "pairs.jsonl");
    const rows = [
      { source: "Ticket: my invoice is wrong", target: "billing" },
      { source: "Ticket: the app crashes on start", target: "bug report" },
      { source: "Ticket: please add dark mode to the settings page", target: "feature request" },
    ];
    writeFileSync(pairs, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const score = async (name: string, ...source: string[]) => {
      const output = join(tmp, `${name}.jsonl`);
      await runTfewOk(["score", ...source, "--input", pairs, "--output", output]);
      return readScores(output);
    };
    const a = await score("converted", "--adapter", converted);
    const b = await score("direct", "--adapter", direct);
    const base = await score("base", "--model", DEMO_MODEL_DIR);
    const worst = Math.max(...a.map((x, i) => Math.abs(x - (b[i] as number))));
    console.log(`t-few convert: max |Δ logprob| converted vs wi_1 output scaling ${worst}`);
    expect(worst).toBeLessThanOrEqual(1e-5);
    a.forEach((x, i) => expect(Math.abs(x - (base[i] as number)), `pair ${i}`).toBeGreaterThan(1e-2));
  });

  it("adapter.init_from: FILE.pt starts a run from the same vectors as the converted folder", async () => {
    const sets = (init: string) => [...DEMO_RUN_SETS, `adapter.init_from=${init}`].flatMap((s) => ["--set", s]);
    await runTfewOk(["train", "--out", join(tmp, "from-pt"), ...sets(DEMO_PT)]);
    await runTfewOk(["train", "--out", join(tmp, "from-folder"), ...sets(converted)]);
    const [x, y] = [
      await readAdapter(join(tmp, "from-pt", "adapter")),
      await readAdapter(join(tmp, "from-folder", "adapter")),
    ];
    expect([...x.values.keys()]).toEqual([...y.values.keys()]);
    for (const [path, v] of x.values) expect(Array.from(v), path).toEqual(Array.from(y.values.get(path) ?? []));
  }, 300_000);

  it("bad input: a t-few file for another model shape is one line, nothing written", async () => {
    const out = join(tmp, "never");
    const r = await runTfew(["convert", "--from", "t-few", OTHER_PT, "--model", DEMO_MODEL_DIR, "--out", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `tfew: error: t-few: ${OTHER_PT} was made for another model than ${DEMO_MODEL_DIR}: encoder.block.0.layer.0.SelfAttention.k.multi_lora_b is [128, 1] but the model's encoder.block.0.layer.0.SelfAttention.k needs [64, 1]\n`,
    );
    expect(existsSync(out)).toBe(false);
    const run = join(tmp, "never-run");
    const t = await runTfew(["train", "--out", run, "--set", `adapter.init_from=${OTHER_PT}`, "--set", "workers=1"]);
    expect(t.code).toBe(1);
    const errors = t.stderr.split("\n").filter((l) => l.startsWith("tfew: error:")); // after the backend/model lines
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`t-few: ${OTHER_PT} was made for another model than `);
    expect(existsSync(run) ? readdirSync(run) : []).toEqual([]); // train leaves at most an empty --out folder
    const missing = await runTfew([
      "convert",
      "--from",
      "t-few",
      join(tmp, "nope.pt"),
      "--model",
      DEMO_MODEL_DIR,
      "--out",
      out,
    ]);
    expect(missing.stderr).toBe(
      `tfew: error: convert: ${join(tmp, "nope.pt")} is not a file; give t-few's checkpoint (e.g. finish.pt)\n`,
    );
  });
});
