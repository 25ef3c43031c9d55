// tfew export: the exported model alone scores like base model + adapter (≤ 1e-4) on the gold tiny T5 with
// its PEFT adapter and on the demo model with a non-trivial adapter (single file, sharded); F16 / BF16
// weights keep their dtype and names and are rounded once; refusals write nothing.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVectorSet, disposeVectorSet, ia3Specs, type Ia3VectorSet } from "../src/adapters/ia3.js";
import { IA3_DEFAULTS } from "../src/adapters/ia3-config.js";
import { readAdapter, writeAdapterFiles } from "../src/adapters/peft-adapter.js";
import { tf } from "../src/backend/tf.js";
import { loadTokenizer } from "../src/data/tokenizer.js";
import { rankAll, type RankInput } from "../src/engine/rank.js";
import { toBfloat16Bits, toFloat16Bits } from "../src/io/half-float.js";
import { readSafetensors, writeSafetensors, type SafetensorsInput } from "../src/io/safetensors.js";
import { readT5Config } from "../src/model/config.js";
import { loadT5 } from "../src/model/load.js";
import type { T5Model } from "../src/model/t5.js";
import { linearShapes, weightTensors } from "../src/model/weights.js";
import { exportModel } from "../src/merge/export.js";
import { maxAbsDiff } from "./helpers/gold-model.js";
import { tfewMessageOf } from "./helpers/errors.js";
import { GOLD_MODEL_DIR, REPO_ROOT } from "./helpers/shared.js";

const DEMO_MODEL = join(REPO_ROOT, "data", "demo-model");
const GOLD_ADAPTER = join(GOLD_MODEL_DIR, "adapter");
const quiet = { log: () => undefined };

let root: string;
let demoAdapter: string;
beforeAll(async () => {
  await tf.setBackend("cpu");
  root = await mkdtemp(join(tmpdir(), "tfew-export-"));
  // a non-trivial adapter for the demo model: every vector away from 1, by position
  const config = await readT5Config(DEMO_MODEL);
  const specs = ia3Specs(linearShapes(config), IA3_DEFAULTS.t5);
  demoAdapter = join(root, "demo-adapter");
  await writeAdapterFiles(demoAdapter, {
    config: IA3_DEFAULTS.t5,
    baseModel: DEMO_MODEL,
    values: new Map(
      specs.map((s, k) => [
        s.path,
        Float32Array.from({ length: s.shape[0] * s.shape[1] }, (_, i) => 1 + 0.6 * Math.sin(0.7 * i + k)),
      ]),
    ),
    shapes: new Map(specs.map((s) => [s.path, s.shape])),
  });
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** Bitwise equality of two typed arrays (toEqual on a million elements takes seconds). */
function sameBits(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function disposeWeights(model: T5Model): void {
  for (const t of weightTensors(model.weights)) t.dispose();
}

async function withAdapter(model: T5Model, dir: string): Promise<Ia3VectorSet> {
  const adapter = await readAdapter(dir);
  return createVectorSet("export-test", model.weights, adapter.config, adapter.values);
}

/** Random prompts and 3 choices each, token ids in [2, vocab), ending in </s> = 1. */
function randomInputs(vocab: number, count: number): RankInput[] {
  let seed = 7;
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), 2 + (seed % (vocab - 2)));
  const seq = (n: number) => [...Array.from({ length: n }, next), 1];
  return Array.from({ length: count }, (_, i) => ({
    inputIds: seq(4 + (i % 5)),
    choices: [seq(1), seq(2), seq(3 + (i % 2))],
  }));
}

/** Σ NLL of every choice, base model + adapter vs the exported model alone (and vs the base alone). */
async function compareScores(
  modelDir: string,
  adapterDir: string,
  exportedDir: string,
  inputs: RankInput[],
): Promise<{ exported: number; base: number }> {
  const base = await loadT5(modelDir, { keepUntransposed: false });
  const exported = await loadT5(exportedDir, { keepUntransposed: false });
  const set = await withAdapter(base, adapterDir);
  try {
    const options = { lengthNorm: 0, choiceChunk: 8, batchSize: 4 };
    const want = (await rankAll(base, set, inputs, options)).nllSums.flatMap((s) => Array.from(s));
    const got = (await rankAll(exported, null, inputs, options)).nllSums.flatMap((s) => Array.from(s));
    const plain = (await rankAll(base, null, inputs, options)).nllSums.flatMap((s) => Array.from(s));
    return { exported: maxAbsDiff(got, want), base: maxAbsDiff(plain, want) };
  } finally {
    disposeVectorSet(set);
    disposeWeights(base);
    disposeWeights(exported);
  }
}

describe("export equals model + adapter", () => {
  it("gold tiny T5 with its PEFT adapter (k, v rows; wo columns)", async () => {
    const out = join(root, "gold-export");
    const logs: string[] = [];
    const summary = await exportModel({
      model: GOLD_MODEL_DIR,
      adapterDir: GOLD_ADAPTER,
      outDir: out,
      log: (l) => logs.push(l),
    });
    expect(summary).toMatchObject({ weightFiles: ["model.safetensors"], folded: 16, dtypes: ["F32"] });
    expect(logs.some((l) => l.includes("no tokenizer.json"))).toBe(true); // the gold folder has none
    expect((await readdir(out)).sort()).toEqual([
      "config.json",
      "generation_config.json",
      "model.safetensors",
      "tfew_export.json",
    ]);
    const d = await compareScores(GOLD_MODEL_DIR, GOLD_ADAPTER, out, randomInputs(32128, 2));
    expect(d.exported).toBeLessThanOrEqual(1e-4);
    expect(d.base).toBeGreaterThan(1e-2); // the adapter matters: the comparison can fail

    // same names, dtype and metadata; one folded element checked by hand; untouched tensors bit-identical
    const before = await readSafetensors(join(GOLD_MODEL_DIR, "model.safetensors"));
    const after = await readSafetensors(join(out, "model.safetensors"));
    expect([...after.tensors.keys()].sort()).toEqual([...before.tensors.keys()].sort());
    expect(after.metadata).toEqual(before.metadata);
    const adapter = await readAdapter(GOLD_ADAPTER);
    const k = "decoder.block.1.layer.1.EncDecAttention.k";
    const wo = "encoder.block.0.layer.1.DenseReluDense.wo";
    const w = (m: typeof before, name: string) => m.tensors.get(name)?.data as Float32Array;
    const cols = (before.tensors.get(`${k}.weight`)?.shape[1] ?? 0) as number;
    expect(w(after, `${k}.weight`)[3 * cols + 5]).toBe(
      Math.fround((w(before, `${k}.weight`)[3 * cols + 5] as number) * (adapter.values.get(k)?.[3] as number)),
    ); // row 3
    const woCols = (before.tensors.get(`${wo}.weight`)?.shape[1] ?? 0) as number;
    expect(w(after, `${wo}.weight`)[2 * woCols + 7]).toBe(
      Math.fround((w(before, `${wo}.weight`)[2 * woCols + 7] as number) * (adapter.values.get(wo)?.[7] as number)),
    ); // column 7
    for (const name of ["shared.weight", "encoder.block.0.layer.0.SelfAttention.q.weight", "lm_head.weight"])
      expect(sameBits(w(after, name), w(before, name)), name).toBe(true);
    const record = JSON.parse(await readFile(join(out, "tfew_export.json"), "utf8")) as Record<string, unknown>;
    expect(record).toMatchObject({
      tool: "tfew export",
      adapter: GOLD_ADAPTER,
      vectors_folded: 16,
      target_modules: ["k", "v", "wo"],
      feedforward_modules: ["wo"],
    });
  });

  it("demo model with a non-trivial adapter, through the tokenizer (what tfew score computes); tokenizer files copied", async () => {
    const out = join(root, "demo-export");
    await exportModel({ model: DEMO_MODEL, adapterDir: demoAdapter, outDir: out, ...quiet });
    expect((await readdir(out)).sort()).toEqual([
      "config.json",
      "generation_config.json",
      "model.safetensors",
      "special_tokens_map.json",
      "tfew_export.json",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    expect(await readFile(join(out, "tokenizer.json"), "utf8")).toBe(
      await readFile(join(DEMO_MODEL, "tokenizer.json"), "utf8"),
    );
    const tokenizer = await loadTokenizer(out);
    const pairs = [
      { source: "Ticket: my invoice is wrong", target: "billing" },
      { source: "Ticket: the app crashes on start", target: "bug report" },
      { source: "Ticket: please add dark mode", target: "feature request" },
    ];
    const base = await loadT5(DEMO_MODEL, { keepUntransposed: false });
    const exported = await loadT5(out, { keepUntransposed: false });
    const set = await withAdapter(base, demoAdapter);
    // what `tfew score` computes: Σ log p of the target given the source
    const inputs = pairs.map((p) => ({ inputIds: tokenizer.encode(p.source), choices: [tokenizer.encode(p.target)] }));
    const score = async (model: T5Model, adapter: Ia3VectorSet | null) =>
      (await rankAll(model, adapter, inputs, { lengthNorm: 0, choiceChunk: 1, batchSize: 2 })).nllSums.map((s) => ({
        logprob: -(s[0] as number),
      }));
    const want = await score(base, set);
    const got = await score(exported, null);
    const plain = await score(base, null);
    disposeVectorSet(set);
    disposeWeights(base);
    disposeWeights(exported);
    expect(
      maxAbsDiff(
        got.map((r) => r.logprob),
        want.map((r) => r.logprob),
      ),
    ).toBeLessThanOrEqual(1e-4);
    expect(
      maxAbsDiff(
        plain.map((r) => r.logprob),
        want.map((r) => r.logprob),
      ),
    ).toBeGreaterThan(1e-2);
  });

  it("config.json: copied byte for byte, but an integer in a float field (transformers 5.x refuses it) becomes 1.0", async () => {
    const out = join(root, "demo-export-config");
    await exportModel({ model: DEMO_MODEL, adapterDir: demoAdapter, outDir: out, ...quiet });
    expect(await readFile(join(out, "config.json"), "utf8")).toBe(
      await readFile(join(DEMO_MODEL, "config.json"), "utf8"),
    );
    // the demo model's config.json as tfew once wrote it: JSON.stringify's 1 and 0 for initializer_factor, dropout_rate
    const intModel = join(root, "demo-int-config");
    await mkdir(intModel);
    const config = JSON.parse(await readFile(join(DEMO_MODEL, "config.json"), "utf8")) as Record<string, unknown>;
    await writeFile(
      join(intModel, "config.json"),
      JSON.stringify({ ...config, initializer_factor: 1, dropout_rate: 0 }),
    );
    await writeFile(join(intModel, "model.safetensors"), await readFile(join(DEMO_MODEL, "model.safetensors")));
    const fixed = join(root, "demo-int-config-export");
    await exportModel({ model: intModel, adapterDir: demoAdapter, outDir: fixed, ...quiet });
    const text = await readFile(join(fixed, "config.json"), "utf8");
    expect(text).toContain('"initializer_factor": 1.0');
    expect(text).toContain('"dropout_rate": 0.0');
    expect(JSON.parse(text)).toEqual({ ...config, initializer_factor: 1, dropout_rate: 0 });
  });

  it("a sharded demo model: the same shard grouping, an index, and the same scores", async () => {
    const sharded = join(root, "demo-sharded");
    await mkdir(sharded);
    const { tensors } = await readSafetensors(join(DEMO_MODEL, "model.safetensors"));
    const names = [...tensors.keys()].sort();
    const groups = [names.filter((n) => n.startsWith("decoder.")), names.filter((n) => !n.startsWith("decoder."))];
    const shardNames = ["pieces-a.safetensors", "pieces-b.safetensors"];
    const weightMap: Record<string, string> = {};
    for (const [i, group] of groups.entries()) {
      const part: Record<string, SafetensorsInput> = {};
      for (const n of group) {
        const t = tensors.get(n);
        if (t) part[n] = { dtype: "F32", shape: t.shape, data: t.data as Float32Array };
        weightMap[n] = shardNames[i] as string;
      }
      await writeSafetensors(join(sharded, shardNames[i] as string), part, { format: "pt" });
    }
    await writeFile(
      join(sharded, "model.safetensors.index.json"),
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );
    await writeFile(join(sharded, "config.json"), await readFile(join(DEMO_MODEL, "config.json")));
    const out = join(root, "demo-sharded-export");
    const summary = await exportModel({ model: sharded, adapterDir: demoAdapter, outDir: out, ...quiet });
    expect(summary.weightFiles).toEqual(["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]);
    const index = JSON.parse(await readFile(join(out, "model.safetensors.index.json"), "utf8")) as {
      metadata: { total_size: number };
      weight_map: Record<string, string>;
    };
    expect(index.metadata.total_size).toBe([...tensors.values()].reduce((n, t) => n + 4 * t.data.length, 0));
    for (const n of names)
      expect(index.weight_map[n]).toBe(
        n.startsWith("decoder.") ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors",
      );
    const d = await compareScores(DEMO_MODEL, demoAdapter, out, randomInputs(320, 5));
    expect(d.exported).toBeLessThanOrEqual(1e-4);
  });
  it("mT5's targets (k, v, wi_1, none feed-forward: wi_1 scales rows) on the gated demo model", async () => {
    const config = await readT5Config(DEMO_MODEL);
    const ia3 = IA3_DEFAULTS.mt5;
    const specs = ia3Specs(linearShapes(config), ia3);
    expect(specs.filter((s) => s.path.endsWith(".wi_1")).map((s) => s.shape)).toEqual([
      [128, 1],
      [128, 1],
      [128, 1],
      [128, 1],
    ]);
    const adapterDir = join(root, "demo-mt5-targets");
    await writeAdapterFiles(adapterDir, {
      config: ia3,
      baseModel: DEMO_MODEL,
      values: new Map(
        specs.map((s, k) => [
          s.path,
          Float32Array.from({ length: s.shape[0] * s.shape[1] }, (_, i) => 1 - 0.5 * Math.cos(0.3 * i + k)),
        ]),
      ),
      shapes: new Map(specs.map((s) => [s.path, s.shape])),
    });
    const out = join(root, "demo-mt5-targets-export");
    await exportModel({ model: DEMO_MODEL, adapterDir, outDir: out, ...quiet });
    const d = await compareScores(DEMO_MODEL, adapterDir, out, randomInputs(320, 5));
    expect(d.exported).toBeLessThanOrEqual(1e-4);
    expect(d.base).toBeGreaterThan(1e-2);
  });
});

describe("half-precision checkpoints keep their dtype", () => {
  it.each([
    ["F16", toFloat16Bits, 2 ** -11],
    ["BF16", toBfloat16Bits, 2 ** -8],
  ] as const)(
    "%s: names and dtype kept, untouched tensors bit-identical, folded ones within half an ulp of W·l",
    async (dtype, encode, halfUlp) => {
      const dir = join(root, `demo-${dtype}`);
      await mkdir(dir);
      const { tensors } = await readSafetensors(join(DEMO_MODEL, "model.safetensors"));
      const half: Record<string, SafetensorsInput> = {};
      for (const [n, t] of tensors) half[n] = { dtype, shape: t.shape, data: encode(t.data) };
      await writeSafetensors(join(dir, "model.safetensors"), half, { format: "pt" });
      await writeFile(join(dir, "config.json"), await readFile(join(DEMO_MODEL, "config.json")));
      const out = join(root, `demo-${dtype}-export`);
      expect((await exportModel({ model: dir, adapterDir: demoAdapter, outDir: out, ...quiet })).dtypes).toEqual([
        dtype,
      ]);
      const before = (await readSafetensors(join(dir, "model.safetensors"))).tensors;
      const after = (await readSafetensors(join(out, "model.safetensors"))).tensors;
      const adapter = await readAdapter(demoAdapter);
      expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
      for (const [n, t] of after) {
        expect(t.dtype).toBe(dtype);
        const w = before.get(n)?.data as Float32Array;
        const path = n.replace(/\.weight$/, "");
        const l = adapter.values.get(path);
        if (l === undefined) {
          expect(sameBits(t.data, w), n).toBe(true);
          continue;
        }
        const [rows, cols] = t.shape as [number, number];
        const byColumn = path.endsWith(".wo");
        let worst = 0;
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c++) {
            const exact = (w[r * cols + c] as number) * (l[byColumn ? c : r] as number);
            const err = Math.abs((t.data[r * cols + c] as number) - exact);
            worst = Math.max(worst, err / Math.max(Math.abs(exact), 2 ** -14));
          }
        }
        expect(worst, n).toBeLessThanOrEqual(halfUlp);
      }
    },
  );
});

describe("refusals: one line, nothing written", () => {
  it("a non-empty --out", async () => {
    const out = join(root, "taken");
    await mkdir(out);
    await writeFile(join(out, "notes.txt"), "mine");
    expect(
      await tfewMessageOf(exportModel({ model: DEMO_MODEL, adapterDir: demoAdapter, outDir: out, ...quiet })),
    ).toBe(`export: --out ${out} is not empty; give a new or empty folder (nothing is overwritten)`);
    expect(await readdir(out)).toEqual(["notes.txt"]);
  });

  it.each([
    [
      "an adapter of another model",
      () => GOLD_ADAPTER,
      /^adapter: vector encoder\.block\.0\.layer\.0\.SelfAttention\.k in .* is \[32, 1\] \(output scaling\) but this model and config need \[64, 1\] \(output scaling\); the adapter was made for another model or other adapter\.feedforward_modules$/,
    ],
    [
      "a missing adapter folder",
      () => join(root, "no-such-adapter"),
      /^adapter: no adapter_config.json in .*no-such-adapter; point at a folder written by tfew train/,
    ],
  ])("%s", async (_, adapterDir, message) => {
    const out = join(root, "never");
    expect(
      await tfewMessageOf(exportModel({ model: DEMO_MODEL, adapterDir: adapterDir(), outDir: out, ...quiet })),
    ).toMatch(message);
    expect(await readdir(out).catch(() => null)).toBeNull();
    expect((await readdir(root)).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });

  it("a truncated sharded checkpoint: the error comes after some shards were folded, and still nothing is written", async () => {
    const dir = join(root, "demo-missing-shard");
    await mkdir(dir);
    const { tensors } = await readSafetensors(join(DEMO_MODEL, "model.safetensors"));
    const weightMap = Object.fromEntries(
      [...tensors.keys()].map((n) => [n, n.startsWith("decoder.") ? "b.safetensors" : "a.safetensors"]),
    );
    const part: Record<string, SafetensorsInput> = {};
    for (const [n, t] of tensors)
      if (!n.startsWith("decoder.")) part[n] = { dtype: "F32", shape: t.shape, data: t.data as Float32Array };
    await writeSafetensors(join(dir, "a.safetensors"), part);
    await writeFile(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: weightMap }));
    await writeFile(join(dir, "config.json"), await readFile(join(DEMO_MODEL, "config.json")));
    const out = join(root, "never2");
    expect(await tfewMessageOf(exportModel({ model: dir, adapterDir: demoAdapter, outDir: out, ...quiet }))).toBe(
      `export: weight file ${join(dir, "b.safetensors")} is missing; re-download the checkpoint`,
    );
    expect(await readdir(out).catch(() => null)).toBeNull();
    expect((await readdir(root)).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });
});
