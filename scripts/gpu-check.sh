#!/usr/bin/env bash
# GPU smoke benchmark for a GPU host that may lack a system Node and internet: shows nvidia-smi, trains
# configs/bench-t5-small.yaml on the best GPU backend present and on wasm, and prints both summaries side by side.
#
#   scripts/gpu-check.sh                 (runs from the repo root wherever it is called from)
#
# Env: NODE (node binary; else ./node-bin/node, else node on PATH), STEPS=10, WASM_STEPS=2, OUT (folder for
# both runs; default a new temp folder), GPU_BACKEND (tensorflow | webgpu: skip the probes), TFEW (CLI entry,
# default bin/tfew.js), time limits in seconds: PROBE_TIMEOUT=45 (each probe), GPU_TIMEOUT=220, WASM_TIMEOUT=110.
# With the defaults the whole check ends within 8 minutes (worst case 15 + 2 × 50 + 230 + 120 = 465 s).
# Exit: 0 when the GPU run wrote summary.json, 1 otherwise, 2 without Node.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

steps=${STEPS:-10}
wasm_steps=${WASM_STEPS:-2}
gpu_timeout=${GPU_TIMEOUT:-220}
wasm_timeout=${WASM_TIMEOUT:-110}
probe_timeout=${PROBE_TIMEOUT:-45}
tfew=${TFEW:-bin/tfew.js}
config=configs/bench-t5-small.yaml
# TF 2.9.1 carries SASS up to sm_80: newer GPUs (H100: sm_90) JIT-compile its PTX. A cache big enough to keep all
# of it (default 256 MiB is not) means the probe below pays that once and the training run reuses it.
export CUDA_CACHE_MAXSIZE=${CUDA_CACHE_MAXSIZE:-4294967296}

if [[ -n ${NODE:-} ]]; then
  node_bin=$NODE
elif [[ -x ./node-bin/node ]]; then
  node_bin=./node-bin/node
elif command -v node >/dev/null 2>&1; then
  node_bin=$(command -v node)
else
  echo "gpu-check: no Node.js found: set NODE=/path/to/node, unpack one into ./node-bin/, or put node on PATH" >&2
  exit 2
fi
echo "== node: $node_bin $("$node_bin" --version)"

echo "== nvidia-smi"
if command -v nvidia-smi >/dev/null 2>&1; then
  timeout 15 nvidia-smi || echo "(nvidia-smi failed with exit code $?)"
else
  echo "(nvidia-smi not found)"
fi

out_root=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/tfew-gpu-check.XXXXXX")}
mkdir -p "$out_root"

# the random T5-small-shaped model and the 256-token task that configs/bench-t5-small.yaml names (made once)
echo "== preparing the T5-small-shaped benchmark model and task (bench-results/)"
"$node_bin" dist/bench/main.js prepare || { echo "gpu-check: could not prepare the benchmark model (is dist/ built? npm run build)" >&2; exit 2; }

# tensorflow: tfjs-node-gpu must load AND TensorFlow must create a GPU device (it silently runs on the CPU
# when the CUDA 11.2 / cuDNN 8.1 libraries are missing).
probe_tensorflow() {
  local log=$out_root/probe-tensorflow.log
  if TF_CPP_MIN_LOG_LEVEL=0 timeout --kill-after=5 "$probe_timeout" "$node_bin" -e '
    require("@tensorflow/tfjs-node-gpu");
    const tf = require("@tensorflow/tfjs");
    const a = tf.ones([512, 512]);
    tf.matMul(a, a).dataSync();
    console.log("backend", tf.getBackend());' >"$log" 2>&1 && grep -q "device:GPU:0" "$log"; then
    return 0
  fi
  echo "   tensorflow: not usable ($(grep -m1 -E "Error|Could not load|GPU" "$log" || tail -n1 "$log"))"
  return 1
}

# webgpu: tfew's own registration (dist/) when built, else a bare Dawn adapter request.
probe_webgpu() {
  local log=$out_root/probe-webgpu.log
  # shellcheck disable=SC2016 # ${...} here is a JavaScript template literal
  if timeout --kill-after=5 "$probe_timeout" "$node_bin" --input-type=module -e '
    import { existsSync } from "node:fs";
    if (existsSync("dist/backend/webgpu.js")) {
      const { registerWebgpuBackend } = await import(new URL("dist/backend/webgpu.js", `file://${process.cwd()}/`).href);
      const r = await registerWebgpuBackend();
      console.log(r.ok ? `adapter ${r.adapter}` : `reason ${r.reason}`);
      process.exit(r.ok ? 0 : 1);
    }
    const { create } = await import("webgpu");
    const adapter = await create([]).requestAdapter({ powerPreference: "high-performance" });
    console.log(adapter ? "adapter found" : "reason no adapter");
    process.exit(adapter ? 0 : 1);' >"$log" 2>&1; then
    return 0
  fi
  echo "   webgpu: not usable ($(grep -m1 -E "^reason|Error" "$log" || tail -n1 "$log"))"
  return 1
}

echo "== GPU backend"
gpu_backend=${GPU_BACKEND:-}
if [[ -n $gpu_backend ]]; then
  echo "   GPU_BACKEND=$gpu_backend: not probing"
elif probe_tensorflow; then
  gpu_backend=tensorflow
elif probe_webgpu; then
  gpu_backend=webgpu
fi
echo "   picked: ${gpu_backend:-none}"

# run NAME BACKEND STEPS LIMIT: one training run into $out_root/NAME; output also in $out_root/NAME.log.
run() {
  local name=$1 backend=$2 n=$3 limit=$4 rc
  echo "== train --backend $backend, $n steps, limit ${limit}s -> $out_root/$name"
  set +e
  timeout --kill-after=10 "$limit" "$node_bin" "$tfew" train --config "$config" --backend "$backend" \
    --set "train.steps=$n" --out "$out_root/$name" 2>&1 | tee "$out_root/$name.log"
  rc=${PIPESTATUS[0]}
  set -e
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    echo "   $name: stopped at its ${limit}s limit"
  elif [[ $rc -ne 0 ]]; then
    echo "   $name: exit code $rc"
  fi
}

if [[ -n $gpu_backend ]]; then
  run gpu "$gpu_backend" "$steps" "$gpu_timeout"
fi
run wasm wasm "$wasm_steps" "$wasm_timeout"

echo "== summaries ($out_root)"
# shellcheck disable=SC2016 # ${...} here is a JavaScript template literal
"$node_bin" -e '
  const fs = require("fs");
  const runs = process.argv.slice(1).map((dir) => {
    const file = `${dir}/summary.json`;
    try { return JSON.parse(fs.readFileSync(file, "utf8")); } catch { return null; }
  });
  const num = (v, digits, unit = "") => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) + unit : "-");
  const rows = [
    ["backend", (s) => s.backend ?? "-"],
    ["device", (s) => (s.device === undefined || s.device === null ? "-" : String(s.device))],
    ["examples/s", (s) => num(s.examples_per_s, 2)],
    ["s/step", (s) => num(s.s_per_step, 3)],
    ["GPU util mean", (s) => num(s.gpu?.utilization_mean_pct, 1, " %")],
    ["GPU util p95", (s) => num(s.gpu?.utilization_p95_pct, 1, " %")],
    ["GPU memory peak", (s) => num(s.gpu?.memory_peak_mib, 0, " MiB")],
    ["GPU samples", (s) => num(s.gpu?.samples, 0)],
    ["MFU", (s) => num(typeof s.mfu === "number" ? s.mfu * 100 : null, 2, " %")],
  ];
  const header = ["", "gpu run", "wasm run"];
  const table = [header, ...rows.map(([label, get]) => [label, ...runs.map((s) => (s === null ? "(no summary.json)" : get(s)))])];
  const [g, w] = runs;
  if (g && w && g.examples_per_s > 0 && w.examples_per_s > 0) table.push(["speed-up", `${(g.examples_per_s / w.examples_per_s).toFixed(1)}x`, ""]);
  const widths = header.map((_, i) => Math.max(...table.map((row) => String(row[i]).length)));
  for (const row of table) console.log(row.map((cell, i) => String(cell).padEnd(widths[i])).join("  ").trimEnd());
' "$out_root/gpu" "$out_root/wasm"

[[ -f $out_root/gpu/summary.json ]]
