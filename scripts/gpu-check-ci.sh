#!/usr/bin/env bash
# scripts/gpu-check.sh on a CPU-only CI host: webgpu inside the lavapipe root (software Vulkan), tensorflow over pip's
# tensorflow-cpu (scripts/tfjs-node-tensorflow.sh); each gpu-check.json must say pass: true, gpus: [] and not on a GPU.
#   scripts/gpu-check-ci.sh [OUT]   OUT under /tmp or the repo (what the root sees); default a new /tmp folder
# One line per backend (gold numbers, s/step), then "N passed, M failed". Exit 0: every backend that could run here
# passed; 1: a failure; 77: neither backend can run here (one line). Env: GPU_CHECK_CI_BUILD=0 skips npm run build,
# TOTAL_S (default 120) is each check's stage budget.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
readonly REPO
readonly SKIP=77
# the tiny demo model: the T5-small config takes far too long on lavapipe; no PyTorch on a CPU host
readonly CHECK_ENV=(CHECK_CONFIG=demo STEPS=10 TORCH=off "TOTAL_S=${TOTAL_S:-120}")
PASSED=0
FAILED=0
FAILURES=()
SKIPS=() # "backend: why", printed at the end (alone, as one line, when every backend was skipped)

out_dir() {
  local out=${1:-}
  if [[ -z $out ]]; then
    mktemp -d /tmp/tfew-gpu-check-ci.XXXXXX
    return
  fi
  mkdir -p "$out"
  out=$(cd "$out" && pwd -P)
  if [[ $out != /tmp/* && $out != "$REPO"/* ]]; then
    echo "gpu-check-ci: OUT must be under /tmp or $REPO (what the lavapipe root sees): $out" >&2
    exit 2
  fi
  echo "$out"
}

fail() {
  FAILED=$((FAILED + 1))
  FAILURES+=("$1")
  echo "FAIL $1: $2"
}

# skipped NAME LOG: a 77 with the "…: skipped: <why>" line its script printed
skipped() {
  local why
  why=$(grep -h 'skipped:' "$2" | tail -n 1 | sed 's/^.*skipped: //' || true)
  SKIPS+=("$1: ${why:-exit 77, see $2}")
}

# verify NAME DIR SECONDS: DIR/gpu-check.json says pass, no GPUs, NAME passed gold + train and not on a GPU.
# Prints the PASS line, or the FAIL reason (exit 1).
# shellcheck disable=SC2016 # JavaScript, not shell
verify() {
  node --input-type=module -e '
    import { readFileSync } from "node:fs";
    const [name, dir, seconds] = process.argv.slice(1);
    let s;
    try {
      s = JSON.parse(readFileSync(`${dir}/gpu-check.json`, "utf8"));
    } catch (error) {
      console.log(`no gpu-check.json (${error.message.split("\n")[0]})`);
      process.exit(1);
    }
    const b = s.backends?.[name];
    const why = [];
    if (s.pass !== true) why.push("pass is not true");
    if (!Array.isArray(s.gpus) || s.gpus.length !== 0) why.push(`gpus is ${JSON.stringify(s.gpus)}, not []`);
    if (b === undefined) why.push(`no backends.${name}`);
    else {
      if (b.gold?.pass !== true) why.push(`gold: ${b.gold?.error ?? "FAIL"}`);
      if (b.train?.ok !== true) why.push(`train: ${b.train?.error ?? "not run"}`);
      // a CPU host: anything but gpu false labels a CPU run as a GPU one (or fails to say where it ran)
      if (b.gpu !== false) why.push(`gpu is ${b.gpu}, not false`);
      if (b.train?.ok === true && b.train.mfu !== null) why.push(`mfu is ${b.train.mfu}, not null`);
    }
    if (why.length > 0) {
      console.log(why.join("; "));
      process.exit(1);
    }
    const e = (v) => (typeof v === "number" ? v.toExponential(2) : "-");
    console.log(`on ${b.device} (gpu: false): gold logits max-abs ${e(b.gold.logits_max_abs)}, ` +
      `(IA)3 grad rel ${e(b.gold.ia3_grad_rel)}, T-Few grad rel ${e(b.gold.tfew_grad_rel)}; ` +
      `train ${b.train.steps} steps, ${b.train.s_per_step.toFixed(3)} s/step; check ${seconds} s`);
  ' "$@"
}

# check NAME CMD...: runs CMD (gpu-check.sh, directly or through lavapipe-run.sh) into $OUT/NAME, then verifies it
check() {
  local name=$1 started status=0 line
  shift
  started=$SECONDS
  env "${CHECK_ENV[@]}" BACKENDS="$name" "$@" "$OUT/$name" >"$OUT/$name.log" 2>&1 </dev/null || status=$?
  if [[ $status -eq $SKIP && ! -f $OUT/$name/gpu-check.json ]]; then
    skipped "$name" "$OUT/$name.log"
    return 0
  fi
  if line=$(verify "$name" "$OUT/$name" "$((SECONDS - started))"); then
    if [[ $status -ne 0 ]]; then
      fail "$name" "gpu-check.sh exited $status though gpu-check.json passed; log: $OUT/$name.log"
      return 0
    fi
    PASSED=$((PASSED + 1))
    echo "PASS $name $line"
  else
    fail "$name" "$line (exit $status); log: $OUT/$name.log"
  fi
}

main() {
  OUT=$(out_dir "${1:-}")
  readonly OUT
  local started=$SECONDS status=0
  if [[ ${GPU_CHECK_CI_BUILD:-1} != 0 ]]; then
    # on the host: the native addon needs its compilers
    if ! npm --prefix "$REPO" run build >"$OUT/build.log" 2>&1; then
      echo "FAIL build: npm run build; log: $OUT/build.log"
      exit 1
    fi
  fi

  check webgpu "$REPO/scripts/lavapipe-run.sh" "$REPO/scripts/gpu-check.sh"

  "$REPO/scripts/tfjs-node-tensorflow.sh" >"$OUT/tensorflow-install.log" 2>&1 </dev/null || status=$?
  if [[ $status -eq $SKIP ]]; then
    skipped tensorflow "$OUT/tensorflow-install.log"
  elif [[ $status -ne 0 ]]; then
    fail tensorflow "scripts/tfjs-node-tensorflow.sh exited $status; log: $OUT/tensorflow-install.log"
  else
    check tensorflow "$REPO/scripts/gpu-check.sh"
  fi

  if [[ $PASSED -eq 0 && $FAILED -eq 0 ]]; then
    local joined
    joined=$(printf '%s; ' "${SKIPS[@]}")
    echo "gpu-check-ci: skipped: ${joined%; }"
    exit "$SKIP"
  fi
  local skip
  for skip in "${SKIPS[@]}"; do echo "SKIP $skip"; done
  echo "gpu-check-ci: output in $OUT, $((SECONDS - started)) s"
  echo "$PASSED passed, $FAILED failed${FAILURES[*]:+ (${FAILURES[*]})}"
  [[ $FAILED -eq 0 ]]
}

main "$@"
