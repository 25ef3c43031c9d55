// Training on the gold tiny T5: the loss falls over a few dozen T-Few steps, base weights stay
// byte-for-byte unchanged, the (IA)³ vectors are the only variables, and no tensor leaks per step.
import { describe, expect, it } from "vitest";
import "@tensorflow/tfjs-backend-wasm";
import { createVectorSet, readVectors } from "../src/adapters/ia3.js";
import { IA3_DEFAULTS } from "../src/adapters/ia3-config.js";
import { tf } from "../src/backend/tf.js";
import { weightTensors } from "../src/model/weights.js";
import type { TfewExample } from "../src/engine/batch.js";
import { createLocalEngine } from "../src/engine/accumulate.js";
import { createOptimizer } from "../src/train/optimizer.js";
import { mulberry32 } from "../src/engine/rng.js";
import { learningRateAt } from "../src/train/schedule.js";
import { loadGoldModel } from "./helpers/gold-model.js";

function syntheticExamples(count: number): TfewExample[] {
  const rand = mulberry32(7);
  const choices = [
    [1000, 1],
    [2000, 2001, 1],
  ];
  return Array.from({ length: count }, (_, i) => {
    const label = i % 2;
    const len = 6 + Math.floor(rand() * 6);
    const inputIds = Array.from({ length: len }, () => 100 + Math.floor(rand() * 50) + label * 50);
    return { inputIds: [...inputIds, 1], choices, label };
  });
}

describe.each(["wasm", "cpu"])("T-Few training on %s", (backend) => {
  it("lowers the loss, leaves base weights unchanged, trains only the vectors, leaks nothing", async () => {
    await tf.setBackend(backend);
    const model = {
      ...(await loadGoldModel({ keepUntransposed: backend === "wasm" })),
      attention: { impl: backend === "wasm" ? ("per-head" as const) : ("reference" as const) },
    };
    const before = weightTensors(model.weights).map((t) => Buffer.from((t.dataSync() as Float32Array).buffer.slice(0)));
    const variablesBefore = Object.keys(tf.engine().registeredVariables).length;
    const set = createVectorSet("demo", model.weights, IA3_DEFAULTS.t5);
    expect(Object.keys(tf.engine().registeredVariables).length - variablesBefore).toBe(set.specs.length);
    const engine = createLocalEngine(model, set, { lengthNorm: 1, ulWeight: 1, lnWeight: 1 }, 4);
    const optimizer = createOptimizer(
      { name: "adafactor", weightDecay: 0 },
      set.specs.map((s) => ({ name: s.path, shape: s.shape })),
    );
    const params = await readVectors(set);
    const data = syntheticExamples(16);
    const steps = backend === "wasm" ? 30 : 4; // the pure-JS cpu backend is ~30× slower: leak and weight checks only
    const losses: number[] = [];
    let tensorsAfterFirst = -1;
    for (let step = 0; step < steps; step++) {
      const batch = data.slice((step * 8) % 16, ((step * 8) % 16) + 8);
      const r = await engine.compute(batch);
      optimizer.step(params, r.grads, learningRateAt(step, { lr: 0.05, totalSteps: steps, warmupRatio: 0 }));
      await engine.setVectors(params);
      losses.push(r.losses.total);
      if (step === 0) tensorsAfterFirst = tf.memory().numTensors;
      else expect(tf.memory().numTensors).toBe(tensorsAfterFirst);
    }
    const first = (losses[0]! + losses[1]!) / 2;
    const last = (losses[steps - 1]! + losses[steps - 2]!) / 2;
    console.log(`[${backend}] loss ${first.toFixed(4)} → ${last.toFixed(4)}`);
    if (backend === "wasm") expect(last).toBeLessThan(first * 0.8);
    const after = weightTensors(model.weights).map((t) => Buffer.from((t.dataSync() as Float32Array).buffer.slice(0)));
    after.forEach((b, i) => expect(b.equals(before[i]!)).toBe(true));
    // only the vectors are trainable variables
    const trainable = Object.values(tf.engine().registeredVariables).filter((v) => v.trainable);
    expect(trainable.length - variablesBefore).toBe(set.specs.length);
  });
});
