// The run-config schema: every setting of a tfew run, with its default (the T-Few recipe: Liu et al. 2022,
// "Few-Shot PEFT is Better and Cheaper than In-Context Learning", §3.3/Appendix) and a comment on each value.
import { z } from "zod";

// Field builders. Each carries a `.describe()` text saying what is allowed; src/config/issues.ts puts it
// into error messages ("train.steps in b.yaml must be a positive integer, got -1").
const positiveInt = () => z.number().int().positive().describe("a positive integer");
const nonNegativeInt = () => z.number().int().nonnegative().describe("an integer >= 0");
const positiveNumber = () => z.number().positive().describe("a positive number");
const nonNegativeNumber = () => z.number().nonnegative().describe("a number >= 0");
const text = () => z.string().min(1).describe("a non-empty string");
const textOrNull = () => z.string().min(1).nullable().describe("a non-empty string or null");
const textListOrNull = () =>
  z.array(z.string().min(1)).min(1).nullable().describe("a non-empty list of strings, e.g. [a, b], or null");
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values).describe(`one of ${values.map((v) => JSON.stringify(v)).join(", ")}`);
const positiveIntOrAuto = () =>
  z.union([z.number().int().positive(), z.literal("auto")]).describe('a positive integer or "auto"');

export const DataSchema = z.strictObject({
  path: text().default("data/demo-task"), // RAFT folder, raft:<task>, hf:<org>/<dataset>[/<config>], or a .csv/.jsonl/.parquet/.arrow/Label Studio .json file
  test_path: textOrNull().default(null), // file to predict/evaluate; null = the task's own test split, if any
  text_fields: textListOrNull().default(null), // input columns shown to the model; null = all but id and label
  label_field: text().default("Label"), // column holding the label (RAFT: "Label")
  target_field: textOrNull().default(null), // generative task: the column of free-text targets; null = labels
  id_field: text().default("ID"), // column holding the row id (RAFT: "ID"), copied into predictions
  labels: textListOrNull().default(null), // answer choices in label-id order; null = read from the task
  instruction: textOrNull().default(null), // sentence put before each example; null = the task's own, if any
  template: textOrNull().default(null), // input template over the text fields; null = the src/data default
  max_seq_len: positiveInt().default(256), // input tokens, longer inputs truncated; memory grows with it
  max_choice_len: positiveInt().default(32), // answer-choice / target (decoder) tokens, longer ones truncated
});

/** data.* keys a task entry may override (no defaults: an absent key takes the run's data.* value). */
const dataOverrides = Object.fromEntries(
  Object.entries(DataSchema.shape).map(([key, field]) => [key, (field as z.ZodDefault<z.ZodType>).unwrap().optional()]),
);

/** One entry of data.tasks: a task of a multi-task run. */
export interface TaskEntry extends Partial<z.output<typeof DataSchema>> {
  name: string; // names the task's vector set, adapter/<name>/ and its metrics
  path: string; // its data, as data.path
  weight: number; // sampling weight: batches draw tasks in proportion to weight × examples
}

const TaskEntrySchema = z.strictObject({
  ...dataOverrides,
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
    .describe("a task name of letters, digits, '.', '_' or '-'"),
  path: text(),
  weight: positiveNumber().default(1),
}) as unknown as z.ZodType<TaskEntry>;

export const MultiDataSchema = DataSchema.extend({
  // multi-task run: [{name, path, weight?, ...any data.* key}]; null = one task (data.path)
  tasks: z
    .array(TaskEntrySchema)
    .min(1)
    .nullable()
    .describe("a list of tasks [{name, path, weight?, ...data keys}] or null")
    .default(null),
}).superRefine((data, ctx) => {
  const seen = new Set<string>();
  for (const task of data.tasks ?? []) {
    if (seen.has(task.name))
      ctx.addIssue({
        code: "custom",
        path: ["tasks"],
        message: `names the task ${JSON.stringify(task.name)} twice; give each task a unique name`,
      });
    seen.add(task.name);
  }
});

export const AdapterSchema = z
  .strictObject({
    // layer names to rescale, e.g. [k, v, wo]; null = per-model-type table (PEFT's)
    target_modules: textListOrNull().default(null),
    // targets whose INPUT is scaled (feed-forward); null = per-model-type table
    feedforward_modules: textListOrNull().default(null),
    // name of the run's one (IA)³ vector set (one task, or routing: shared); internal: no file, tensor or log
    // line carries it (PEFT's adapter_config.json has no name field); multi-task sets take data.tasks names
    task_name: text().default("default"),
    init_from: textOrNull().default(null), // adapter folder to start from; null = vectors of ones (identity)
    // multi-task runs: task = one vector set per task, each example routed to its task's; shared = all tasks
    // train ONE set ((IA)³ multitask pre-training); smear = experts mixed per example by learned routers
    routing: oneOf(["task", "shared", "smear"] as const).default("task"),
    // smear: expert adapter folders to start from, or a count of experts at identity; null = one per task
    experts: z
      .union([z.array(z.string().min(1)).min(1), z.number().int().min(2)])
      .nullable()
      .describe("a list of adapter folders, an integer >= 2, or null")
      .default(null),
  })
  .superRefine((adapter, ctx) => {
    // PEFT's IA3Config.__post_init__: every feed-forward module must also be a target module.
    const { target_modules: targets, feedforward_modules: feedforward } = adapter;
    if (targets === null || feedforward === null) return;
    const outside = feedforward.filter((name) => !targets.includes(name));
    if (outside.length === 0) return;
    ctx.addIssue({
      code: "custom",
      path: ["feedforward_modules"],
      message:
        `must be a subset of adapter.target_modules (PEFT's rule), ` +
        `got ${outside.map((name) => JSON.stringify(name)).join(", ")} not in [${targets.join(", ")}]`,
    });
  });

export const TrainSchema = z.strictObject({
  steps: positiveInt().default(1000), // optimizer updates; T-Few: 1000
  batch_size: positiveInt().default(8), // examples per optimizer update; T-Few: 8
  // examples per forward/backward; gradients accumulate up to batch_size, so smaller = less memory but slower;
  // auto = the largest that fits
  micro_batch_size: positiveIntOrAuto().default("auto"),
  lr: positiveNumber().default(3e-3), // peak learning rate; T-Few (IA)³: 3e-3
  // T-Few: Adafactor with an external lr (no relative step, no parameter scaling); adamw for comparison
  optimizer: oneOf(["adafactor", "adamw"] as const).default("adafactor"),
  // decoupled decay; pulls the (IA)³ vectors toward 0, not the identity 1, so keep 0
  weight_decay: nonNegativeNumber().default(0),
  // fraction of steps with linear warmup, then linear decay to 0; T-Few: 0.06
  warmup_ratio: nonNegativeNumber().lt(1).describe("a number in [0, 1)").default(0.06),
  // global-norm gradient clip; null = no clipping
  max_grad_norm: positiveNumber().nullable().describe("a positive number or null").default(1.0),
  // α in choice score = Σ log p / lengthᵅ; 0 = raw sum, 1 = per-token mean (T-Few)
  length_norm: nonNegativeNumber().default(1),
  ul_weight: nonNegativeNumber().default(1), // weight of the unlikelihood loss on wrong choices (T-Few L_UL); 0 = off
  ln_weight: nonNegativeNumber().default(1), // weight of the length-normalized choice loss (T-Few L_LN); 0 = off
  checkpoint_every: positiveInt().default(100), // optimizer steps between adapter checkpoints (each is a few KB)
  log_every: positiveInt().default(1), // optimizer steps between progress lines / metrics.jsonl rows
  // true = skip an update whose loss or gradients are NaN/Inf (counted in logs); false = stop with an error
  skip_nonfinite: z.boolean().describe("true or false").default(false),
});

export const EvalSchema = z.strictObject({
  length_norm: nonNegativeNumber().default(1), // α for rank classification, as train.length_norm; T-Few: 1
  batch_size: positiveInt().default(16), // examples per eval forward pass; larger = faster, more memory
  // answer choices scored per decoder pass; bounds memory for many-label tasks
  choice_chunk: positiveInt().default(32),
});

// `tfew generate` (src/generate): defaults are transformers' GenerationConfig defaults unless marked tfew's
export const GenerateSchema = z.strictObject({
  // greedy (do_sample false, num_beams 1) | beam | sample (do_sample true) | mbr (minimum Bayes risk)
  strategy: oneOf(["greedy", "beam", "sample", "mbr"] as const).default("greedy"),
  // tokens after the decoder start token; null = transformers' max_length 20, i.e. 19 new tokens for T5
  max_new_tokens: positiveInt().nullable().describe("a positive integer or null").default(null),
  min_new_tokens: nonNegativeInt().default(0), // </s> is blocked until this many tokens were generated
  num_beams: positiveInt().default(1), // beams per input (beam, and mbr from beam); 1 = transformers' default
  length_penalty: z.number().describe("a number").default(1), // beam score = Σ log p / length^length_penalty
  // beam: true = stop when num_beams hypotheses are done; false = transformers' heuristic; never = canonical
  early_stopping: z
    .union([z.boolean(), z.literal("never")])
    .describe('true, false or "never"')
    .default(false),
  num_return_sequences: positiveInt().default(1), // hypotheses returned per input (beam: <= num_beams; sample)
  temperature: positiveNumber().default(1), // sample: logits are divided by it (< 1 sharper, > 1 flatter)
  top_k: nonNegativeInt().default(50), // sample: keep the k most likely tokens; 0 = off
  top_p: positiveNumber().max(1).describe("a number in (0, 1]").default(1), // sample: nucleus mass; 1 = off
  repetition_penalty: positiveNumber().default(1), // tokens already present: logit / p if > 0, else · p; 1 = off
  no_repeat_ngram_size: nonNegativeInt().default(0), // n-grams of this size never repeat; 0 = off
  mbr_candidates: z.number().int().min(2).describe("an integer >= 2").default(8), // tfew's: candidates per input
  mbr_candidates_from: oneOf(["sample", "beam"] as const).default("sample"), // tfew's: where MBR's candidates come from
  mbr_utility: oneOf(["chrf", "bleu", "rouge-l"] as const).default("chrf"), // tfew's: MBR's utility u(y_i, y_j)
  batch_size: positiveInt().default(16), // tfew's: inputs per decoder session (as eval.batch_size)
  eos_token_id: nonNegativeInt().nullable().describe("a token id or null").default(null), // null = the model's
});

export const MonitorSchema = z.strictObject({
  gpu: oneOf(["auto", "off"] as const).default("auto"), // auto = sample nvidia-smi when it exists; off = never
  // GPU sampling period in ms; shorter = finer plots, more overhead
  interval_ms: z.number().int().min(100).describe("an integer >= 100").default(1000),
  // accelerator peak TFLOP/s for MFU; null = from the GPU name if known, else no MFU
  peak_tflops: positiveNumber().nullable().describe("a positive number or null").default(null),
});

export const RunConfigSchema = z.strictObject({
  // local folder (config.json + weights) or a Hugging Face hub id, e.g. google/flan-t5-small
  model: text().default("data/demo-model"),
  revision: text().default("main"), // hub branch, tag or commit; ignored for local folders
  tokenizer: textOrNull().default(null), // folder with tokenizer.json; null = the model folder
  // TF.js backend; auto = tensorflow on a CUDA GPU; on CPU tensorflow from 20M parameters when tfjs-node is installed, else wasm; then cpu
  backend: oneOf(["auto", "tensorflow", "wasm", "cpu", "webgpu"] as const).default("auto"),
  seed: nonNegativeInt().default(42), // seeds data shuffling and sampling; same seed + config = same run
  // worker threads of train, eval, predict, audit and Fisher merging on the wasm / cpu backends (tensorflow and
  // webgpu use 1: they parallelize inside); auto = one per CPU core, fewer leaves room on shared hosts.
  // Formerly train.workers, still read with a deprecation warning (src/config/aliases.ts).
  workers: positiveIntOrAuto().default("auto"),
  data: MultiDataSchema.prefault({}),
  adapter: AdapterSchema.prefault({}),
  train: TrainSchema.prefault({}),
  eval: EvalSchema.prefault({}),
  generate: GenerateSchema.prefault({}),
  monitor: MonitorSchema.prefault({}),
  out: textOrNull().default(null), // run directory; null = runs/<UTC timestamp>
});

/** A validated run config: every key present, defaults filled in. */
export type RunConfig = z.output<typeof RunConfigSchema>;
