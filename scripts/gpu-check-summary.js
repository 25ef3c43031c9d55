// Last step of scripts/gpu-check.sh: reads the check's folder (stages.tsv, facts.tsv, nvidia-smi.csv, gold-*.json,
// train-*/summary.json, torch.json and the logs) and writes ONE JSON summary, gpu-check.json; prints a table.
//   node scripts/gpu-check-summary.js OUT_DIR        (format "tfew-gpu-check/1", README "GPU check")
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const read = (path) => (existsSync(path) ? readFileSync(path, "utf8") : null);
const json = (path) => {
  try {
    return JSON.parse(read(path) ?? "null");
  } catch {
    return null;
  }
};
const tsv = (text) => (text ?? "").split("\n").filter((l) => l.trim() !== "").map((l) => l.split("\t"));
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** Why a stage gave no result: its time limit, the CLI's one-line error, or the log's last line. */
function failure(stage, log) {
  if (stage === undefined) return "not run";
  if (stage.exit_code === -1) return "skipped: no time left in TOTAL_S";
  if (stage.exit_code === 124 || stage.exit_code === 137) return `stopped at its ${stage.limit_s} s limit`;
  const lines = (log ?? "").split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return lines.find((l) => /^tfew: (error|internal error):/.test(l)) ?? lines.at(-1) ?? `exit code ${stage.exit_code}`;
}

const mib = (text) => (/^\d+(\.\d+)?$/.test(text ?? "") ? Number(text) : null); // "[N/A]" → null

function gpus(csv) {
  return tsv((csv ?? "").replaceAll(", ", "\t")).filter((f) => f.length >= 5).map(([index, name, driver, total, used]) => ({
    index: Number(index), name, driver, memory_total_mib: mib(total), memory_used_mib: mib(used),
  }));
}

function gold(dir, backend, stage) {
  const r = json(join(dir, `gold-${backend}.json`));
  if (r === null) return { ok: false, pass: null, error: failure(stage, read(join(dir, `gold-${backend}.log`))), seconds: stage?.seconds ?? null };
  const pick = ["logits_max_abs", "loss_rel", "ia3_grad_rel", "tfew_loss_rel", "tfew_grad_rel"];
  return { ok: true, pass: r.pass === true, ...Object.fromEntries(pick.map((k) => [k, num(r[k])])), tolerance: r.tolerance ?? null, error: null, seconds: num(r.seconds) };
}

function train(dir, backend, stage) {
  if (stage === undefined) return null;
  const s = json(join(dir, `train-${backend}`, "summary.json"));
  if (s === null) return { ok: false, error: failure(stage, read(join(dir, `train-${backend}.log`))) };
  return {
    ok: true, steps: s.steps, device: s.device ?? null, s_per_step: num(s.s_per_step), s_per_step_median: num(s.s_per_step_median),
    examples_per_s: num(s.examples_per_s), gpu_util_mean_pct: num(s.gpu?.utilization_mean_pct), gpu_memory_peak_mib: num(s.gpu?.memory_peak_mib),
    mfu: num(s.mfu), micro_batch_size: s.micro_batch_size ?? null, error: null,
  };
}

function torch(dir, stage, facts) {
  if (stage === undefined) return { ok: false, error: facts.torch_skipped ?? "not run" };
  const t = json(join(dir, "torch.json"));
  if (t === null || typeof t.train !== "object") return { ok: false, error: failure(stage, read(join(dir, "torch.log"))) };
  return { ok: true, device: t.device ?? "cuda", torch_version: t.torch_version ?? null, share_cross_kv: t.share_cross_kv ?? null, s_per_step: num(t.train.s_per_step), examples_per_s: num(t.train.examples_per_s), error: null };
}

/** The summary object of a gpu-check folder (exported for tests). */
export function summarize(dir, options = {}) {
  const stages = tsv(read(join(dir, "stages.tsv"))).map(([name, rc, s, limit]) => ({ name, exit_code: Number(rc), seconds: Number(s), limit_s: Number(limit) }));
  const stageOf = (name) => stages.find((s) => s.name === name);
  const facts = Object.fromEntries(tsv(read(join(dir, "facts.tsv"))));
  const names = stages.filter((s) => s.name.startsWith("gold-")).map((s) => s.name.slice(5));
  const reference = torch(dir, stageOf("torch"), facts);
  const backends = {};
  for (const name of names) {
    const t = train(dir, name, stageOf(`train-${name}`));
    const ratio = reference.s_per_step !== null && reference.ok && t?.s_per_step ? reference.s_per_step / t.s_per_step : null;
    backends[name] = { gold: gold(dir, name, stageOf(`gold-${name}`)), train: t, torch_ratio: ratio };
  }
  if (facts.tensorflow_cpu_only === "true" && backends.tensorflow) backends.tensorflow.gold.error = "TensorFlow ran on the CPU: no GPU device (CUDA/cuDNN libraries missing or too old for this GPU)";
  const pass = Object.values(backends).some((b) => b.gold.pass === true && b.train?.ok === true);
  return {
    format: "tfew-gpu-check/1",
    date: options.date ?? new Date().toISOString(),
    host: options.host ?? hostname(),
    layout: facts.layout ?? null,
    node: facts.node ?? null,
    config: facts.config ?? null,
    steps: facts.steps === undefined ? null : Number(facts.steps),
    gpus: gpus(read(join(dir, "nvidia-smi.csv"))),
    vulkan: { loader: facts.vulkan_loader ?? null, driver_manifest: facts.vulkan_icd || null, manifest_written: facts.vulkan_icd_written !== undefined },
    backends,
    torch: reference,
    stages,
    elapsed_s: stages.reduce((n, s) => n + s.seconds, 0),
    pass,
  };
}

function table(summary) {
  const f = (v, d, unit = "") => (v === null || v === undefined ? "-" : `${v.toFixed(d)}${unit}`);
  const e = (v) => (v === null || v === undefined ? "-" : v.toExponential(2));
  const rows = [["", ...Object.keys(summary.backends)]];
  const add = (label, get) => rows.push([label, ...Object.values(summary.backends).map(get)]);
  add("gold check", (b) => (b.gold.ok ? (b.gold.pass ? "PASS" : "FAIL") : "not run"));
  add("logits max-abs", (b) => e(b.gold.logits_max_abs));
  add("(IA)3 grad rel", (b) => e(b.gold.ia3_grad_rel));
  add("T-Few grad rel", (b) => e(b.gold.tfew_grad_rel));
  add("s/step", (b) => f(b.train?.s_per_step, 3));
  add("examples/s", (b) => f(b.train?.examples_per_s, 2));
  add("GPU util mean", (b) => f(b.train?.gpu_util_mean_pct, 1, " %"));
  add("MFU", (b) => f(b.train?.mfu === null || b.train?.mfu === undefined ? null : b.train.mfu * 100, 2, " %"));
  add("PyTorch s/step", () => f(summary.torch.s_per_step, 3));
  add("ratio (>1: tfew faster)", (b) => f(b.torch_ratio, 2));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const lines = rows.map((r) => r.map((c, i) => String(c).padEnd(widths[i])).join("  ").trimEnd());
  for (const [name, b] of Object.entries(summary.backends)) {
    const error = b.gold.error ?? b.train?.error;
    if (error) lines.push(`${name}: ${error}`);
  }
  if (!summary.torch.ok) lines.push(`PyTorch: ${summary.torch.error}`);
  return lines.join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (dir === undefined) {
    process.stderr.write("usage: node scripts/gpu-check-summary.js OUT_DIR\n");
    process.exit(2);
  }
  const summary = summarize(dir);
  const file = join(dir, "gpu-check.json");
  writeFileSync(`${file}.partial`, `${JSON.stringify(summary, null, 2)}\n`);
  renameSync(`${file}.partial`, file);
  process.stdout.write(`${table(summary)}\n\nsummary: ${file} (${summary.pass ? "PASS" : "no GPU backend passed"}, ${summary.elapsed_s} s)\n`);
  process.exitCode = summary.pass ? 0 : 1;
}
