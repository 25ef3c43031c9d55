// The adapter fit check: every vector's shape and role (input scaling for feed-forward modules, output scaling
// otherwise) must match the model's specs, not just its element count; one line names module, expected, found.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TfewError } from "../errors.js";
import { writeSafetensors } from "../io/safetensors.js";
import { parseT5Config } from "../model/config.js";
import { linearShapes } from "../model/weights.js";
import { ia3Specs, type Ia3VectorSpec } from "./ia3.js";
import { IA3_DEFAULTS, type Ia3Config } from "./ia3-config.js";
import { checkAdapterFits, peftTensorName, readAdapter, recordedBaseModel } from "./peft-adapter.js";

const config = parseT5Config(
  {
    model_type: "t5",
    vocab_size: 104,
    d_model: 64,
    d_kv: 16,
    num_heads: 4,
    d_ff: 128,
    num_layers: 2,
    feed_forward_proj: "gated-gelu",
  },
  "test config",
); // d_model 64 = heads·d_kv: k and v are square
const specs = ia3Specs(linearShapes(config), IA3_DEFAULTS.t5);
let dir: string;
let count = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tfew-peft-adapter-"));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** Writes a PEFT IA3 folder: adapter_config.json with `adapterConfig`, one vector per spec with `shapeOf(spec)`. */
async function writeAdapter(
  adapterConfig: Ia3Config,
  vectorSpecs: readonly Ia3VectorSpec[],
  shapeOf: (s: Ia3VectorSpec) => number[],
): Promise<string> {
  const folder = join(dir, `adapter-${++count}`);
  const tensors: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {};
  for (const s of vectorSpecs) {
    const shape = shapeOf(s);
    tensors[peftTensorName(s.path)] = {
      dtype: "F32",
      shape,
      data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1),
    };
  }
  await mkdir(folder);
  await writeSafetensors(join(folder, "adapter_model.safetensors"), tensors, { format: "pt" });
  await writeFile(
    join(folder, "adapter_config.json"),
    JSON.stringify({
      peft_type: "IA3",
      target_modules: adapterConfig.targetModules,
      feedforward_modules: adapterConfig.feedforwardModules,
    }),
  );
  return folder;
}

function fitError(run: () => void): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TfewError);
    return (error as TfewError).message;
  }
  throw new Error("checkAdapterFits accepted an adapter that does not fit");
}

describe("checkAdapterFits", () => {
  it("accepts an adapter of the same modules, shapes and roles", async () => {
    const adapter = await readAdapter(await writeAdapter(IA3_DEFAULTS.t5, specs, (s) => s.shape));
    expect(() => checkAdapterFits(adapter, specs, "a")).not.toThrow();
  });

  it("refuses a vector of the right element count but the other role (k as an input scale [1, 64] where [64, 1] is needed)", async () => {
    const trained: Ia3Config = { targetModules: ["k", "v", "wo"], feedforwardModules: ["k", "wo"] };
    const folder = await writeAdapter(trained, ia3Specs(linearShapes(config), trained), (s) => s.shape);
    const adapter = await readAdapter(folder);
    const message = fitError(() => checkAdapterFits(adapter, specs, folder));
    expect(message).toContain("encoder.block.0.layer.0.SelfAttention.k");
    expect(message).toContain("is [1, 64] (input scaling, a feed-forward module)");
    expect(message).toContain("need [64, 1] (output scaling)");
  });

  it("refuses wo stored as an output scale when this config makes it a feed-forward input scale", async () => {
    const trained: Ia3Config = { targetModules: ["k", "v", "wo"], feedforwardModules: [] }; // what tfew wrote before PEFT's default
    const folder = await writeAdapter(trained, ia3Specs(linearShapes(config), trained), (s) => s.shape);
    const adapter = await readAdapter(folder);
    const message = fitError(() => checkAdapterFits(adapter, specs, folder));
    expect(message).toMatch(
      /vector encoder\.block\.0\.layer\.1\.DenseReluDense\.wo in .* is \[64, 1\] \(output scaling\) but this model and config need \[1, 128\] \(input scaling, a feed-forward module\)/,
    );
  });

  it("refuses a stored shape that contradicts the adapter's own config (same element count)", async () => {
    const folder = await writeAdapter(IA3_DEFAULTS.t5, specs, (s) =>
      s.path.endsWith("SelfAttention.v") ? [1, 64] : s.shape,
    );
    const adapter = await readAdapter(folder);
    const message = fitError(() => checkAdapterFits(adapter, specs, folder));
    expect(message).toContain("vector encoder.block.0.layer.0.SelfAttention.v");
    expect(message).toContain("is [1, 64] (output scaling)");
    expect(message.split("\n")).toHaveLength(1);
  });
});

describe("recordedBaseModel (base_model_name_or_path)", () => {
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const demo = join(repo, "data", "demo-model");
  it("keeps a hub id or a path as given, relative or absolute (as PEFT records what from_pretrained got)", () => {
    for (const given of ["google/flan-t5-small", "data/demo-model", "./models/t5", "/srv/models/t5"])
      expect(recordedBaseModel(given, repo)).toBe(given);
  });
  it("records the embedded demo (an absolute path tfew filled in) relative to the current folder under it", () => {
    expect(recordedBaseModel(demo, repo)).toBe("data/demo-model");
    expect(recordedBaseModel(demo, join(repo, "data"))).toBe("demo-model");
    expect(recordedBaseModel(demo, join(repo, "tests"))).toBe(demo); // not under it: absolute, still loadable
  });
});
