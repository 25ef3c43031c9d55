#!/usr/bin/env bash
# The multi-task closing table: on the RAFT tasks of ../shared/data/raft, with the demo model (random weights:
# a pipeline check, not a ranking), one row per method, one macro-F1 column per task plus their mean.
#   npm run build && scripts/raft-mix-table.sh [OUT]            (OUT default: bench-results/raft-mix)
# Rows: zero-shot; single-task runs (one per task); one multi-task run over all tasks per adapter.routing
# (task, shared, smear); merges of the single-task adapters (average, fisher with --data per adapter,
# task-arithmetic, ties, dare). Every adapter is scored with `tfew eval` on each task's labelled train split
# (RAFT's test split is unlabelled), the split the runs trained on: fit, not generalization.
# Writes OUT/table.md (also printed), OUT/metrics.json (every score), the runs, merges and eval folders.
# Env: STEPS (train.steps of every run, default 30). Stops at the first failed command (set -euo pipefail);
# skips with one line when ../shared/data/raft is absent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
raft=$(realpath -m "$root/../shared/data/raft")
if [[ ! -d $raft ]]; then
  echo "raft-mix-table: skipped: no RAFT data at $raft (the shared copy, ../shared/data/raft)"
  exit 0
fi
out=$(realpath -m "${1:-bench-results/raft-mix}")
steps=${STEPS:-30}
marker=.raft-mix-table
if [[ -e $out && -n $(ls -A "$out") && ! -e $out/$marker ]]; then
  echo "raft-mix-table: $out exists and was not written by this script; give another OUT" >&2
  exit 1
fi
rm -rf "$out"
mkdir -p "$out"
touch "$out/$marker"
start=$(date +%s%N)
tfew() {
  echo "+ tfew $*" >>"$out/commands.log"
  node "$root/bin/tfew.js" "$@" >>"$out/tfew.log" 2>&1 || {
    echo "raft-mix-table: failed (exit $?): tfew $*; see $out/tfew.log" >&2
    tail -n 5 "$out/tfew.log" >&2
    return 1
  }
}

mapfile -t tasks < <(find "$raft" -mindepth 2 -maxdepth 2 -name train.csv -printf '%h\n' | xargs -n1 basename | sort)
((${#tasks[@]} >= 2)) || {
  echo "raft-mix-table: fewer than 2 tasks in $raft" >&2
  exit 1
}
echo "raft-mix-table: ${#tasks[@]} RAFT tasks in $raft (the shared copy has ${#tasks[@]} of RAFT's 11): ${tasks[*]}"

# one config for everything, layered over the demo config (its lr etc.)
cfg=(--config "$root/configs/default.yaml" --config "$out/raft-mix.yaml")
cat >"$out/raft-mix.yaml" <<EOF
model: $root/data/demo-model
workers: auto
monitor: {gpu: "off"}
data: {max_seq_len: 256, max_choice_len: 32}
train: {steps: $steps, batch_size: 8, checkpoint_every: $steps, log_every: 10}
EOF
{
  echo "data:"
  echo "  tasks:"
  for t in "${tasks[@]}"; do echo "    - {name: $t, path: $raft/$t}"; done
} >"$out/multitask.yaml"

rows=() # "key|label"
row() { rows+=("$1|$2"); }

echo "raft-mix-table: zero-shot"
for t in "${tasks[@]}"; do
  tfew eval --model "$root/data/demo-model" --data "$raft/$t" --split train --out "$out/eval/zero-shot/$t" "${cfg[@]}"
done
row zero-shot "none (zero-shot)"

echo "raft-mix-table: single-task runs"
adapters=()
fisher_args=()
for t in "${tasks[@]}"; do
  tfew train --out "$out/runs/single/$t" --set "data.path=$raft/$t" "${cfg[@]}"
  tfew eval --run "$out/runs/single/$t" --split train --out "$out/eval/single/$t"
  adapters+=(--adapter "$out/runs/single/$t/adapter")
  fisher_args+=(--adapter "$out/runs/single/$t/adapter" --data "$raft/$t")
done
row single "single-task runs (one per task)"

for routing in task shared smear; do
  echo "raft-mix-table: multi-task run, routing $routing"
  tfew train --out "$out/runs/multi-$routing" --set "adapter.routing=$routing" "${cfg[@]}" --config "$out/multitask.yaml"
  tfew eval --run "$out/runs/multi-$routing" --split train --out "$out/eval/multi-$routing"
done
row multi-task "one multi-task run, \`routing: task\`"
row multi-shared "one multi-task run, \`routing: shared\`"
row multi-smear "one multi-task run, \`routing: smear\` (one expert per task)"

n=${#tasks[@]}
merge() { # key label merge-args...
  local key=$1 label=$2
  shift 2
  echo "raft-mix-table: merge $key"
  tfew merge "$@" --out "$out/merges/$key"
  for t in "${tasks[@]}"; do
    tfew eval --adapter "$out/merges/$key" --data "$raft/$t" --split train --out "$out/eval/$key/$t" "${cfg[@]}"
  done
  row "$key" "$label"
}
merge average "average merge of the $n single-task adapters" "${adapters[@]}" --method average
merge fisher "Fisher merge (model Fisher on each task's train split)" "${fisher_args[@]}" --method fisher "${cfg[@]}"
merge task-arithmetic "task arithmetic, λ 0.3" "${adapters[@]}" --method task-arithmetic --lambda 0.3
merge ties "TIES, density 0.2, λ 1" "${adapters[@]}" --method ties --density 0.2 --lambda 1
merge dare "DARE, density 0.5, λ 1/$n, seed 42" "${adapters[@]}" --method dare --density 0.5 \
  --lambda "$(node -e "console.log(1 / $n)")" --seed 42

wall=$(node -e "console.log(((BigInt('$(date +%s%N)') - BigInt('$start')) / 1000000n).toString())")
printf '%s\n' "${rows[@]}" >"$out/rows.txt"
node --input-type=module - "$out" "$raft" "$wall" "$steps" "${tasks[@]}" <<'EOF'
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
const [out, raft, wallMs, steps, ...tasks] = process.argv.slice(2);
const read = (f) => JSON.parse(readFileSync(f, "utf8"));
const labels = Object.fromEntries(tasks.map((t) => [t, read(join(raft, t, "labels.json")).labels.length]));
const rows = readFileSync(join(out, "rows.txt"), "utf8").trim().split("\n").map((l) => l.split("|"));
const all = {};
const lines = [
  `| method | ${tasks.map((t) => `${t} (${labels[t]})`).join(" | ")} | mean |`,
  `|---|${tasks.map(() => "---|").join("")}---|`,
];
for (const [key, label] of rows) {
  const m = Object.fromEntries(tasks.map((t) => [t, read(join(out, "eval", key, t, "metrics.json"))]));
  all[key] = { label, tasks: Object.fromEntries(tasks.map((t) => [t, { macro_f1: m[t].macro_f1, accuracy: m[t].accuracy, n: m[t].n }])) };
  const f1 = tasks.map((t) => m[t].macro_f1);
  const mean = f1.reduce((a, b) => a + b, 0) / f1.length;
  all[key].mean_macro_f1 = mean;
  lines.push(`| ${label} | ${f1.map((v) => v.toFixed(3)).join(" | ")} | ${mean.toFixed(3)} |`);
}
const secs = (Number(wallMs) / 1000).toFixed(1);
const caption =
  `Macro-F1 on each task's labelled train split (50 examples; the runs trained on it, so this is fit, not ` +
  `generalization), ${tasks.length} RAFT tasks (the shared copy has ${tasks.length} of RAFT's 11; label counts in ` +
  `parentheses), demo model with random weights: a pipeline check, not a ranking. Every run: train.steps ${steps}, ` +
  `batch 8, data.max_seq_len 256, workers auto; the multi-task runs take the same ${steps} steps over all tasks. ` +
  `Total wall time ${secs} s.`;
const md = `${caption}\n\n${lines.join("\n")}\n`;
writeFileSync(join(out, "table.md"), md);
writeFileSync(join(out, "metrics.json"), JSON.stringify({ tasks, labels, steps: Number(steps), wall_s: Number(secs), methods: all }, null, 2) + "\n");
process.stdout.write(`\n${md}\nwall time: ${secs} s; ${join(out, "table.md")}, ${join(out, "metrics.json")}\n`);
EOF
