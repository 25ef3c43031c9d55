// Last step of scripts/gpu-check.sh: reads the check's folder (stages.tsv, facts.tsv, nvidia-smi.csv, gold-*.json,
// webgpu-adapter.json, train-*/summary.json, torch.json and the logs), writes ONE JSON summary, gpu-check.json.
//   node scripts/gpu-check-summary.js OUT_DIR        (format "tfew-gpu-check/1", README "GPU check"; prints a table)
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
const tsv = (text) =>
  (text ?? "")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => l.split("\t"));
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
const text = (v) => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);

/** Why a stage gave no result: its time limit, the CLI's one-line error, or the log's last line. */
function failure(stage, log) {
  if (stage === undefined) return "not run";
  if (stage.exit_code === -1) return "skipped: no time left in TOTAL_S";
  if (stage.exit_code === 124 || stage.exit_code === 137) return `stopped at its ${stage.limit_s} s limit`;
  const lines = (log ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  return lines.find((l) => /^tfew: (error|internal error):/.test(l)) ?? lines.at(-1) ?? `exit code ${stage.exit_code}`;
}

const mib = (value) => (/^\d+(\.\d+)?$/.test(value ?? "") ? Number(value) : null); // "[N/A]" → null

function gpus(csv) {
  return tsv((csv ?? "").replaceAll(", ", "\t"))
    .filter((f) => f.length >= 5)
    .map(([index, name, driver, total, used]) => ({
      index: Number(index),
      name,
      driver,
      memory_total_mib: mib(total),
      memory_used_mib: mib(used),
    }));
}

// Software rasterizers that Vulkan (and so Dawn) may offer as an adapter: a run on them is a CPU run.
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|softpipe/i;

/**
 * Where a backend ran, from the backend's own evidence only (never nvidia-smi's view, which says what the host
 * has, not what the backend used): gpu true / false, or null when nothing tells. webgpu: the adapter that
 * gpu-check.sh's Dawn probe got (the request tfew makes); tensorflow: a "device:GPU:N" TensorFlow created
 * (TF_CPP_MIN_LOG_LEVEL=0 logs it), else the CPU once the backend loaded; wasm and cpu: the CPU.
 */
function placement(dir, name, logs) {
  const backendLine = logs.map((log) => /^backend: .*$/m.exec(log ?? "")?.[0]).find((l) => l !== undefined) ?? null;
  const loaded = backendLine !== null;
  if (name === "webgpu") {
    const a = json(join(dir, "webgpu-adapter.json"));
    if (a === null || typeof a !== "object") {
      return { gpu: null, device: null, backend_line: backendLine, adapter: null };
    }
    const adapter = {
      vendor: text(a.vendor),
      architecture: text(a.architecture),
      device: text(a.device),
      description: text(a.description),
      is_fallback_adapter: a.is_fallback_adapter === true,
    };
    const software =
      adapter.is_fallback_adapter ||
      adapter.architecture === "software" ||
      SOFTWARE_ADAPTER.test(`${adapter.device ?? ""} ${adapter.description ?? ""}`);
    const device = adapter.description ?? adapter.device ?? adapter.vendor;
    return { gpu: !software, device, backend_line: backendLine, adapter };
  }
  if (name === "tensorflow") {
    const all = logs.join("\n");
    if (/device:GPU:\d+/.test(all)) {
      const gpuName = /device:GPU:\d+ with .*?name: ([^,]+)/.exec(all)?.[1]?.trim() ?? "GPU";
      return { gpu: true, device: gpuName, backend_line: backendLine, adapter: null };
    }
    return { gpu: loaded ? false : null, device: loaded ? "cpu" : null, backend_line: backendLine, adapter: null };
  }
  if (name === "wasm" || name === "cpu") {
    return { gpu: loaded ? false : null, device: loaded ? "cpu" : null, backend_line: backendLine, adapter: null };
  }
  return { gpu: null, device: null, backend_line: backendLine, adapter: null };
}

function gold(dir, backend, stage) {
  const r = json(join(dir, `gold-${backend}.json`));
  if (r === null) {
    const error = failure(stage, read(join(dir, `gold-${backend}.log`)));
    return { ok: false, pass: null, error, seconds: stage?.seconds ?? null };
  }
  const pick = ["logits_max_abs", "loss_rel", "ia3_grad_rel", "tfew_loss_rel", "tfew_grad_rel"];
  return {
    ok: true,
    pass: r.pass === true,
    ...Object.fromEntries(pick.map((k) => [k, num(r[k])])),
    tolerance: r.tolerance ?? null,
    error: null,
    seconds: num(r.seconds),
  };
}

/** The train stage's numbers; a run not on a GPU keeps its own device label and gets no MFU (no known peak). */
function train(dir, backend, stage, where) {
  if (stage === undefined) return null;
  const s = json(join(dir, `train-${backend}`, "summary.json"));
  if (s === null) return { ok: false, error: failure(stage, read(join(dir, `train-${backend}.log`))) };
  const onGpu = where.gpu === true;
  return {
    ok: true,
    steps: s.steps,
    // summary.json names the monitor's first GPU whenever nvidia-smi answers, even for a CPU run: kept only for
    // a run known to be on a GPU
    device: onGpu ? (s.device ?? where.device) : where.device,
    s_per_step: num(s.s_per_step),
    s_per_step_median: num(s.s_per_step_median),
    examples_per_s: num(s.examples_per_s),
    gpu_util_mean_pct: num(s.gpu?.utilization_mean_pct),
    gpu_memory_peak_mib: num(s.gpu?.memory_peak_mib),
    mfu: onGpu ? num(s.mfu) : null,
    micro_batch_size: s.micro_batch_size ?? null,
    error: null,
  };
}

function torch(dir, stage, facts) {
  if (stage === undefined) return { ok: false, error: facts.torch_skipped ?? "not run" };
  const t = json(join(dir, "torch.json"));
  if (t === null || typeof t.train !== "object") {
    return { ok: false, error: failure(stage, read(join(dir, "torch.log"))) };
  }
  return {
    ok: true,
    device: t.device ?? "cuda",
    torch_version: t.torch_version ?? null,
    share_cross_kv: t.share_cross_kv ?? null,
    s_per_step: num(t.train.s_per_step),
    examples_per_s: num(t.train.examples_per_s),
    error: null,
  };
}

/** The summary object of a gpu-check folder (exported for tests). */
export function summarize(dir, options = {}) {
  const stages = tsv(read(join(dir, "stages.tsv"))).map(([name, rc, s, limit]) => ({
    name,
    exit_code: Number(rc),
    seconds: Number(s),
    limit_s: Number(limit),
  }));
  const stageOf = (name) => stages.find((s) => s.name === name);
  const facts = Object.fromEntries(tsv(read(join(dir, "facts.tsv"))));
  const names = stages.filter((s) => s.name.startsWith("gold-")).map((s) => s.name.slice(5));
  const reference = torch(dir, stageOf("torch"), facts);
  const backends = {};
  for (const name of names) {
    const where = placement(dir, name, [read(join(dir, `gold-${name}.log`)), read(join(dir, `train-${name}.log`))]);
    const t = train(dir, name, stageOf(`train-${name}`), where);
    const g = gold(dir, name, stageOf(`gold-${name}`));
    // PyTorch runs on CUDA: a ratio against a CPU run would say nothing about tfew on the GPU
    const ratio =
      where.gpu === true && reference.ok && reference.s_per_step !== null && t?.s_per_step
        ? reference.s_per_step / t.s_per_step
        : null;
    const pass = g.pass === true && t?.ok === true;
    backends[name] = { ...where, pass, gold: g, train: t, torch_ratio: ratio };
  }
  const all = Object.values(backends);
  return {
    format: "tfew-gpu-check/1",
    date: options.date ?? new Date().toISOString(),
    host: options.host ?? hostname(),
    layout: facts.layout ?? null,
    node: facts.node ?? null,
    config: facts.config ?? null,
    steps: facts.steps === undefined ? null : Number(facts.steps),
    gpus: gpus(read(join(dir, "nvidia-smi.csv"))),
    vulkan: {
      loader: facts.vulkan_loader ?? null,
      driver_manifest: facts.vulkan_icd || null,
      manifest_written: facts.vulkan_icd_written !== undefined,
    },
    backends,
    torch: reference,
    stages,
    elapsed_s: stages.reduce((n, s) => n + s.seconds, 0),
    // every backend asked for passed its gold check and trained, wherever it ran
    pass: all.length > 0 && all.every((b) => b.pass),
    // and some backend did so on a GPU (its own evidence: see placement)
    gpu_pass: all.some((b) => b.pass && b.gpu === true),
  };
}

function table(summary) {
  const f = (v, d, unit = "") => (v === null || v === undefined ? "-" : `${v.toFixed(d)}${unit}`);
  const e = (v) => (v === null || v === undefined ? "-" : v.toExponential(2));
  const rows = [["", ...Object.keys(summary.backends)]];
  const add = (label, get) => rows.push([label, ...Object.values(summary.backends).map(get)]);
  add("device", (b) => b.device ?? "-");
  add("on a GPU", (b) => (b.gpu === null ? "unknown" : b.gpu ? "yes" : "no"));
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
  const lines = rows.map((r) =>
    r
      .map((c, i) => String(c).padEnd(widths[i]))
      .join("  ")
      .trimEnd(),
  );
  for (const [name, b] of Object.entries(summary.backends)) {
    const error = b.gold.error ?? b.train?.error;
    if (error) lines.push(`${name}: ${error}`);
    else if (b.pass && b.gpu === false) lines.push(`${name}: passed on ${b.device}, not on a GPU`);
  }
  if (!summary.torch.ok) lines.push(`PyTorch: ${summary.torch.error}`);
  return lines.join("\n");
}

function verdict(summary) {
  const entries = Object.entries(summary.backends);
  if (entries.length === 0) return "FAIL: no backend was checked";
  const failed = entries.filter(([, b]) => !b.pass).map(([n]) => n);
  const onGpu = entries.filter(([, b]) => b.pass && b.gpu === true).map(([n]) => n);
  const gpuPart = onGpu.length > 0 ? `on a GPU: ${onGpu.join(", ")}` : "none on a GPU";
  if (failed.length > 0) return `FAIL: ${failed.join(", ")} did not pass gold + train; ${gpuPart}`;
  return `PASS: every backend passed gold + train; ${gpuPart}`;
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
  process.stdout.write(`${table(summary)}\n\nsummary: ${file} (${verdict(summary)}, ${summary.elapsed_s} s)\n`);
  process.exitCode = summary.pass ? 0 : 1;
}
