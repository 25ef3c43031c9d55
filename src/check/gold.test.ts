import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select.js";
import { runGoldCheck, relativeError } from "./gold.js";

const FIXTURES = join(import.meta.dirname, "..", "..", "tests", "fixtures", "hf-reference", "t5-tiny-gated");

describe("relativeError", () => {
  it("is max |Δ| / max |gold|, 0 for equal arrays, NaN when any value is NaN", () => {
    expect(relativeError([1, 2, 3], [1, 2, 4])).toBeCloseTo(0.25, 12);
    expect(relativeError([0, 0], [0, 0])).toBe(0);
    expect(relativeError([Number.NaN, 1], [1, 1])).toBeNaN();
    expect(relativeError([1, Number.NaN], [1, 1])).toBeNaN();
    expect(() => relativeError([1], [1, 2])).toThrow(/1 values vs 2/);
  });
});

describe("runGoldCheck", () => {
  it("passes on the wasm backend with the fast paths wasm uses, well inside the GPU tolerance", async () => {
    const backend = await selectBackend("wasm", {});
    const r = await runGoldCheck({ fixtureDir: FIXTURES, backend });
    expect(r.backend).toBe("wasm");
    expect(r.pass).toBe(true);
    expect(r.logits_max_abs).toBeLessThanOrEqual(1e-4);
    expect(r.ia3_grad_rel).toBeLessThanOrEqual(1e-4);
    expect(r.tfew_grad_rel).toBeLessThanOrEqual(1e-4);
    expect(r.tfew_loss_rel).toBeLessThanOrEqual(1e-5);
  });
});
