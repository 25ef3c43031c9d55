// SMEAR routing: with every router fixed to the one-hot of each example's task, the experts' mixture is
// exactly task routing (losses and gradients ≤ 1e-6); the routers' gradients match central finite
// differences of the loss.
import { describe, expect, it } from "vitest";
import "@tensorflow/tfjs-backend-wasm";
import { tf } from "../src/backend/tf.js";
import { assignVectors, createVectorSet, readVectors, type Ia3VectorSet } from "../src/adapters/ia3.js";
import { IA3_DEFAULTS } from "../src/adapters/ia3-config.js";
import { createSmear, smearRouter } from "../src/adapters/smear.js";
import { taskSets } from "../src/adapters/trainable.js";
import { selectBackend } from "../src/backend/select.js";
import { loadRunConfig } from "../src/config/load.js";
import { batchNormalizers, makeBatch, type TfewExample } from "../src/engine/batch.js";
import { choiceTokenNll, computeGradients } from "../src/engine/gradients.js";
import { lossShare, lossSums, lossValues } from "../src/engine/losses.js";
import { buildExamples, prepareTask } from "../src/engine/workspace.js";
import { loadTokenizer } from "../src/data/tokenizer.js";
import { loadT5 } from "../src/model/load.js";
import { DEMO_MODEL, DEMO_TASK } from "./helpers/spawn-tfew.js";

const settings = { lengthNorm: 1, ulWeight: 1, lnWeight: 1 };
const weights = { ul: 1, ln: 1 };

async function setup() {
  const model = await loadT5(DEMO_MODEL, await selectBackend("wasm"));
  const { config } = loadRunConfig({ files: [], sets: [`model=${DEMO_MODEL}`, `data.path=${DEMO_TASK}`] });
  const task = await prepareTask(config);
  const base = buildExamples(task, task.train.slice(0, 4), await loadTokenizer(DEMO_MODEL), config).examples;
  const tasks = [0, 1, 1, 0];
  const examples: TfewExample[] = base.map((e, b) => ({ ...e, task: tasks[b] }));
  const sets = ["a", "b"].map((name, t) => {
    const set = createVectorSet(name, model.weights, IA3_DEFAULTS.t5);
    assignVectors(
      set,
      new Map(
        set.specs
          .map((s) => [s.path, new Float32Array(s.shape[0] * s.shape[1])] as const)
          .map(([p, v]) => [p, v.map((_, i) => 1 + 0.2 * Math.sin(i * 0.7 + p.length + 2 * t))]),
      ),
    );
    return set;
  });
  const ids = { padId: model.config.padTokenId, decoderStartId: model.config.decoderStartTokenId };
  return { model, examples, tasks, sets, batch: makeBatch(examples, ids), n: batchNormalizers(examples) };
}

describe("SMEAR", () => {
  it("a router fixed to one-hot equals task routing (losses and expert gradients ≤ 1e-6)", async () => {
    const { model, tasks, sets, batch, n } = await setup();
    const task = await computeGradients(model, taskSets(sets), batch, settings, n);
    const smear = createSmear(
      model.weights,
      IA3_DEFAULTS.t5,
      await Promise.all(sets.map(async (s) => ({ name: s.name, initial: await readVectors(s) }))),
    );
    const vars = smear.experts.flatMap((e) => e.specs.map((s) => e.variables.get(s.path) as tf.Variable));
    const { value, grads } = tf.variableGrads(() => {
      const fixed = tf.oneHot(tf.tensor1d(tasks, "int32"), 2).toFloat() as tf.Tensor2D; // [batch, experts]
      const { tokenNll, targetMask } = choiceTokenNll(model, batch, smearRouter(smear, { fixed }));
      return lossShare(lossSums({ tokenNll, targetMask, labels: batch.labels, lengthNorm: 1 }), n, weights);
    }, vars);
    const expected = task.sums.lm / n.lmTokens + task.sums.ul / n.ulTokens + task.sums.ln / n.examples;
    expect(Math.abs((value.dataSync()[0] as number) - expected) / expected).toBeLessThanOrEqual(1e-6);
    for (const expert of smear.experts) {
      for (const spec of expert.specs) {
        const g = grads[(expert.variables.get(spec.path) as tf.Variable).name]?.dataSync() as Float32Array;
        const want = task.grads.get(`${expert.name}/${spec.path}`) as Float32Array;
        const scale = Math.max(...want.map(Math.abs), 1e-6);
        want.forEach((w, i) => expect(Math.abs(w - (g[i] as number)) / scale).toBeLessThanOrEqual(1e-6));
      }
    }
  });

  it("router gradients match central finite differences", async () => {
    const { model, sets, batch, n } = await setup();
    const dModel = model.config.dModel;
    const routerValues = new Map<string, Float32Array>();
    const rand = (i: number) => Math.sin(i * 12.9898) * 0.5;
    for (const stack of ["encoder", "decoder"] as const) {
      for (let layer = 0; layer < model.weights[stack].blocks.length; layer++) {
        routerValues.set(
          `${stack}.block.${layer}.weight`,
          Float32Array.from({ length: dModel * 2 }, (_, i) => rand(i + layer * 7 + (stack === "decoder" ? 3 : 0))),
        );
        routerValues.set(`${stack}.block.${layer}.bias`, Float32Array.from([0.3, -0.2]));
      }
    }
    const smear = createSmear(
      model.weights,
      IA3_DEFAULTS.t5,
      await Promise.all(sets.map(async (s: Ia3VectorSet) => ({ name: s.name, initial: await readVectors(s) }))),
      routerValues,
    );
    const loss = async () =>
      lossValues((await computeGradients(model, smear, batch, settings, n)).sums, n, weights).total;
    const r = await computeGradients(model, smear, batch, settings, n);
    for (const key of [
      "router/encoder.block.0.bias",
      "router/decoder.block.1.bias",
      "router/encoder.block.1.weight",
      "router/decoder.block.0.weight",
    ]) {
      const g = r.grads.get(key) as Float32Array;
      const i = g.reduce((best, v, j) => (Math.abs(v) > Math.abs(g[best] as number) ? j : best), 0); // the largest entry: a clear signal in float32
      const [block, field] = [key.slice(7, key.lastIndexOf(".")), key.slice(key.lastIndexOf(".") + 1)];
      const router = smear.routers.get(block) as { weight: tf.Variable; bias: tf.Variable };
      const variable = field === "weight" ? router.weight : router.bias;
      const at = async (delta: number) => {
        const values = Float32Array.from(await variable.data());
        values[i] = (values[i] as number) + delta;
        variable.assign(tf.tensor(values, variable.shape));
        const l = await loss();
        values[i] = (values[i] as number) - delta;
        variable.assign(tf.tensor(values, variable.shape));
        return l;
      };
      const eps = 1e-2;
      const fd = ((await at(eps)) - (await at(-eps))) / (2 * eps);
      console.log(`${key}[${i}]: autograd ${g[i]}, finite difference ${fd}`);
      expect(Math.abs(fd - (g[i] as number))).toBeLessThanOrEqual(2e-2 * Math.abs(g[i] as number) + 1e-4);
    }
  });
});
