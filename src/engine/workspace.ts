// The Workspace (a loaded model: backend, model source, frozen T5, tokenizer) that train, eval, audit and merge
// share, and what is built against it: the task, T-Few examples and (IA)³ adapters loaded onto the model.
import { createVectorSet, ia3Specs, linearModules, type Ia3VectorSet } from "../adapters/ia3.js";
import { checkAdapterFits, readAdapter } from "../adapters/peft-adapter.js";
import { firstExpertDir, loadSmear } from "../adapters/smear-files.js";
import type { AdapterVectors } from "../adapters/trainable.js";
import { deviceFreeBytes, hostAvailableBytes } from "../backend/device-memory.js";
import { selectBackend, type BackendChoice } from "../backend/select.js";
import type { RunConfig } from "../config/schema.js";
import { answerChoices, renderPrompt } from "../data/template.js";
import type { Example, TaskData } from "../data/task-types.js";
import { loadTask } from "../data/task.js";
import { loadTokenizer, type T5Tokenizer } from "../data/tokenizer.js";
import { TfewError } from "../errors.js";
import { resolveDatasetFiles, resolveModelSource, type ModelSource } from "../io/hub.js";
import { adapterLayout } from "../io/run-dir.js";
import { countParameters, readT5Config } from "../model/config.js";
import { loadT5, type LoadedModel } from "../model/load.js";
import type { TfewExample } from "./batch.js";
import { choiceTokenIds } from "./choices.js";
import type { ExampleShape } from "./memory.js";

/**
 * A Workspace is one loaded model, made once by prepareModel and shared by train, eval / predict / score, audit
 * and Fisher merging: the backend, where the model came from, its frozen weights, its tokenizer and (GPU) the
 * free memory before it loaded. Tasks, examples and adapters are not part of it: they are built against it per
 * use (prepareTask, buildExamples, loadAdapter).
 */
export interface Workspace {
  backend: BackendChoice;
  source: ModelSource;
  model: LoadedModel;
  tokenizer: T5Tokenizer;
  /** GPU backends: the device's free memory before the model loaded (nvidia-smi), for sizing; else null */
  deviceFreeBytes: number | null;
  /** CPU engines without a device (tensorflow on a CPU host, cpu): host memory available before the weights loaded */
  hostFreeBytes: number | null;
}

export async function prepareModel(
  config: RunConfig,
  options: { backend?: BackendChoice; log: (line: string) => void },
): Promise<Workspace> {
  const source = await resolveModelSource(config.model, { revision: config.revision });
  // auto's CPU choice depends on the model's size: read its config.json before the backend starts
  const parameters = options.backend ? null : countParameters(await readT5Config(source.dir)).total;
  const backend = options.backend ?? (await selectBackend(config.backend, process.env, undefined, { parameters }));
  const tokenizerDir = config.tokenizer ?? source.dir;
  const tokenizer = await loadTokenizer(tokenizerDir);
  const onGpu = backend.name === "tensorflow" || backend.name === "webgpu";
  const deviceFree = onGpu ? await deviceFreeBytes() : null; // before the weights take their share
  const hostFree =
    deviceFree === null && backend.name !== "wasm" && backend.name !== "webgpu" ? hostAvailableBytes() : null;
  const model = await loadT5(source.dir, backend);
  if (tokenizer.vocabSize > model.config.vocabSize) {
    throw new TfewError(
      `tokenizer in ${tokenizerDir} has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${model.config.vocabSize}; use the model's own tokenizer`,
    );
  }
  // printed once the model has loaded, so that a bad model is a single error line
  options.log(`backend: ${backend.name} (${backend.reason})`);
  options.log(
    `model: ${config.model} (${source.kind}${source.commit ? ` @ ${source.commit.slice(0, 12)}` : ""}) from ${source.dir}`,
  );
  return { backend, source, model, tokenizer, deviceFreeBytes: deviceFree, hostFreeBytes: hostFree };
}

export async function prepareTask(config: RunConfig): Promise<TaskData> {
  const d = config.data;
  return loadTask(
    {
      path: d.path,
      labels: d.labels ?? undefined,
      instruction: d.instruction ?? undefined,
      textFields: d.text_fields ?? undefined,
      labelField: d.label_field,
      idField: d.id_field,
      testPath: d.test_path ?? undefined,
      targetField: d.target_field ?? undefined,
    },
    { resolveDataset: (repoId, files) => resolveDatasetFiles(repoId, files) },
  );
}

export interface ExampleSet {
  examples: TfewExample[];
  truncated: number; // prompts whose text fields were cut to max_seq_len
  truncatedTargets: number; // generative tasks: targets cut to max_choice_len tokens
}

/**
 * Renders and tokenizes examples; choices are the label names (each cut to max_choice_len, keeping </s>). A
 * generative task's example has one choice, its target's tokens (label 0: the LM loss trains it), or none (label
 * −1) when the row has no target.
 */
export function buildExamples(
  task: TaskData,
  rows: readonly Example[],
  tokenizer: T5Tokenizer,
  config: RunConfig,
): ExampleSet {
  const generative = task.targetField !== undefined;
  const choiceIds = generative ? [] : choiceTokenIds(answerChoices(task), tokenizer, config.data.max_choice_len);
  const maxTarget = config.data.max_choice_len;
  let truncated = 0;
  let truncatedTargets = 0;
  const examples = rows.map((row) => {
    const prompt = renderPrompt(task, row, {
      tokenizer,
      maxSeqLen: config.data.max_seq_len,
      template: config.data.template ?? undefined,
    });
    if (prompt.truncatedFields.length > 0) truncated++;
    if (!generative) return { inputIds: prompt.ids, choices: choiceIds, label: row.label ?? -1 };
    if (row.target === undefined) return { inputIds: prompt.ids, choices: [], label: -1 };
    const ids = tokenizer.encode(row.target);
    if (ids.length > maxTarget) truncatedTargets++;
    const target = ids.length <= maxTarget ? ids : [...ids.slice(0, maxTarget - 1), tokenizer.eosId];
    return { inputIds: prompt.ids, choices: [target], label: 0 };
  });
  return { examples, truncated, truncatedTargets };
}

/** Loads an adapter folder for eval/predict/score: a PEFT IA3 folder or a SMEAR adapter (null = zero-shot). */
export async function loadAdapter(ws: Workspace, adapterDir: string | null): Promise<AdapterVectors | null> {
  if (adapterDir === null || (await adapterLayout(adapterDir)) !== "smear") return loadAdapterSet(ws, adapterDir);
  const first = await readAdapter(await firstExpertDir(adapterDir)); // its target modules
  return loadSmear(adapterDir, ws.model.weights, first.config);
}

/** Loads an adapter folder into a vector set for this model (null = zero-shot). */
export async function loadAdapterSet(ws: Workspace, adapterDir: string | null): Promise<Ia3VectorSet | null> {
  if (adapterDir === null) return null;
  const adapter = await readAdapter(adapterDir);
  // checked before building: a wrong-sized vector must be a TfewError, not a tf shape error
  checkAdapterFits(adapter, ia3Specs(linearModules(ws.model.weights), adapter.config), adapterDir);
  return createVectorSet("eval", ws.model.weights, adapter.config, adapter.values);
}

/** What memory sizing (memory.ts) needs of the Workspace: backend, model shapes and size, the GPU's free memory. */
export function sizingOf(
  ws: Pick<Workspace, "backend" | "model" | "deviceFreeBytes"> & Partial<Pick<Workspace, "hostFreeBytes">>,
): {
  backend: string;
  config: Workspace["model"]["config"];
  parameterCount: number;
  deviceFreeBytes: number | null;
  hostFreeBytes: number | null;
} {
  return {
    backend: ws.backend.name,
    config: ws.model.config,
    parameterCount: countParameters(ws.model.config).total,
    deviceFreeBytes: ws.deviceFreeBytes,
    hostFreeBytes: ws.hostFreeBytes ?? null,
  };
}

/** What memory sizing needs of each example. */
export function exampleShapes(examples: readonly { inputIds: number[]; choices: number[][] }[]): ExampleShape[] {
  return examples.map((e) => ({
    srcLen: e.inputIds.length,
    numChoices: e.choices.length,
    tgtLen: Math.max(...e.choices.map((c) => c.length)),
  }));
}
