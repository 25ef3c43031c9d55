// Per-example task routing: in a batch that mixes two tasks, each example gets its own task's loss and
// gradient — the mixed pass equals running each example alone with its task's vectors (same whole-batch
// normalizers, ≤ 1e-5 relative), and its per-task loss sums are those examples' sums.
import { describe, expect, it } from "vitest";
import "@tensorflow/tfjs-backend-wasm";
import { createVectorSet, assignVectors, type Ia3VectorSet } from "../src/adapters/ia3.js";
import { IA3_DEFAULTS } from "../src/adapters/ia3-config.js";
import { taskSets } from "../src/adapters/trainable.js";
import { selectBackend } from "../src/backend/select.js";
import { loadRunConfig } from "../src/config/load.js";
import { batchNormalizers, makeBatch, type TfewExample } from "../src/engine/batch.js";
import { computeGradients } from "../src/engine/gradients.js";
import { buildExamples, prepareTask } from "../src/engine/workspace.js";
import { loadTokenizer } from "../src/data/tokenizer.js";
import { loadT5 } from "../src/model/load.js";
import { DEMO_MODEL, DEMO_TASK } from "./helpers/spawn-tfew.js";

const settings = { lengthNorm: 1, ulWeight: 1, lnWeight: 1 };

function relDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(a[i] as number));
  }
  return diff / scale;
}

/** A set whose vectors differ from 1 (and from the other task's) by a task-specific pattern. */
function taskSet(model: Awaited<ReturnType<typeof loadT5>>, name: string, phase: number): Ia3VectorSet {
  const set = createVectorSet(name, model.weights, IA3_DEFAULTS.t5);
  assignVectors(
    set,
    new Map(
      set.specs
        .map((s) => [s.path, new Float32Array(s.shape[0] * s.shape[1])] as const)
        .map(([p, v]) => [p, v.map((_, i) => 1 + 0.2 * Math.sin(i * 0.7 + p.length + phase))]),
    ),
  );
  return set;
}

describe("per-example task routing", () => {
  it("a mixed batch gives each example its own task's loss and gradient", async () => {
    const backend = await selectBackend("wasm");
    const model = await loadT5(DEMO_MODEL, backend);
    const { config } = loadRunConfig({ files: [], sets: [`model=${DEMO_MODEL}`, `data.path=${DEMO_TASK}`] });
    const task = await prepareTask(config);
    const tokenizer = await loadTokenizer(DEMO_MODEL);
    const base = buildExamples(task, task.train.slice(0, 4), tokenizer, config).examples;
    const tasks = [0, 1, 1, 0];
    const examples: TfewExample[] = base.map((e, b) => ({ ...e, task: tasks[b] }));
    const sets = [taskSet(model, "a", 0), taskSet(model, "b", 2)];
    const ids = { padId: model.config.padTokenId, decoderStartId: model.config.decoderStartTokenId };
    const n = batchNormalizers(examples);
    const mixed = await computeGradients(model, taskSets(sets), makeBatch(examples, ids), settings, n);
    const alone = [];
    for (const e of examples)
      alone.push(
        await computeGradients(model, sets[e.task as number] as Ia3VectorSet, makeBatch([e], ids), settings, n),
      );

    for (const [t, set] of sets.entries()) {
      for (const spec of set.specs) {
        const expected = new Float32Array(spec.shape[0] * spec.shape[1]);
        alone.forEach(
          (r, b) =>
            tasks[b] === t &&
            (r.grads.get(spec.path) as Float32Array).forEach((g, i) => (expected[i] = (expected[i] as number) + g)),
        );
        expect(relDiff(expected, mixed.grads.get(`${set.name}/${spec.path}`) as Float32Array)).toBeLessThanOrEqual(
          1e-5,
        );
      }
      const sums = mixed.taskSums?.get(t);
      for (const key of ["lm", "ul", "ln"] as const) {
        const expected = alone.reduce((s, r, b) => s + (tasks[b] === t ? r.sums[key] : 0), 0);
        expect(Math.abs((sums?.[key] as number) - expected) / Math.abs(expected)).toBeLessThanOrEqual(1e-5);
      }
    }
    for (const key of ["lm", "ul", "ln"] as const) {
      const expected = alone.reduce((s, r) => s + r.sums[key], 0);
      expect(Math.abs(mixed.sums[key] - expected) / Math.abs(expected)).toBeLessThanOrEqual(1e-5);
    }
    alone.forEach((r, b) =>
      expect(relDiff(r.choiceScores, mixed.choiceScores.slice(b * 3, b * 3 + 3))).toBeLessThanOrEqual(1e-5),
    );
  });

  it("a batch of one task uses that set alone: the other set's gradient is zero, its own equals a single-set pass", async () => {
    const backend = await selectBackend("wasm");
    const model = await loadT5(DEMO_MODEL, backend);
    const { config } = loadRunConfig({ files: [], sets: [`model=${DEMO_MODEL}`, `data.path=${DEMO_TASK}`] });
    const task = await prepareTask(config);
    const base = buildExamples(task, task.train.slice(0, 3), await loadTokenizer(DEMO_MODEL), config).examples;
    const sets = [taskSet(model, "a", 0), taskSet(model, "b", 2)];
    const ids = { padId: model.config.padTokenId, decoderStartId: model.config.decoderStartTokenId };
    const examples = base.map((e) => ({ ...e, task: 1 }));
    const n = batchNormalizers(examples);
    const mixed = await computeGradients(model, taskSets(sets), makeBatch(examples, ids), settings, n);
    const single = await computeGradients(model, sets[1] as Ia3VectorSet, makeBatch(examples, ids), settings, n);
    for (const spec of (sets[0] as Ia3VectorSet).specs) {
      expect((mixed.grads.get(`a/${spec.path}`) as Float32Array).every((g) => g === 0)).toBe(true);
      expect(
        relDiff(single.grads.get(spec.path) as Float32Array, mixed.grads.get(`b/${spec.path}`) as Float32Array),
      ).toBe(0);
    }
    expect(mixed.sums).toEqual(single.sums);
  });
});
