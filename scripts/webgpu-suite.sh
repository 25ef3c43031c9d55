#!/usr/bin/env bash
# The WebGPU suite on Mesa lavapipe (software Vulkan, scripts/lavapipe-run.sh): every-backend tests with
# TFEW_TEST_BACKENDS=webgpu, then the CLI (repo's bin/tfew.js, then the kit's bin/tfew with no node on PATH)
# on --backend webgpu against the embedded demo. One log per stage; ends "N passed, M failed"; exit 1 on a failure.
#   scripts/webgpu-suite.sh [OUT]   OUT: under /tmp or the repo (seen inside the root); default a new /tmp folder
# Env: TFEW_KIT=path/to/tfew-kit-linux-x64.tar.xz (default kit/ when built, else built here with --fast),
#      TFEW_SUITE_STAGE_TIMEOUT=seconds per stage (default 1800), TFEW_SUITE_SKIP_KIT=1 (repo CLI only).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
readonly REPO
readonly RUN_IN="$REPO/scripts/lavapipe-run.sh"
readonly DEMO_TASK=data/demo-task
readonly TRAIN_SETS=(--set train.steps=20 --set workers=1 --set monitor.gpu=off)
# Test files that run on every backend; the lead's tests/backends.test.ts joins when it exists.
readonly EVERY_BACKEND_TESTS=(tests/matmul-kernels.test.ts tests/backends.test.ts)
PASSED=0
FAILED=0
FAILURES=()
STAGE_NO=0

log() { echo "webgpu-suite: $*" >&2; }

out_dir() {
  local out=${1:-}
  if [[ -z $out ]]; then
    mktemp -d /tmp/tfew-webgpu-suite.XXXXXX
    return
  fi
  mkdir -p "$out"
  out=$(cd "$out" && pwd -P)
  # The root sees /tmp and the repo only (lavapipe-run.sh's bind mounts).
  [[ $out == /tmp/* || $out == "$REPO"/* ]] || { log "OUT must be under /tmp or $REPO: $out"; exit 2; }
  echo "$out"
}

# stage NAME CMD...: runs CMD with its output in logs/NN-NAME.log; one PASS/FAIL line with the time taken.
stage() {
  local name=$1 started status=0 log_file
  shift
  STAGE_NO=$((STAGE_NO + 1))
  log_file=$(printf '%s/logs/%02d-%s.log' "$OUT" "$STAGE_NO" "$name")
  started=$(date +%s)
  timeout "${TFEW_SUITE_STAGE_TIMEOUT:-1800}" "$@" >"$log_file" 2>&1 </dev/null || status=$?
  local took=$(($(date +%s) - started))
  if [[ $status -eq 0 ]]; then
    PASSED=$((PASSED + 1))
    echo "PASS $name (${took} s)"
  else
    FAILED=$((FAILED + 1))
    FAILURES+=("$name")
    # The last line naming an error (not tfew's "run again with --verbose" hint), else the last line.
    local why
    why=$(grep -i -e 'error' "$log_file" | grep -v -e '^Warning: ' -e 'run again with' | tail -n 1 || true)
    [[ -n $why ]] || why=$(grep -v -e '^Warning: ' -e '^\s*$' "$log_file" | tail -n 1 || true)
    why=$(echo "$why" | sed 's/^[[:space:]]*//' | cut -c1-160)
    echo "FAIL $name (exit $status, ${took} s): ${why:-no output}; log: $log_file"
  fi
  return 0
}

# A stage that needs a file an earlier stage writes: counted as failed without running when it is missing.
stage_needing() {
  local need=$1 name=$2
  shift 2
  if [[ -e $need ]]; then
    stage "$name" "$@"
  else
    STAGE_NO=$((STAGE_NO + 1))
    FAILED=$((FAILED + 1))
    FAILURES+=("$name")
    echo "FAIL $name (not run: $need is missing; an earlier stage failed)"
  fi
}

# The kit's launcher inside the root with no node anywhere on PATH (the kit must bring its own): a command prefix.
# shellcheck disable=SC2016 # $@ belongs to the inner bash
readonly NO_NODE_CHECK='if command -v node >/dev/null; then echo "node is on PATH: $(command -v node)"; exit 1; fi
exec "$@"'

vitest_stage() {
  local files=() file
  for file in "${EVERY_BACKEND_TESTS[@]}"; do [[ -f $REPO/$file ]] && files+=("$file"); done
  stage vitest-every-backend env TFEW_TEST_BACKENDS=webgpu "$RUN_IN" npx vitest run --config vitest.slow.config.ts "${files[@]}"
}

# cli_stages PREFIX TFEW...: gold-check, train, eval, predict, score (and for the repo audit, merge) on webgpu;
# TFEW... is the whole command up to the subcommand (lavapipe-run.sh and the tfew to run inside).
# eval, predict, score, audit and merge use the wasm-trained fixture run: they test webgpu even when train fails.
cli_stages() {
  local prefix=$1
  shift
  local tfew=("$@") work="$OUT/$prefix"
  local run="$OUT/fixture-run" adapter="$OUT/fixture-run/adapter"
  mkdir -p "$work"
  printf '%s\n' '{"source": "my invoice shows the wrong amount", "target": "billing"}' \
    '{"source": "the app crashes when I log in", "target": "bug"}' >"$work/score-input.jsonl"
  stage "$prefix-gold-check" "${tfew[@]}" gold-check --backend webgpu --verbose --output "$work/gold-check.json"
  stage "$prefix-train" "${tfew[@]}" train --backend webgpu --verbose --out "$work/run" "${TRAIN_SETS[@]}"
  stage_needing "$adapter" "$prefix-eval" "${tfew[@]}" eval --backend webgpu --verbose --run "$run" --out "$work/eval"
  stage_needing "$adapter" "$prefix-predict" "${tfew[@]}" predict --backend webgpu --verbose --run "$run" \
    --output "$work/preds.csv"
  stage_needing "$adapter" "$prefix-score" "${tfew[@]}" score --backend webgpu --verbose --run "$run" \
    --input "$work/score-input.jsonl" --output "$work/scores.jsonl"
  # audit and the Fisher merge once, from the repo: the kit bundles the same code (36 s more on lavapipe, no new path)
  [[ $prefix == repo ]] || return 0
  stage_needing "$adapter" "$prefix-audit" "${tfew[@]}" audit --backend webgpu --verbose --run "$run" \
    --data "$DEMO_TASK" --folds 2 --out "$work/audit" "${TRAIN_SETS[@]}"
  # A copy of the adapter per prefix (merge caches fisher.safetensors beside it, so the kit would reuse the repo's),
  # given twice: the Fisher computed on webgpu, then its reuse.
  if [[ -d $adapter ]]; then
    rm -rf "$work/fisher-adapter"
    cp -r "$adapter" "$work/fisher-adapter"
    rm -f "$work/fisher-adapter/fisher.safetensors"
  fi
  stage_needing "$work/fisher-adapter" "$prefix-merge-fisher" "${tfew[@]}" merge --backend webgpu --verbose \
    --method fisher --adapter "$work/fisher-adapter" --data "$DEMO_TASK" --adapter "$work/fisher-adapter" \
    --data "$DEMO_TASK" --set monitor.gpu=off --out "$work/merged"
}

# The kit tarball: TFEW_KIT, else kit/ from npm run kit, else one built now (scripts/kit.js --fast, on the host).
kit_stages() {
  local tarball=${TFEW_KIT:-$REPO/kit/tfew-kit-linux-x64.tar.xz}
  if [[ ! -f $tarball ]]; then
    tarball="$OUT/kit-build/tfew-kit-linux-x64.tar.xz"
    stage kit-build node "$REPO/scripts/kit.js" --fast --out "$OUT/kit-build"
  fi
  mkdir -p "$OUT/kit"
  stage_needing "$tarball" kit-unpack tar -C "$OUT/kit" -xJf "$tarball"
  local kit_tfew=(env TFEW_LAVAPIPE_NO_NODE=1 "$RUN_IN" bash -c "$NO_NODE_CHECK" kit "$OUT/kit/tfew-kit/bin/tfew")
  stage_needing "$OUT/kit/tfew-kit/bin/tfew" kit-help "${kit_tfew[@]}" --help
  cli_stages kit "${kit_tfew[@]}"
}

main() {
  OUT=$(out_dir "${1:-}")
  readonly OUT
  mkdir -p "$OUT/logs"
  # Skip (77, one line from lavapipe-root.sh) before any stage when the root cannot be built here.
  "$REPO/scripts/lavapipe-root.sh" >/dev/null || exit $?
  log "output and logs in $OUT"
  stage build npm --prefix "$REPO" run build # on the host: the native addon needs its compilers
  vitest_stage
  # A known-good adapter for the stages after train, trained on the host's wasm backend (seconds).
  stage fixture-train-wasm node bin/tfew.js train --backend wasm --out "$OUT/fixture-run" "${TRAIN_SETS[@]}"
  cli_stages repo "$RUN_IN" node bin/tfew.js
  [[ ${TFEW_SUITE_SKIP_KIT:-0} == 1 ]] || kit_stages
  echo "$PASSED passed, $FAILED failed${FAILURES[*]:+ (${FAILURES[*]})}"
  [[ $FAILED -eq 0 ]]
}

main "$@"
