#!/usr/bin/env bash
# GPU check for an NVIDIA host, run from the tfew kit (tfew-kit/scripts/gpu-check.sh) or a checkout / the Docker
# image: nvidia-smi's view; Vulkan for WebGPU (NVIDIA's nvidia_icd.json via VK_DRIVER_FILES, the kit's loader when
# the host has none); the gold fixtures on each backend (logits ≤ 1e-3, (IA)³ gradients ≤ 1e-3 relative); the
# T5-small-shaped model trained a few steps per backend with the GPU monitor on (s/step, examples/s, mean GPU
# utilization, MFU); PyTorch on the same shapes (scripts/torch_reference.py --device cuda) when python3 has CUDA
# torch, and the ratio; ONE JSON summary (README "GPU check" gives its format). A backend without a GPU device
# (TensorFlow's CPU build, WebGPU on lavapipe) is checked and trained all the same, and reported as not on a GPU.
#
#   tfew-kit/scripts/gpu-check.sh [OUT_DIR]     (default: gpu-check-<UTC time> in the kit, or in $TMPDIR if read-only)
#
# Env: STEPS=10 train steps per backend; BACKENDS="webgpu tensorflow"; TOTAL_S=420 (budget of the stages: each gets
# at most what is left; with the torch probe and the 10 s kill grace the check ends within 8 minutes);
# CHECK_CONFIG (default configs/bench-t5-small.yaml; "demo" = the tiny demo, a quick smoke run); TORCH=auto|off;
# PYTHON=python3.
# Exit: 0 when every backend asked for passed the gold check and trained (gpu-check.json's "pass"; "gpu_pass" and
# each backend's "gpu" say whether that happened on a GPU); 1 otherwise; 2 when the kit is incomplete.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 2

steps=${STEPS:-10}
backends=${BACKENDS:-webgpu tensorflow}
total_s=${TOTAL_S:-420}
python=${PYTHON:-python3}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
if [[ -w $root ]]; then out=${1:-$root/gpu-check-$stamp}; else out=${1:-${TMPDIR:-/tmp}/tfew-gpu-check-$stamp}; fi
mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd)
deadline=$((SECONDS + total_s))
# TF 2.x on a GPU newer than its SASS (sm_89/sm_90 with the CUDA 11.2 build) JIT-compiles PTX once; keep it all.
export CUDA_CACHE_MAXSIZE=${CUDA_CACHE_MAXSIZE:-4294967296}

# tfew / bench: the commands (arrays, so that `timeout` can run them)
if [[ -x $root/bin/node && -f $root/dist/cli/main.js && -x $root/bin/tfew ]]; then
  layout=kit node_bin=$root/bin/node
  tfew=("$root/bin/tfew")
  bench=("$root/bin/tfew" bench)
elif [[ -f $root/dist/cli/main.js ]] && command -v node >/dev/null 2>&1; then
  layout=checkout node_bin=$(command -v node)
  tfew=("$node_bin" "$root/bin/tfew.js")
  bench=("$node_bin" "$root/dist/bench/main.js")
else
  echo "gpu-check: $root is neither a tfew kit (bin/node, dist/cli/main.js) nor a built checkout with node on PATH" >&2
  exit 2
fi
config=${CHECK_CONFIG:-configs/bench-t5-small.yaml}
[[ $config == demo ]] && config=configs/default.yaml

# stage NAME WANT_S CMD...: runs CMD with the smaller of WANT_S and the time left, output in $out/NAME.log;
# records "NAME<TAB>exit code<TAB>seconds<TAB>limit" in stages.tsv (exit 124: stopped at its limit; -1: no time left).
stage() {
  local name=$1 want=$2 left limit t0 rc
  shift 2
  left=$((deadline - SECONDS))
  limit=$((want < left ? want : left))
  if ((limit < 5)); then
    printf '%s\t-1\t0\t0\n' "$name" >>"$out/stages.tsv"
    echo "   $name: skipped, no time left in TOTAL_S=$total_s"
    return 1
  fi
  t0=$SECONDS
  timeout --kill-after=10 "$limit" "$@" >"$out/$name.log" 2>&1
  rc=$?
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - t0))" "$limit" >>"$out/stages.tsv"
  return "$rc"
}
: >"$out/stages.tsv"
: >"$out/facts.tsv"
fact() { printf '%s\t%s\n' "$1" "$2" >>"$out/facts.tsv"; }
fact layout "$layout"
fact node "$("$node_bin" --version)"
fact config "$config"
fact steps "$steps"

echo "== nvidia-smi"
if command -v nvidia-smi >/dev/null 2>&1; then
  timeout 15 nvidia-smi || echo "(nvidia-smi failed with exit code $?)"
  timeout 15 nvidia-smi --query-gpu=index,name,driver_version,memory.total,memory.used \
    --format=csv,noheader,nounits >"$out/nvidia-smi.csv" 2>/dev/null
else
  echo "(nvidia-smi not found: no NVIDIA driver here)"
fi

echo "== Vulkan (WebGPU's way to the GPU)"
has_system_vulkan() {
  { /sbin/ldconfig -p 2>/dev/null || ldconfig -p 2>/dev/null || true; } | grep -q 'libvulkan\.so\.1 '
}
if has_system_vulkan; then
  fact vulkan_loader system
elif [[ -e $root/vulkan/lib/libvulkan.so.1 ]]; then
  export LD_LIBRARY_PATH=$root/vulkan/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  fact vulkan_loader kit
else
  deb=$(ls "$root"/vulkan/libvulkan1_*.deb 2>/dev/null | head -n1)
  unpack=$root/vulkan/root
  [[ -w $root ]] || unpack=$out/vulkan-root
  if [[ -n $deb ]] && command -v dpkg >/dev/null 2>&1 && dpkg -x "$deb" "$unpack"; then
    export LD_LIBRARY_PATH=$unpack/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    fact vulkan_loader kit-deb
  else
    fact vulkan_loader missing
  fi
fi
if [[ -z ${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-} ]]; then
  for dir in /etc/vulkan/icd.d /usr/share/vulkan/icd.d /usr/local/share/vulkan/icd.d /etc/xdg/vulkan/icd.d \
    /usr/local/nvidia/share/vulkan/icd.d /usr/local/nvidia/icd.d; do
    if [[ -f $dir/nvidia_icd.json ]]; then
      export VK_DRIVER_FILES=$dir/nvidia_icd.json VK_ICD_FILENAMES=$dir/nvidia_icd.json
      break
    fi
  done
fi
if [[ -z ${VK_DRIVER_FILES:-} ]] &&
  { /sbin/ldconfig -p 2>/dev/null || ldconfig -p 2>/dev/null; } | grep -q 'libGLX_nvidia\.so\.0 '; then
  # the driver's Vulkan library is mounted but its manifest is not (containers without the graphics capability)
  mkdir -p "$out/vulkan"
  printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "libGLX_nvidia.so.0", "api_version": "1.3"}}\n' \
    >"$out/vulkan/nvidia_icd.json"
  export VK_DRIVER_FILES=$out/vulkan/nvidia_icd.json VK_ICD_FILENAMES=$out/vulkan/nvidia_icd.json
  fact vulkan_icd_written "$VK_DRIVER_FILES"
fi
# the manifest the loader uses: VK_DRIVER_FILES, else the older VK_ICD_FILENAMES (lavapipe-run.sh sets only that)
icd=${VK_DRIVER_FILES:-${VK_ICD_FILENAMES:-}}
fact vulkan_icd "$icd"
echo "   loader: $(grep '^vulkan_loader' "$out/facts.tsv" | cut -f2), driver manifest: ${icd:-none found}"

# The adapter Dawn hands out for tfew's request (high-performance), as JSON in webgpu-adapter.json: tells a GPU
# from a software rasterizer (lavapipe: isFallbackAdapter, architecture "software"). No file when there is none.
# shellcheck disable=SC2016 # JavaScript, not shell
webgpu_probe='const { create } = await import(process.argv[1]);
const adapter = await create([]).requestAdapter({ powerPreference: "high-performance" });
if (!adapter) process.exit(3);
const i = adapter.info ?? {};
console.log(JSON.stringify({ vendor: i.vendor, architecture: i.architecture, device: i.device,
  description: i.description, is_fallback_adapter: i.isFallbackAdapter ?? adapter.isFallbackAdapter ?? null }));
process.exit(0);'
probe_webgpu_adapter() {
  local dawn=$root/node_modules/webgpu/index.js
  [[ -f $dawn ]] || return 0
  if ! timeout 15 "$node_bin" --input-type=module -e "$webgpu_probe" "$dawn" >"$out/webgpu-adapter.json" \
    2>"$out/webgpu-adapter.log"; then
    rm -f "$out/webgpu-adapter.json"
    echo "   no WebGPU adapter from Dawn (see $out/webgpu-adapter.log)"
    return 0
  fi
  echo "   adapter: $(cat "$out/webgpu-adapter.json")"
}

usable=()
for backend in $backends; do
  echo "== gold fixtures on $backend"
  [[ $backend == webgpu ]] && probe_webgpu_adapter
  TF_CPP_MIN_LOG_LEVEL=0 stage "gold-$backend" 120 "${tfew[@]}" gold-check --backend "$backend" \
    --output "$out/gold-$backend.json"
  rc=$?
  grep -m1 -E '^(gold-check|tfew: error)' "$out/gold-$backend.log" | sed 's/^/   /'
  # (the gold JSON exists only when the backend loaded: a missing tfjs-node is an error, not a CPU run)
  if [[ $backend == tensorflow && $rc -le 1 && -f $out/gold-$backend.json ]] &&
    ! grep -q 'device:GPU:0' "$out/gold-$backend.log"; then
    echo "   tensorflow ran on the CPU (no GPU device: no CUDA build, or CUDA/cuDNN libraries missing or too old);" \
      "trained all the same, reported as not on a GPU"
  fi
  [[ $rc -le 1 && -f $out/gold-$backend.json ]] && usable+=("$backend")
done

if ((${#usable[@]} > 0)); then
  if [[ $config == configs/bench-t5-small.yaml ]]; then
    echo "== preparing the T5-small-shaped model and task (bench-results/)"
    stage prepare 90 "${bench[@]}" prepare || echo "   prepare failed: see $out/prepare.log"
  fi
  for backend in "${usable[@]}"; do
    echo "== train --backend $backend, $steps steps"
    stage "train-$backend" 200 "${tfew[@]}" train --config "$config" --backend "$backend" --set "train.steps=$steps" \
      --set train.checkpoint_every=100000 --set monitor.gpu=auto --out "$out/train-$backend"
    # the "done:" line (followed by hints) or the one-line error, else the log's last line
    train_log=$out/train-$backend.log
    { grep -E '^(done:|tfew: (error|internal error):)' "$train_log" || tail -n1 "$train_log"; } |
      tail -n1 | sed 's/^/   /'
  done
fi

if [[ ${TORCH:-auto} != off ]] && command -v "$python" >/dev/null 2>&1 &&
  timeout 30 "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 3)' >/dev/null 2>&1; then
  echo "== PyTorch on the same shapes (scripts/torch_reference.py --device cuda, cross-attention K/V shared as in tfew)"
  stage torch 120 "$python" scripts/torch_reference.py --device cuda --json --threads 4 --batch 8 --seq 256 \
    --choices 2 --untie --ffn relu --train-steps "$steps" --warmup 1 --eval-choices "" --share-cross-kv
  tail -n1 "$out/torch.log" >"$out/torch.json"
else
  fact torch_skipped "no python3 with CUDA torch (TORCH=${TORCH:-auto})"
fi

echo "== summary"
"$node_bin" "$root/scripts/gpu-check-summary.js" "$out"
