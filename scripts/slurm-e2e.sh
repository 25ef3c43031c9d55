#!/usr/bin/env bash
# End-to-end test of `tfew sweep` on a real Slurm: starts a one-node cluster (munged, slurmctld, slurmd) in a
# temp dir, runs a 4-cell sweep of the embedded demo through sbatch, waits, collects, checks every cell is
# complete, and stops exactly the daemons it started. Skips (exit 0) when Slurm cannot be had.
#   scripts/slurm-e2e.sh              # from the repository root, after npm run build
#   SLURM_E2E_KEEP=1 scripts/slurm-e2e.sh   # keep the temp dir (sweep folder, logs) for inspection
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
started=$(date +%s)

skip() { echo "slurm-e2e: skipped: $*"; exit 0; }
have_slurm() { command -v slurmctld && command -v slurmd && command -v sbatch && command -v squeue && command -v munged; } >/dev/null 2>&1

if ! have_slurm; then
  command -v apt-get >/dev/null 2>&1 || skip "slurmctld/slurmd/sbatch/munged not installed and no apt-get"
  [ "$(id -u)" = 0 ] || skip "slurm not installed and not root (apt-get needs root)"
  echo "== slurm-e2e: apt-get install slurmctld slurmd slurm-client munge"
  export DEBIAN_FRONTEND=noninteractive
  (apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null 2>&1 \
    || (apt-get update -qq && apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null)) \
    || skip "apt-get could not install slurm (offline?)"
  have_slurm || skip "slurm packages installed but their programs are missing"
fi
[ -f dist/cli/main.js ] || npm run build >/dev/null

T=$(mktemp -d /tmp/tfew-slurm-e2e.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ -n "${SLURM_E2E_KEEP:-}" ]; then echo "slurm-e2e: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
fail() {
  echo "slurm-e2e: FAILED: $*" >&2
  for f in "$T"/slurmctld.log "$T"/slurmd.log; do [ -f "$f" ] && { echo "--- tail $f" >&2; tail -n 15 "$f" >&2; }; done
  exit 1
}
wait_for() { # seconds, description, command...
  local limit=$1 what=$2; shift 2
  for _ in $(seq $((limit * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  fail "timed out after ${limit}s waiting for $what"
}

# munge: our own key, socket and pid file in $T (-f: accept a root-owned temp dir).
dd if=/dev/urandom of="$T/munge.key" bs=1024 count=1 status=none
chmod 400 "$T/munge.key"
munged --foreground --force --key-file="$T/munge.key" --socket="$T/munge.sock" \
  --pid-file="$T/munged.pid" --log-file="$T/munged.log" --seed-file="$T/munged.seed" >"$T/munged.out" 2>&1 &
PIDS+=($!)
wait_for 10 "munged's socket" test -S "$T/munge.sock"

# slurm.conf: one node (this host), no cgroups, state and spool in $T, ports off the defaults.
HOST=$(hostname -s)
CPUS=$(nproc)
PORT=$((20000 + $$ % 20000))
mkdir -p "$T/state" "$T/spool"
cat > "$T/slurm.conf" <<EOF
ClusterName=tfew-e2e
SlurmctldHost=$HOST
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge.sock
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
NodeName=$HOST CPUs=$CPUS State=UNKNOWN
PartitionName=e2e Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$T/slurm.conf
slurmctld -D -i -f "$SLURM_CONF" >"$T/slurmctld.out" 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" >"$T/slurmd.out" 2>&1 &
PIDS+=($!)
wait_for 30 "the node to be idle (sinfo)" bash -c '[ "$(sinfo -h -o %t 2>/dev/null)" = idle ]'
echo "== slurm-e2e: one-node Slurm up in $(( $(date +%s) - started ))s ($T)"

# The sweep: 2 seeds x 2 step counts of the embedded demo, eval on the train split, 2 cells at a time.
cat > "$T/sweep.yaml" <<'EOF'
set: {workers: 1, monitor.gpu: "off", train.checkpoint_every: 1}
grid:
  train.steps: [2, 3]
  seed: [1, 2]
eval: {split: train}
engine: slurm
slurm: {cpus_per_task: 1, time: "00:10:00"}
max_parallel: 2
EOF
TFEW="node $REPO/bin/tfew.js"
submit=$($TFEW sweep run "$T/sweep.yaml" --out "$T/sweep") || fail "tfew sweep run"
echo "$submit"
$TFEW sweep status "$T/sweep"
job=$(sed -n 's/^submitted Slurm job \([0-9]*\).*/\1/p' <<<"$submit")
[ -n "$job" ] || fail "no job id in: $submit"
grep -q -- "--array=0-3%2" "$T/sweep/sweep.sbatch" || fail "sweep.sbatch has no --array=0-3%2"
wait_for 150 "job $job to leave the queue" bash -c "[ -z \"\$(squeue -h -j $job 2>/dev/null)\" ]"

$TFEW sweep status "$T/sweep"
$TFEW sweep collect "$T/sweep" || fail "tfew sweep collect"
rows=$(tail -n +2 "$T/sweep/results.csv" | wc -l)
complete=$(tail -n +2 "$T/sweep/results.csv" | cut -d, -f4 | grep -c '^complete$' || true)
[ "$rows" = 4 ] && [ "$complete" = 4 ] || { cat "$T/sweep/results.csv"; cat "$T"/sweep/logs/*.out; fail "expected 4 complete rows, got $complete of $rows"; }
again=$($TFEW sweep run "$T/sweep.yaml" --out "$T/sweep")
grep -q "nothing to submit" <<<"$again" || fail "a rerun of a complete sweep submitted again: $again"
cat "$T/sweep/results.md"
echo "== slurm-e2e: passed in $(( $(date +%s) - started ))s (job $job, 4 cells complete)"
