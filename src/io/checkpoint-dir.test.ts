import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { readCheckpointDir } from "./checkpoint-dir.js";
import { writeSafetensors, type SafetensorsInput } from "./safetensors.js";
import type { TensorRecord } from "./tensor-record.js";
import { tfewMessageOf } from "../../tests/helpers/errors.js";

// The .bin reader is another module; here only the dispatch to it is tested.
vi.mock("./torch-pickle.js", () => ({
  readTorchCheckpoint: vi.fn(async (path: string): Promise<Map<string, TensorRecord>> => {
    const name = path.endsWith("-00002-of-00002.bin") ? "b" : "a";
    return new Map([[name, { dtype: "F32", shape: [1], data: new Float32Array([path.length]) }]]);
  }),
}));

let dir = "";
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tfew-ckpt-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const f32 = (...values: number[]): SafetensorsInput => ({
  dtype: "F32",
  shape: [values.length],
  data: new Float32Array(values),
});

async function writeIndex(name: string, weightMap: Record<string, string>): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  return path;
}

const errorOf = tfewMessageOf;

describe("readCheckpointDir", () => {
  it("reads a single model.safetensors", async () => {
    await writeSafetensors(join(dir, "model.safetensors"), { "a.weight": f32(1, 2), "b.weight": f32(3) });
    const { tensors, files } = await readCheckpointDir(dir);
    expect([...tensors.keys()].sort()).toEqual(["a.weight", "b.weight"]);
    expect(tensors.get("a.weight")?.data).toEqual(new Float32Array([1, 2]));
    expect(files).toEqual([join(dir, "model.safetensors")]);
  });

  it("reads every shard of model.safetensors.index.json", async () => {
    await writeSafetensors(join(dir, "model-00001-of-00002.safetensors"), { a: f32(1), b: f32(2) });
    await writeSafetensors(join(dir, "model-00002-of-00002.safetensors"), { c: f32(3, 4) });
    await writeIndex("model.safetensors.index.json", {
      a: "model-00001-of-00002.safetensors",
      c: "model-00002-of-00002.safetensors",
      b: "model-00001-of-00002.safetensors",
    });
    const { tensors, files } = await readCheckpointDir(dir);
    expect([...tensors.keys()].sort()).toEqual(["a", "b", "c"]);
    expect(tensors.get("c")?.data).toEqual(new Float32Array([3, 4]));
    expect(files).toEqual([
      join(dir, "model-00001-of-00002.safetensors"),
      join(dir, "model-00002-of-00002.safetensors"),
    ]);
  });

  it("prefers model.safetensors over the index and over pytorch_model.bin", async () => {
    await writeSafetensors(join(dir, "model.safetensors"), { only: f32(1) });
    await writeIndex("model.safetensors.index.json", { other: "missing.safetensors" });
    await writeFile(join(dir, "pytorch_model.bin"), "not read");
    expect([...(await readCheckpointDir(dir)).tensors.keys()]).toEqual(["only"]);
  });

  it("a key mapped to a shard that lacks it: error names the index and the key", async () => {
    await writeSafetensors(join(dir, "s1.safetensors"), { a: f32(1) });
    const index = await writeIndex("model.safetensors.index.json", {
      a: "s1.safetensors",
      "lm_head.weight": "s1.safetensors",
    });
    expect(await errorOf(readCheckpointDir(dir))).toBe(
      `checkpoint: ${index} maps tensor "lm_head.weight" to s1.safetensors, but s1.safetensors does not contain it; re-download the checkpoint`,
    );
  });

  it("missing shard, duplicate tensor across shards, path-like shard name, bad JSON", async () => {
    const index = await writeIndex("model.safetensors.index.json", { a: "gone.safetensors" });
    expect(await errorOf(readCheckpointDir(dir))).toBe(
      `checkpoint: shard gone.safetensors listed in ${index} is missing from ${dir}; re-download the checkpoint`,
    );

    await writeSafetensors(join(dir, "s1.safetensors"), { a: f32(1) });
    await writeSafetensors(join(dir, "s2.safetensors"), { a: f32(2) });
    await writeIndex("model.safetensors.index.json", { a: "s1.safetensors", b: "s2.safetensors" });
    expect(await errorOf(readCheckpointDir(dir))).toMatch(/tensor "a" is in both s1.safetensors and s2.safetensors/);

    await writeIndex("model.safetensors.index.json", { a: "../s1.safetensors" });
    expect(await errorOf(readCheckpointDir(dir))).toMatch(
      /maps tensor "a" to "..\/s1.safetensors", not a file name in the same folder/,
    );

    await writeFile(join(dir, "model.safetensors.index.json"), "{");
    expect(await errorOf(readCheckpointDir(dir))).toMatch(/cannot read .*model.safetensors.index.json as JSON/);
  });

  it("falls back to pytorch_model.bin and pytorch_model.bin.index.json via readTorchCheckpoint", async () => {
    await writeFile(join(dir, "pytorch_model-00001-of-00002.bin"), "");
    await writeFile(join(dir, "pytorch_model-00002-of-00002.bin"), "");
    await writeIndex("pytorch_model.bin.index.json", {
      a: "pytorch_model-00001-of-00002.bin",
      b: "pytorch_model-00002-of-00002.bin",
    });
    const sharded = await readCheckpointDir(dir);
    expect([...sharded.tensors.keys()].sort()).toEqual(["a", "b"]);
    expect(sharded.files).toHaveLength(2);

    await writeFile(join(dir, "pytorch_model.bin"), "");
    const single = await readCheckpointDir(dir);
    expect(single.files).toEqual([join(dir, "pytorch_model.bin")]);
  });

  it("no weights / no folder: one-line error naming the folder and the files looked for", async () => {
    expect(await errorOf(readCheckpointDir(dir))).toBe(
      `checkpoint: no weights in ${dir} (looked for model.safetensors, model.safetensors.index.json, pytorch_model.bin, ` +
        `pytorch_model.bin.index.json); download the model's weights into that folder or point --model elsewhere`,
    );
    expect(await errorOf(readCheckpointDir(join(dir, "nope")))).toMatch(
      /model folder .*nope does not exist or is not a folder/,
    );
  });
});
