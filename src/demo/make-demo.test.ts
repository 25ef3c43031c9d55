// makeDemo end to end: the same bytes on every run (sha256 of every file), small files, the model loading with the
// project's T5 code (readT5Config + readSafetensors + buildWeights) and a forward pass with finite logits.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../tests/helpers/shared.js";
import { tf } from "../backend/tf.js";
import { loadRaftTask } from "../data/raft.js";
import { renderPrompt } from "../data/template.js";
import { loadTokenizer } from "../data/tokenizer.js";
import { readSafetensors } from "../io/safetensors.js";
import { readT5Config } from "../model/config.js";
import { crossKeyValues, decode, encode, lmLogits, shiftRight, type T5Model } from "../model/t5.js";
import { buildWeights } from "../model/weights.js";
import { DEMO_MODEL_DIR, DEMO_TASK_DIR, makeDemo } from "./make-demo.js";

const MODEL_FILES = [
  "README.md",
  "config.json",
  "generation_config.json",
  "model.safetensors",
  "special_tokens_map.json",
  "tokenizer.json",
  "tokenizer_config.json",
];
const TASK_FILES = ["README.md", "labels.json", "task.json", "test_unlabeled.csv", "train.csv"];

/** sha256 of every file in dir's two demo folders, by path relative to dir. */
function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const sub of [DEMO_MODEL_DIR, DEMO_TASK_DIR]) {
    for (const file of readdirSync(join(dir, sub)).sort()) {
      out[`${sub}/${file}`] = createHash("sha256")
        .update(readFileSync(join(dir, sub, file)))
        .digest("hex");
    }
  }
  return out;
}

describe("makeDemo", () => {
  let first: { modelDir: string; taskDir: string };
  let hashes: Record<string, string>;
  beforeAll(async () => {
    const out = mkdtempSync(join(tmpdir(), "tfew-demo-a-"));
    first = await makeDemo({ outDir: out });
    hashes = hashTree(out);
  });

  it("writes the model and task folders with every file, the same bytes on a second run", async () => {
    expect(readdirSync(first.modelDir).sort()).toEqual(MODEL_FILES);
    expect(readdirSync(first.taskDir).sort()).toEqual(TASK_FILES);
    const second = mkdtempSync(join(tmpdir(), "tfew-demo-b-"));
    await makeDemo({ outDir: second });
    expect(hashTree(second)).toEqual(hashes);
    expect(statSync(join(first.modelDir, "model.safetensors")).size).toBeLessThan(2 * 1024 * 1024);
  });

  it("writes config.json's float fields as floats (transformers 5.x refuses initializer_factor: 1)", () => {
    const text = readFileSync(join(first.modelDir, "config.json"), "utf8");
    expect(text).toContain('"initializer_factor": 1.0,');
    expect(text).toContain('"dropout_rate": 0.0,');
  });

  // The repo's data/ must be what the generator writes today (rerun `npm run demo:make` after changing src/demo).
  it.skipIf(!existsSync(join(REPO_ROOT, "data", "demo-model")))(
    "matches the checked-in data/demo-model and data/demo-task",
    () => {
      expect(hashTree(join(REPO_ROOT, "data"))).toEqual(hashes);
    },
  );

  it("loads with the project's tokenizer, task loader and T5 code; the forward pass gives finite logits", async () => {
    await tf.setBackend("cpu");
    const config = await readT5Config(first.modelDir);
    const { tensors, metadata } = await readSafetensors(join(first.modelDir, "model.safetensors"));
    expect(metadata).toEqual({ format: "pt" });
    const model: T5Model = {
      config,
      weights: buildWeights(config, tensors, { keepUntransposed: false, source: first.modelDir }),
    };
    const tokenizer = await loadTokenizer(first.modelDir);
    expect(config.vocabSize % 8).toBe(0);
    expect(tokenizer.vocabSize).toBeLessThanOrEqual(config.vocabSize);
    expect(config.vocabSize - tokenizer.vocabSize).toBeLessThan(8);

    const task = await loadRaftTask(first.taskDir);
    const prompts = task.train.slice(0, 3).map((e) => renderPrompt(task, e, { tokenizer, maxSeqLen: 64 }).ids);
    const choices = task.labelNames.map((name) => tokenizer.encode(name));
    for (const ids of [...prompts, ...choices]) expect(Math.max(...ids)).toBeLessThan(tokenizer.vocabSize);
    expect(Math.max(...choices.map((c) => c.length))).toBeLessThanOrEqual(8); // configs/default.yaml max_choice_len

    const [batch, numChoices] = [prompts.length, choices.length];
    const srcLen = Math.max(...prompts.map((p) => p.length));
    const tgtLen = Math.max(...choices.map((c) => c.length));
    const ids = new Int32Array(batch * srcLen);
    const mask = new Float32Array(batch * srcLen);
    prompts.forEach((p, b) => p.forEach((id, t) => ((ids[b * srcLen + t] = id), (mask[b * srcLen + t] = 1))));
    const targets = new Int32Array(batch * numChoices * tgtLen);
    for (let b = 0; b < batch; b++) choices.forEach((c, k) => targets.set(c, (b * numChoices + k) * tgtLen));
    const logits = tf.tidy(() => {
      const attentionMask = tf.tensor2d(mask, [batch, srcLen]);
      const hidden = encode(model, tf.tensor2d(ids, [batch, srcLen], "int32"), attentionMask); // [batch, src, d]
      const decoderInputIds = tf.tensor3d(
        shiftRight(targets, tgtLen, config.decoderStartTokenId),
        [batch, numChoices, tgtLen],
        "int32",
      );
      return lmLogits(
        model,
        decode(
          model,
          { crossKv: crossKeyValues(model, hidden), encoderMask: attentionMask, decoderInputIds },
          undefined,
        ),
      );
    });
    expect(logits.shape).toEqual([batch * numChoices * tgtLen, config.vocabSize]); // [rows, vocab]
    const values = logits.dataSync() as Float32Array;
    expect(values.every((x) => Number.isFinite(x))).toBe(true);
    // untied N(0, 1) head on unit-RMS hidden states: logits of order sqrt(d_model) = 8, not 0 and not huge
    const rms = Math.sqrt(values.reduce((s, x) => s + x * x, 0) / values.length);
    expect(rms).toBeGreaterThan(2);
    expect(rms).toBeLessThan(32);
    logits.dispose();
  });
});
