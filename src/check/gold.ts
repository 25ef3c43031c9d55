// The gold fixtures as a device check (scripts/gpu-check.sh, `tfew gold-check`): HF transformers + PEFT
// reference values (tests/fixtures/hf-reference/t5-tiny-gated, cases 2 and 3) recomputed on any backend.
import { join } from "node:path";
import { createVectorSet, disposeVectorSet, toScales, type Ia3VectorSet } from "../adapters/ia3.js";
import { IA3_DEFAULTS } from "../adapters/ia3-config.js";
import { peftTensorName } from "../adapters/peft-adapter.js";
import type { BackendChoice } from "../backend/select.js";
import { readPacked } from "../backend/reads.js";
import { tf } from "../backend/tf.js";
import { TfewError } from "../errors.js";
import { readSafetensors } from "../io/safetensors.js";
import type { TensorRecord } from "../io/tensor-record.js";
import { loadT5 } from "../model/load.js";
import { crossKeyValues, decode, encode, lmLogits, type T5Model } from "../model/t5.js";
import { combineParts, microBatchParts } from "../engine/accumulate.js";
import { batchNormalizers } from "../engine/batch.js";

/** GPU float paths (fused kernels, other summation orders): looser than the CPU tests' 1e-4. */
export const GOLD_TOLERANCE = { logitsMaxAbs: 1e-3, gradRel: 1e-3 } as const;

export interface GoldCheckResult {
  backend: string;
  fixtures: string;
  /** case 2: PEFT (IA)³ model logits, max |Δ| */
  logits_max_abs: number;
  /** case 2: HF loss, relative */
  loss_rel: number;
  /** case 2: d loss / d vector, worst over the 16 vectors of max |Δ| / max |gold| */
  ia3_grad_rel: number;
  /** case 3: the T-Few total loss (LM + unlikelihood + length-normalized), relative */
  tfew_loss_rel: number;
  /** case 3: d total / d vector, worst over the vectors */
  tfew_grad_rel: number;
  tolerance: { logits_max_abs: number; grad_rel: number };
  pass: boolean;
  seconds: number;
}

type Case = Map<string, TensorRecord>;

function get(tensors: Case, name: string, file: string): TensorRecord {
  const t = tensors.get(name);
  if (t === undefined)
    throw new TfewError(
      `gold-check: tensor ${name} missing from ${file}; point --fixtures at tests/fixtures/hf-reference/t5-tiny-gated`,
    );
  return t;
}

/** max |a − b| / max |b| (0/0 = 0). */
export function relativeError(actual: ArrayLike<number>, gold: ArrayLike<number>): number {
  if (actual.length !== gold.length) throw new Error(`relativeError: ${actual.length} values vs ${gold.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < gold.length; i++) {
    const d = Math.abs((actual[i] as number) - (gold[i] as number));
    diff = d > diff || Number.isNaN(d) ? d : diff;
    scale = Math.max(scale, Math.abs(gold[i] as number));
  }
  return diff === 0 ? 0 : diff / scale;
}

function maxAbs(actual: ArrayLike<number>, gold: ArrayLike<number>): number {
  if (actual.length !== gold.length) throw new Error(`maxAbs: ${actual.length} values vs ${gold.length}`);
  let worst = 0;
  for (let i = 0; i < gold.length; i++) {
    const d = Math.abs((actual[i] as number) - (gold[i] as number));
    worst = d > worst || Number.isNaN(d) ? d : worst;
  }
  return worst;
}

/** Case 2: (IA)³ at PEFT's vector values; logits, HF loss and its gradients. */
async function case2(model: T5Model, set: Ia3VectorSet, gold: Case, file: string) {
  const ids = get(gold, "input_ids", file);
  const dec = get(gold, "decoder_input_ids", file);
  const [batch, srcLen] = ids.shape as [number, number];
  const tgtLen = dec.shape[1] as number;
  const labels = Array.from(get(gold, "labels", file).data);
  const varList = set.specs.map((s) => set.variables.get(s.path) as tf.Variable);
  const kept = tf.tidy(() => {
    let logits: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const mask = tf.tensor2d(Float32Array.from(get(gold, "attention_mask", file).data), [batch, srcLen]);
      const ia3 = toScales(set);
      const h = encode(model, tf.tensor2d(ids.data, [batch, srcLen], "int32"), mask, ia3);
      const crossKv = crossKeyValues(model, h, ia3);
      const hidden = decode(
        model,
        { crossKv, encoderMask: mask, decoderInputIds: tf.tensor3d(dec.data, [batch, 1, tgtLen], "int32") },
        ia3,
      );
      logits = tf.keep(lmLogits(model, hidden)); // [batch·tgt, vocab]
      const keep = tf.tensor1d(labels.map((l) => (l === -100 ? 0 : 1))); // [rows]: HF ignores label −100
      const target = tf.oneHot(
        tf.tensor1d(
          labels.map((l) => Math.max(l, 0)),
          "int32",
        ),
        model.config.vocabSize,
      ); // [rows, vocab]
      const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.cast(target, "float32")), -1)); // [rows]
      return tf.div(tf.sum(tf.mul(nll, keep)), tf.sum(keep)) as tf.Scalar;
    }, varList);
    return [value, logits as tf.Tensor, ...varList.map((v) => grads[v.name] as tf.Tensor)];
  });
  const [loss, logits, ...grads] = await readPacked(kept).finally(() => tf.dispose(kept)); // one device read
  return {
    loss: (loss as Float32Array)[0] as number,
    logits: logits as Float32Array,
    grads: set.specs.map((s, i) => ({ path: s.path, data: grads[i] as Float32Array })),
  };
}

/** Case 3: the T-Few step (three losses) on a 2-example batch; gradients of the total. */
async function case3(model: T5Model, set: Ia3VectorSet, gold: Case, file: string) {
  const ids = get(gold, "input_ids", file);
  const choices = get(gold, "choices_ids", file);
  const srcLen = ids.shape[1] as number;
  const [, nc, lc] = choices.shape as [number, number, number];
  const trimmed = (row: number[]) => row.slice(0, row.findLastIndex((t) => t !== 0) + 1);
  const examples = Array.from(get(gold, "labels", file).data, (label, b) => ({
    inputIds: trimmed(Array.from(ids.data.subarray(b * srcLen, (b + 1) * srcLen))),
    choices: Array.from({ length: nc }, (_, j) =>
      trimmed(Array.from(choices.data.subarray((b * nc + j) * lc, (b * nc + j + 1) * lc))),
    ),
    label,
  }));
  const settings = { lengthNorm: 1, ulWeight: 1, lnWeight: 1 };
  const n = batchNormalizers(examples);
  return combineParts(await microBatchParts(model, set, [examples], settings, n), n, settings); // the whole batch in one pass
}

/** Runs cases 2 and 3 on the current backend (already selected) and compares with the fixture. */
export async function runGoldCheck(options: { fixtureDir: string; backend: BackendChoice }): Promise<GoldCheckResult> {
  const t0 = performance.now();
  const dir = options.fixtureDir;
  const model = await loadT5(dir, options.backend);
  const ia3File = join(dir, "ia3.safetensors");
  const tfewFile = join(dir, "tfew.safetensors");
  const ia3Gold = (await readSafetensors(ia3File)).tensors;
  const tfewGold = (await readSafetensors(tfewFile)).tensors;
  const initial = new Map<string, Float32Array>();
  for (const [name, t] of ia3Gold) {
    if (name.endsWith(".ia3_l"))
      initial.set(name.slice("base_model.model.".length, -".ia3_l".length), t.data as Float32Array);
  }
  const set = createVectorSet("gold", model.weights, IA3_DEFAULTS.t5, initial);
  try {
    const c2 = await case2(model, set, ia3Gold, ia3File);
    const c3 = await case3(model, set, tfewGold, tfewFile);
    const goldLoss = get(ia3Gold, "loss", ia3File).data[0] as number;
    const goldTotal = get(tfewGold, "total_loss", tfewFile).data[0] as number;
    const result = {
      backend: options.backend.name,
      fixtures: dir,
      logits_max_abs: maxAbs(c2.logits, get(ia3Gold, "logits", ia3File).data),
      loss_rel: Math.abs(c2.loss - goldLoss) / Math.abs(goldLoss),
      ia3_grad_rel: Math.max(
        ...c2.grads.map((g) => relativeError(g.data, get(ia3Gold, `${peftTensorName(g.path)}.grad`, ia3File).data)),
      ),
      tfew_loss_rel: Math.abs(c3.losses.total - goldTotal) / Math.abs(goldTotal),
      tfew_grad_rel: Math.max(
        ...[...c3.grads].map(([path, g]) =>
          relativeError(g, get(tfewGold, `${peftTensorName(path)}.grad`, tfewFile).data),
        ),
      ),
      tolerance: { logits_max_abs: GOLD_TOLERANCE.logitsMaxAbs, grad_rel: GOLD_TOLERANCE.gradRel },
    };
    const pass =
      result.logits_max_abs <= GOLD_TOLERANCE.logitsMaxAbs &&
      result.loss_rel <= GOLD_TOLERANCE.gradRel &&
      result.ia3_grad_rel <= GOLD_TOLERANCE.gradRel &&
      result.tfew_loss_rel <= GOLD_TOLERANCE.gradRel &&
      result.tfew_grad_rel <= GOLD_TOLERANCE.gradRel;
    return { ...result, pass, seconds: (performance.now() - t0) / 1000 };
  } finally {
    disposeVectorSet(set);
  }
}
