// `npm run demo:make`: writes the embedded demo, data/demo-model (a tiny random T5 with its own tokenizer, in
// Hugging Face layout) and data/demo-task (synthetic support tickets, RAFT layout). Same bytes on every run.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.js";
import { hfConfigJson } from "../io/hf-config.js";
import { writeSafetensors } from "../io/safetensors.js";
import { countParameters } from "../model/config.js";
import { demoCorpus, generateDemoTask, labelsJson, taskJson, toCsv, type DemoTask } from "./demo-task.js";
import { SPECIAL_TOKENS, buildUnigramTokenizer } from "./tokenizer-builder.js";
import { generationConfigJson, initTinyT5Weights, tinyT5Config, tinyT5ConfigJson } from "./tiny-t5.js";

export const DEMO_MODEL_DIR = "demo-model";
export const DEMO_TASK_DIR = "demo-task";
const TASK_SEED = 20240611; // ticket texts and label order
const WEIGHT_SEED = 42; // model initialisation
const TRAIN_ROWS = 60; // 20 per label
const TEST_ROWS = 100;

export interface MakeDemoOptions {
  /** The folder the demo folders go into (the repo's data/). */
  outDir: string;
}

/** The demo task as makeDemo writes it (test rows keep their labels here, for checks). */
export function demoTask(): DemoTask {
  return generateDemoTask({ seed: TASK_SEED, trainRows: TRAIN_ROWS, testRows: TEST_ROWS });
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

function modelReadme(vocab: number, tokenizerVocab: number, params: number): string {
  return `# demo-model: a tiny random T5 (generated, not trained)

Made by \`npm run demo:make\` (src/demo/make-demo.ts); the same bytes on every run. Do not edit by hand.

- Architecture: T5 v1.1 style (gated-gelu, untied LM head), d_model 64, 4 heads × d_kv 16, d_ff 128,
  2 encoder + 2 decoder layers, ${params} parameters.
- Weights: **random**, initialised like transformers \`T5PreTrainedModel._init_weights\` (factor 1.0) from a fixed
  seed. The model knows no language; it exists so that \`npx tfew train\` runs end to end in seconds and its
  (IA)³ loss visibly falls on data/demo-task.
- Tokenizer: a Unigram tokenizer.json in T5's format built from the demo task's words: <pad>=0, </s>=1, <unk>=2,
  "▁"-prefixed whole words and single ASCII characters; ${tokenizerVocab} pieces (vocab_size ${vocab}, rounded up
  to a multiple of 8).
`;
}

function taskReadme(task: DemoTask): string {
  return `# demo-task: synthetic support tickets (generated)

Made by \`npm run demo:make\` (src/demo/demo-task.ts) from templates and a fixed seed; the same bytes on every run.

RAFT layout (as oughtinc/raft-baselines data/<task>/): train.csv (${task.textField}, Label, ID; ${task.train.length}
labelled rows), test_unlabeled.csv (${task.textField}, ID; ${task.test.length} rows, IDs continue from ${task.train.length}),
task.json and labels.json. Labels: ${task.labels.map((l) => `"${l}"`).join(", ")}.

A few train rows exercise the CSV loader: a multi-line quoted field (ID 0), escaped quotes (ID 1), a value
starting with a space (ID 2) and a label written after a space (ID 3).
`;
}

/** Writes data/demo-model and data/demo-task under `outDir`; returns their paths. */
export async function makeDemo(options: MakeDemoOptions): Promise<{ modelDir: string; taskDir: string }> {
  const modelDir = join(options.outDir, DEMO_MODEL_DIR);
  const taskDir = join(options.outDir, DEMO_TASK_DIR);
  await mkdir(modelDir, { recursive: true });
  await mkdir(taskDir, { recursive: true });

  const task = demoTask();
  await writeFileAtomic(join(taskDir, "train.csv"), toCsv(task, "train"));
  await writeFileAtomic(join(taskDir, "test_unlabeled.csv"), toCsv(task, "test"));
  await writeFileAtomic(join(taskDir, "task.json"), taskJson(task));
  await writeFileAtomic(join(taskDir, "labels.json"), labelsJson(task));
  await writeFileAtomic(join(taskDir, "README.md"), taskReadme(task));

  const tokenizer = buildUnigramTokenizer({ corpus: demoCorpus(task) });
  const tokenizerVocab = tokenizer.model.vocab.length;
  const config = tinyT5Config({ tokenizerVocabSize: tokenizerVocab });
  await writeFileAtomic(join(modelDir, "tokenizer.json"), json(tokenizer));
  const [pad, eos, unk] = SPECIAL_TOKENS;
  await writeFileAtomic(
    join(modelDir, "special_tokens_map.json"),
    json({ eos_token: eos, pad_token: pad, unk_token: unk }),
  );
  await writeFileAtomic(
    join(modelDir, "tokenizer_config.json"),
    json({
      additional_special_tokens: [],
      clean_up_tokenization_spaces: true,
      eos_token: eos,
      extra_ids: 0,
      legacy: true,
      model_max_length: 512,
      pad_token: pad,
      tokenizer_class: "T5Tokenizer",
      unk_token: unk,
    }),
  );
  await writeFileAtomic(
    join(modelDir, "config.json"),
    hfConfigJson(tinyT5ConfigJson({ tokenizerVocabSize: tokenizerVocab })), // 1.0 stays 1.0 (transformers 5.x)
  );
  await writeFileAtomic(join(modelDir, "generation_config.json"), json(generationConfigJson()));
  await writeSafetensors(join(modelDir, "model.safetensors"), initTinyT5Weights(config, WEIGHT_SEED), { format: "pt" });
  await writeFileAtomic(
    join(modelDir, "README.md"),
    modelReadme(config.vocabSize, tokenizerVocab, countParameters(config).total),
  );
  return { modelDir, taskDir };
}
