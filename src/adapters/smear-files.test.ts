// The base model an adapter folder names: PEFT's adapter_config.json, or a SMEAR folder's router_config.json
// (eval/predict/score --adapter without --model); a folder with neither is one line.
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tfewMessageOf } from "../../tests/helpers/errors.js";
import { adapterBaseModel } from "./smear-files.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tfew-base-model-"));
});
afterAll(async () => rm(root, { recursive: true, force: true }));

describe("adapterBaseModel", () => {
  it("reads adapter_config.json, or router_config.json of a SMEAR folder; null when none is named", async () => {
    const peft = join(root, "peft");
    await mkdir(peft);
    await writeFile(
      join(peft, "adapter_config.json"),
      JSON.stringify({ peft_type: "IA3", base_model_name_or_path: "google/flan-t5-small" }),
    );
    expect(await adapterBaseModel(peft)).toBe("google/flan-t5-small");
    const smear = join(root, "smear");
    await mkdir(join(smear, "experts"), { recursive: true });
    await writeFile(
      join(smear, "router_config.json"),
      JSON.stringify({ experts: ["A"], base_model_name_or_path: "data/demo-model" }),
    );
    expect(await adapterBaseModel(smear)).toBe("data/demo-model");
    const unnamed = join(root, "unnamed");
    await mkdir(unnamed);
    await writeFile(
      join(unnamed, "adapter_config.json"),
      JSON.stringify({ peft_type: "IA3", base_model_name_or_path: "" }),
    );
    expect(await adapterBaseModel(unnamed)).toBeNull();
  });

  it("a folder with neither file is one line naming it", async () => {
    const empty = join(root, "empty");
    await mkdir(empty);
    expect(await tfewMessageOf(adapterBaseModel(empty))).toMatch(
      /^adapter: .*empty has no adapter_config\.json \(nor router_config\.json\)/,
    );
  });
});
