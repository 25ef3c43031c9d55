// tfew merge on folders: PEFT IA3 adapters in, one PEFT IA3 adapter + merge.json out; fisher.safetensors
// read beside each adapter; every bad input one line with nothing written.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAdapter, writeAdapterFiles, type LoadedAdapter } from "../adapters/peft-adapter.js";
import { TfewError } from "../errors.js";
import { readFisherFile, writeFisherFile } from "./fisher-file.js";
import { mergeAdapterFolders } from "./merge-files.js";

const K = "decoder.block.0.layer.1.EncDecAttention.k";
const WO = "decoder.block.0.layer.2.DenseReluDense.wo";
const CONFIG = { targetModules: ["k", "v", "wo"], feedforwardModules: ["wo"] };

function vectors(k: number[], wo: number[], extra: Partial<LoadedAdapter> = {}): LoadedAdapter {
  return {
    config: CONFIG,
    baseModel: "google/t5-base-lm-adapt",
    values: new Map([
      [K, Float32Array.from(k)],
      [WO, Float32Array.from(wo)],
    ]),
    shapes: new Map([
      [K, [k.length, 1]],
      [WO, [1, wo.length]],
    ]),
    ...extra,
  };
}

let root: string;
let a: string;
let b: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tfew-merge-"));
  a = join(root, "a");
  b = join(root, "b");
  await writeAdapterFiles(a, vectors([1, 2], [0, 4, 8]));
  await writeAdapterFiles(b, vectors([3, 6], [2, 2, 2]));
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function tfewError(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TfewError);
  expect((error as Error).message).not.toContain("\n");
  return (error as Error).message;
}

describe("mergeAdapterFolders", () => {
  it("weighted: a PEFT IA3 folder with the merged vectors and shapes, and merge.json with method, inputs and weights", async () => {
    const out = join(root, "weighted");
    const summary = await mergeAdapterFolders({
      adapterDirs: [a, b],
      method: "weighted",
      weights: [3, 1],
      outDir: out,
    });
    expect(summary).toMatchObject({ outDir: out, vectors: 2, parameters: 5, weights: [0.75, 0.25] });
    expect((await readdir(out)).sort()).toEqual(["adapter_config.json", "adapter_model.safetensors", "merge.json"]);
    const merged = await readAdapter(out);
    expect(Array.from(merged.values.get(K) ?? [])).toEqual([1.5, 3]); // (3·1 + 3)/4, (3·2 + 6)/4
    expect(Array.from(merged.values.get(WO) ?? [])).toEqual([0.5, 3.5, 6.5]); // (0 + 2)/4, (12 + 2)/4, (24 + 2)/4
    expect(merged.shapes.get(WO)).toEqual([1, 3]);
    expect(merged.config).toEqual(CONFIG);
    expect(merged.baseModel).toBe("google/t5-base-lm-adapt");
    // adapter_config.json holds only PEFT's own keys: PEFT 0.5–0.13 raise TypeError on unknown ones
    const peft = JSON.parse(await readFile(join(out, "adapter_config.json"), "utf8")) as Record<string, unknown>;
    expect(Object.keys(peft)).toEqual([
      "auto_mapping",
      "base_model_name_or_path",
      "fan_in_fan_out",
      "feedforward_modules",
      "inference_mode",
      "init_ia3_weights",
      "modules_to_save",
      "peft_type",
      "revision",
      "target_modules",
      "task_type",
    ]);
    const record = JSON.parse(await readFile(join(out, "merge.json"), "utf8")) as Record<string, unknown>;
    expect(record).toMatchObject({
      tool: "tfew merge",
      method: "weighted",
      formula: "θ = Σ wᵢ θᵢ / Σ wᵢ",
      base_model: "google/t5-base-lm-adapt",
      inputs: [
        { adapter: a, weight: 3, applied_weight: 0.75 },
        { adapter: b, weight: 1, applied_weight: 0.25 },
      ],
    });
  });

  it("average of a merged adapter and another: merged folders are inputs like any other", async () => {
    const first = join(root, "avg1");
    await mergeAdapterFolders({ adapterDirs: [a, b], method: "average", outDir: first });
    const out = join(root, "avg2");
    await mergeAdapterFolders({ adapterDirs: [first, a], method: "average", outDir: out });
    expect(Array.from((await readAdapter(out)).values.get(K) ?? [])).toEqual([1.5, 3]); // ((1+3)/2 + 1)/2, ((2+6)/2 + 2)/2
  });

  it("a relative base model path is recorded as given (PEFT's way), not made absolute; spellings of one folder agree", async () => {
    // relative to the test's current folder (the repo root): two spellings of one real folder
    const base = "tests/fixtures/hf-reference/t5-tiny-gated";
    const [c, d] = [join(root, "rel-c"), join(root, "rel-d")];
    await writeAdapterFiles(c, vectors([1, 2], [0, 4, 8], { baseModel: base }));
    await writeAdapterFiles(d, vectors([3, 6], [2, 2, 2], { baseModel: `./${base}/../t5-tiny-gated` }));
    const out = join(root, "rel-merged");
    await mergeAdapterFolders({ adapterDirs: [c, d], method: "average", outDir: out });
    expect((await readAdapter(out)).baseModel).toBe(base);
    expect(JSON.parse(await readFile(join(out, "merge.json"), "utf8")).base_model).toBe(base);
  });

  it("fisher: reads fisher.safetensors beside each adapter, or takes computed diagonals", async () => {
    const fa = join(root, "fa");
    const fb = join(root, "fb");
    await writeAdapterFiles(fa, vectors([1, 2], [0, 4, 8]));
    await writeAdapterFiles(fb, vectors([3, 6], [2, 2, 2]));
    const shapes = vectors([0, 0], [0, 0, 0]).shapes;
    await writeFisherFile(
      fa,
      new Map([
        [K, Float32Array.of(1, 0)],
        [WO, Float32Array.of(1, 1, 3)],
      ]),
      shapes,
    );
    await writeFisherFile(
      fb,
      new Map([
        [K, Float32Array.of(3, 0)],
        [WO, Float32Array.of(1, 3, 1)],
      ]),
      shapes,
    );
    expect((await readFisherFile(fa))?.get(WO)).toEqual(Float32Array.of(1, 1, 3));
    const out = join(root, "fisher");
    await mergeAdapterFolders({ adapterDirs: [fa, fb], method: "fisher", outDir: out });
    const merged = await readAdapter(out);
    expect(Array.from(merged.values.get(K) ?? [])).toEqual([2.5, 4]); // (1·1 + 3·3)/4; both 0 → floored → (2 + 6)/2
    expect(Array.from(merged.values.get(WO) ?? [])).toEqual([1, 2.5, 6.5]); // (0+2)/2, (4 + 3·2)/4, (3·8 + 2)/4
    const record = JSON.parse(await readFile(join(out, "merge.json"), "utf8")) as {
      fisher_floor: number;
      inputs: { fisher: string }[];
    };
    expect(record.fisher_floor).toBe(1e-8);
    expect(record.inputs.map((i) => i.fisher)).toEqual([
      join(fa, "fisher.safetensors"),
      join(fb, "fisher.safetensors"),
    ]);
    // computed diagonals (the hook for computing Fisher from --data) take precedence over the files
    const out2 = join(root, "fisher-computed");
    const ones = new Map([
      [K, Float32Array.of(1, 1)],
      [WO, Float32Array.of(1, 1, 1)],
    ]);
    await mergeAdapterFolders({ adapterDirs: [fa, fb], method: "fisher", fishers: [ones, ones], outDir: out2 });
    expect(Array.from((await readAdapter(out2)).values.get(K) ?? [])).toEqual([2, 4]);
  });

  it("an empty --out folder is filled; the temp folder never stays", async () => {
    const out = join(root, "empty-out");
    await mkdir(out);
    await mergeAdapterFolders({ adapterDirs: [a, b], method: "average", outDir: out });
    expect((await readdir(out)).length).toBe(3);
    expect((await readdir(root)).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });
});

describe("bad input: one line, nothing written", () => {
  const cases: [
    string,
    () => Promise<{ dirs: string[]; method: "average" | "weighted" | "fisher"; weights?: number[] }>,
    RegExp | string,
  ][] = [
    [
      "different target modules",
      async () => {
        const c = join(root, "other-targets");
        await writeAdapterFiles(
          c,
          vectors([1, 2], [1, 1, 1], { config: { targetModules: ["k", "wo"], feedforwardModules: ["wo"] } }),
        );
        return { dirs: [a, c], method: "average" };
      },
      /^merge: .*other-targets has target_modules \["k","wo"\] but .*\/a has \["k","v","wo"\]; merge only adapters trained with the same adapter.target_modules$/,
    ],
    [
      "different base models",
      async () => {
        const c = join(root, "other-model");
        await writeAdapterFiles(c, vectors([1, 2], [1, 1, 1], { baseModel: "google/flan-t5-small" }));
        return { dirs: [a, c], method: "average" };
      },
      /^merge: .*other-model was trained on google\/flan-t5-small but .*\/a on google\/t5-base-lm-adapt; merge only adapters of the same base model$/,
    ],
    [
      "a model of another size",
      async () => {
        const c = join(root, "other-size");
        await writeAdapterFiles(c, vectors([1, 2, 3], [1, 1, 1]));
        return { dirs: [a, c], method: "average" };
      },
      /^merge: vector decoder.block.0.layer.1.EncDecAttention.k has shape \[3, 1\] in .*other-size but \[2, 1\] in .*\/a; .* were made for different models$/,
    ],
    [
      "a missing folder",
      async () => ({ dirs: [a, join(root, "nope")], method: "average" }),
      /^merge: adapter folder .*nope does not exist; give folders written by tfew train/,
    ],
    [
      "a folder without adapter_config.json",
      async () => {
        const c = join(root, "no-config");
        await mkdir(c, { recursive: true });
        return { dirs: [a, c], method: "average" };
      },
      /^adapter: no adapter_config.json in .*no-config; point at a folder written by tfew train/,
    ],
    [
      "a folder without adapter_model.safetensors",
      async () => {
        const c = join(root, "no-weights");
        await mkdir(c, { recursive: true });
        await writeFile(join(c, "adapter_config.json"), await readFile(join(a, "adapter_config.json")));
        return { dirs: [a, c], method: "average" };
      },
      /^adapter: no adapter_model.safetensors \(or adapter_model.bin\) in .*no-weights; the adapter folder is incomplete — copy its weights file too$/,
    ],
    [
      "weights count mismatch",
      async () => ({ dirs: [a, b], method: "weighted", weights: [1, 2, 3] }),
      "merge: 3 --weight values for 2 --adapter folders; give one --weight per adapter, in the same order",
    ],
    [
      "fisher without fisher.safetensors",
      async () => ({ dirs: [a, b], method: "fisher" }),
      /^merge: .*\/a has no fisher.safetensors; --method fisher needs each adapter's Fisher diagonal: give one --data per --adapter/,
    ],
    [
      "one adapter",
      async () => ({ dirs: [a], method: "average" }),
      "merge: give at least two --adapter folders (got 1)",
    ],
  ];

  it.each(cases)("%s", async (_, setup, message) => {
    const { dirs, method, weights } = await setup();
    const out = join(root, "never");
    const error = await tfewError(mergeAdapterFolders({ adapterDirs: dirs, method, weights, outDir: out }));
    if (typeof message === "string") expect(error).toBe(message);
    else expect(error).toMatch(message);
    expect(await readdir(out).catch(() => null)).toBeNull();
    expect((await readdir(root)).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });

  it("a non-empty --out is refused before anything is read", async () => {
    const out = join(root, "full");
    await mkdir(out);
    await writeFile(join(out, "keep.txt"), "mine");
    expect(
      await tfewError(mergeAdapterFolders({ adapterDirs: [a, join(root, "nope")], method: "average", outDir: out })),
    ).toBe(`merge: --out ${out} is not empty; give a new or empty folder (nothing is overwritten)`);
    expect(await readdir(out)).toEqual(["keep.txt"]);
  });
});
