// Benchmark entry (scripts, not tests): `node dist/bench/main.js prepare | forward | train | compare | generate
// [--no-torch]`.
// Prints a table and writes bench-results/<name>.json.
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { selectBackend } from "../backend/select.js";
import { tf } from "../backend/tf.js";
import { loadRunConfig } from "../config/load.js";
import { loadT5 } from "../model/load.js";
import { crossKeyValues, decode, encode, lmLogits } from "../model/t5.js";
import { runTraining } from "../train/run.js";
import { runCompare } from "./compare.js";
import { runLarge } from "./large.js";
import { compareTable } from "./compare-table.js";
import { generateBenchTable, runGenerateBench } from "./generate-bench.js";
import { isBenchShape, BENCH_SHAPES, type BenchShape } from "./shapes.js";
import { ensureRandomModel, T5_SMALL_SHAPE } from "./random-model.js";
import { ensureBenchTask } from "./tasks.js";

const ROOT = resolve(fileURLToPath(import.meta.url), "..", "..", "..");
const log = (line: string) => process.stderr.write(`${line}\n`);

async function forwardTokensPerSecond(
  modelDir: string,
  shape: { batch: number; src: number; tgt: number },
  reps: number,
): Promise<number> {
  const backend = await selectBackend("wasm");
  const model = await loadT5(modelDir, backend);
  const run = () =>
    tf.tidy(() => {
      const ids = tf.fill([shape.batch, shape.src], 5, "int32") as tf.Tensor2D;
      const mask = tf.ones([shape.batch, shape.src]) as tf.Tensor2D;
      const h = encode(model, ids, mask);
      const hidden = decode(model, {
        crossKv: crossKeyValues(model, h),
        encoderMask: mask,
        decoderInputIds: tf.fill([shape.batch, 1, shape.tgt], 7, "int32") as tf.Tensor3D,
      });
      lmLogits(model, hidden).dataSync();
    });
  run(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) run();
  const seconds = (performance.now() - t0) / 1000 / reps;
  return (shape.batch * (shape.src + shape.tgt)) / seconds;
}

async function main(argv: string[]): Promise<void> {
  const which = argv[0] ?? "compare";
  const benchDir = join(ROOT, "bench-results");
  await mkdir(benchDir, { recursive: true });
  const small = await ensureRandomModel(join(benchDir, "models", "t5-small-random"), {
    shape: T5_SMALL_SHAPE,
    tokenizerDir: join(ROOT, "data", "demo-model"),
    seed: 0,
  });
  if (which === "prepare") {
    const task = await ensureBenchTask(join(benchDir, "tasks"), { labels: 2, rows: 64, words: 400, seed: 1 });
    process.stdout.write(`model: ${small}\ntask: ${task}\n`);
  } else if (which === "forward") {
    const gold = join(ROOT, "tests", "fixtures", "hf-reference", "t5-tiny-gated");
    const rows = [
      {
        model: "gold tiny T5 (d 32, 2+2 layers, vocab 32128)",
        tokens_per_s: await forwardTokensPerSecond(gold, { batch: 8, src: 64, tgt: 8 }, 10),
        shape: "8 × (64 + 8)",
      },
      {
        model: "random T5-small shape",
        tokens_per_s: await forwardTokensPerSecond(small, { batch: 4, src: 256, tgt: 32 }, 3),
        shape: "4 × (256 + 32)",
      },
    ];
    for (const r of rows)
      process.stdout.write(`forward, wasm, ${r.model}, batch ${r.shape}: ${r.tokens_per_s.toFixed(0)} tokens/s\n`);
    await writeFile(
      join(benchDir, "forward.json"),
      `${JSON.stringify({ date: new Date().toISOString(), rows }, null, 2)}\n`,
    );
  } else if (which === "train") {
    const task = await ensureBenchTask(join(benchDir, "tasks"), { labels: 2, rows: 64, words: 400, seed: 1 });
    const rows = [];
    for (const [name, model, data, seq, steps] of [
      ["demo tiny T5", join(ROOT, "data", "demo-model"), join(ROOT, "data", "demo-task"), 64, 11],
      ["random T5-small shape", small, task, 256, 4],
    ] as const) {
      const { config } = loadRunConfig({
        files: [],
        sets: [
          `model=${model}`,
          `data.path=${data}`,
          `data.max_seq_len=${seq}`,
          `train.steps=${steps}`,
          "train.checkpoint_every=100000",
          "backend=wasm",
          "monitor.gpu=off",
          `out=${join(benchDir, "runs", `train-${seq}`)}`,
        ],
      });
      const s = await runTraining({ config, runDir: config.out as string, resume: false, log });
      rows.push({
        model: name,
        seq,
        s_per_step: s.s_per_step,
        examples_per_s: s.examples_per_s,
        tokens_per_s: s.s_per_step ? (8 * seq) / s.s_per_step : null,
        workers: s.workers,
        micro_batch_size: s.micro_batch_size,
      });
      process.stdout.write(
        `train, wasm, ${name}, batch 8 × ${seq}, 2-3 choices: ${s.s_per_step?.toFixed(3)} s/step, ${s.examples_per_s?.toFixed(2)} examples/s (${s.workers} workers)\n`,
      );
    }
    await writeFile(
      join(benchDir, "train.json"),
      `${JSON.stringify({ date: new Date().toISOString(), rows }, null, 2)}\n`,
    );
  } else if (which === "compare") {
    const r = await runCompare({
      root: ROOT,
      shape: shapeArg(argv),
      backend: flag(argv, "--backend") ?? "wasm",
      trainSteps: Number(process.env.TFEW_BENCH_STEPS ?? 3),
      evalExamples: Number(process.env.TFEW_BENCH_EVAL ?? 16),
      workers: flag(argv, "--workers") === undefined ? "auto" : Number(flag(argv, "--workers")),
      torch: !argv.includes("--no-torch"),
      pythons: flags(argv, "--python"),
      log,
    });
    process.stdout.write(compareTable(r));
    process.stdout.write(`\nwritten: bench-results/compare.json\n`);
  } else if (which === "large") {
    const mode = flag(argv, "--mode") === "eval" ? "eval" : "train";
    const r = await runLarge({
      root: ROOT,
      shape: shapeArg(argv),
      backend: flag(argv, "--backend") ?? "tensorflow",
      mode,
      steps: Number(flag(argv, "--steps") ?? 2),
      log,
    });
    process.stdout.write(`${JSON.stringify(r)}\n`);
  } else if (which === "generate") {
    const r = await runGenerateBench({
      root: ROOT,
      modelDir: small,
      backend: flag(argv, "--backend") ?? "wasm",
      batch: Number(process.env.TFEW_BENCH_BATCH ?? 4),
      srcLen: Number(process.env.TFEW_BENCH_SRC ?? 64),
      newTokens: Number(process.env.TFEW_BENCH_NEW_TOKENS ?? 32),
      reps: Number(process.env.TFEW_BENCH_REPS ?? 3),
      torch: !argv.includes("--no-torch"),
      log,
    });
    process.stdout.write(generateBenchTable(r));
    await writeFile(
      join(benchDir, "generate.json"),
      `${JSON.stringify({ date: new Date().toISOString(), ...r }, null, 2)}\n`,
    );
    process.stdout.write(`\nwritten: bench-results/generate.json\n`);
  } else {
    throw new Error(`unknown benchmark ${which}; use prepare, forward, train, compare or generate`);
  }
}

function flags(argv: readonly string[], name: string): string[] {
  return argv.flatMap((a, i) => (a === name && argv[i + 1] !== undefined ? [argv[i + 1] as string] : []));
}

function flag(argv: readonly string[], name: string): string | undefined {
  return flags(argv, name).at(-1);
}

function shapeArg(argv: readonly string[]): BenchShape {
  const shape = flag(argv, "--shape") ?? "t5-small";
  if (!isBenchShape(shape)) throw new Error(`--shape ${shape}: use one of ${Object.keys(BENCH_SHAPES).join(", ")}`);
  return shape;
}

await main(process.argv.slice(2));
