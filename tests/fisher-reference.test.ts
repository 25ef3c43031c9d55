// tfew's diagonal Fisher (src/engine/fisher.ts) against an independent PyTorch computation on the gold tiny T5
// with its PEFT (IA)³ vectors (tests/fixtures/fisher/t5-tiny-gated.json, written by scripts/fisher_reference.py:
// autograd of every log p(c|x), float64), ≤ 1e-4 relative per vector; and 1 vs 2 workers give the same bytes.
// The worker test needs the compiled worker (npm run build).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import "@tensorflow/tfjs-backend-wasm";
import { createVectorSet, disposeVectorSet } from "../src/adapters/ia3.js";
import { IA3_DEFAULTS } from "../src/adapters/ia3-config.js";
import { selectBackend } from "../src/backend/select.js";
import { loadRunConfig } from "../src/config/load.js";
import { loadTokenizer } from "../src/data/tokenizer.js";
import type { FisherKind } from "../src/engine/fisher-settings.js";
import { computeFisher } from "../src/engine/fisher.js";
import { buildExamples, prepareTask } from "../src/engine/workspace.js";
import { readSafetensors } from "../src/io/safetensors.js";
import { loadT5 } from "../src/model/load.js";
import { DEMO_MODEL, DEMO_TASK, requireBuild } from "./helpers/spawn-tfew.js";
import { GOLD_MODEL_DIR, REPO_ROOT } from "./helpers/shared.js";

interface Reference {
  examples: { input_ids: number[]; choices: number[][]; label: number }[];
  cases: { kind: FisherKind; length_norm: number; fisher: Record<string, number[]> }[];
}

const reference = JSON.parse(
  readFileSync(join(REPO_ROOT, "tests", "fixtures", "fisher", "t5-tiny-gated.json"), "utf8"),
) as Reference;

/** The worst vector's max |Δ| / max |F| (each vector judged against its own scale). */
function worstRelative(got: ReadonlyMap<string, Float32Array>, want: Record<string, number[]>): number {
  let worst = 0;
  for (const [path, w] of Object.entries(want)) {
    const g = got.get(path);
    if (g === undefined || g.length !== w.length) return Infinity;
    const scale = Math.max(...w.map(Math.abs));
    const diff = Math.max(...w.map((x, i) => Math.abs((g[i] as number) - x)));
    worst = Math.max(worst, diff / scale);
  }
  return worst;
}

describe("diagonal Fisher against the PyTorch reference (gold tiny T5 + PEFT vectors)", () => {
  it.each(reference.cases.map((c) => [c.kind, c.length_norm, c] as const))(
    "%s Fisher, length_norm %d: ≤ 1e-4 relative",
    async (kind, lengthNorm, c) => {
      const backend = await selectBackend("wasm");
      const model = await loadT5(GOLD_MODEL_DIR, backend);
      const { tensors } = await readSafetensors(join(GOLD_MODEL_DIR, "ia3.safetensors"));
      const initial = new Map<string, Float32Array>();
      for (const [name, t] of tensors)
        if (name.endsWith(".ia3_l"))
          initial.set(name.slice("base_model.model.".length, -".ia3_l".length), t.data as Float32Array);
      const set = createVectorSet("gold", model.weights, IA3_DEFAULTS.t5, initial);
      const examples = reference.examples.map((e) => ({ inputIds: e.input_ids, choices: e.choices, label: e.label }));
      const t0 = performance.now();
      const fisher = await computeFisher({ backend, model, deviceFreeBytes: null }, set, examples, {
        kind,
        lengthNorm,
        workers: 1,
      });
      const rel = worstRelative(fisher, c.fisher);
      console.log(
        `fisher ${kind} length_norm ${lengthNorm}: worst relative error ${rel.toExponential(2)} vs PyTorch float64 (${(performance.now() - t0).toFixed(0)} ms)`,
      );
      expect(rel).toBeLessThanOrEqual(1e-4);
      expect(fisher.size).toBe(16);
      disposeVectorSet(set);
    },
    60_000,
  );
});

describe("workers never change the bytes", () => {
  it("1 and 2 workers give identical Fisher diagonals on 10 demo examples (3 blocks)", async () => {
    requireBuild();
    const backend = await selectBackend("wasm");
    const model = await loadT5(DEMO_MODEL, backend);
    const config = loadRunConfig({
      files: [join(REPO_ROOT, "configs", "default.yaml")],
      sets: [`model=${DEMO_MODEL}`, `data.path=${DEMO_TASK}`],
    }).config;
    const task = await prepareTask(config);
    const { examples } = buildExamples(task, task.train.slice(0, 10), await loadTokenizer(DEMO_MODEL), config);
    const set = createVectorSet("demo", model.weights, IA3_DEFAULTS.t5, undefined);
    // move the vectors off 1.0 so the test does not hinge on the identity
    for (const v of set.variables.values()) v.assign(v.mul(1.1));
    const ws = { backend, model, deviceFreeBytes: null };
    for (const kind of ["model", "empirical"] as const) {
      const one = await computeFisher(ws, set, examples, { kind, lengthNorm: 1, workers: 1 });
      const two = await computeFisher(ws, set, examples, { kind, lengthNorm: 1, workers: 2 });
      expect([...two.keys()]).toEqual([...one.keys()]);
      for (const [path, v] of one)
        expect(
          Buffer.from((two.get(path) as Float32Array).buffer).equals(Buffer.from(v.buffer)),
          `${kind} ${path}`,
        ).toBe(true);
      expect([...one.values()].some((v) => v.some((x) => x > 0))).toBe(true);
    }
    disposeVectorSet(set);
  }, 120_000);
});
