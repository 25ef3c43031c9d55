#!/usr/bin/env bash
# Runs CMD ARGS... inside the Debian 13 lavapipe root (scripts/lavapipe-root.sh) with this repo at its own path,
# this host's node and VK_ICD_FILENAMES set: WebGPU (Dawn) on a software Vulkan. Exit: CMD's, or 77 when skipped
# (one line "lavapipe: skipped: <why>"; a CMD that itself exits 77 reads the same).
# TFEW_LAVAPIPE_NO_NODE=1 keeps node off PATH inside (to run the kit's bin/tfew, which brings its own).
set -euo pipefail

readonly NODE_DIR=/opt/tfew-node/bin # node's place inside the root: on PATH unless TFEW_LAVAPIPE_NO_NODE=1
readonly ICD=/usr/share/vulkan/icd.d/lvp_icd.json
readonly NS_MARK=TFEW_LAVAPIPE_NAMESPACE

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
readonly REPO
MOUNTS=() # mount points made by this script, in mount order (unmounted in reverse)
CHILD=    # CMD's process while it runs

log() { echo "lavapipe: $*" >&2; }

usage() {
  echo "usage: scripts/lavapipe-run.sh CMD [ARGS...]   (runs CMD in $REPO inside the lavapipe root)" >&2
  exit 2
}

# Bind mount that cannot hand an unmount back to the host (rslave), recorded for the cleanup.
bind() {
  local source=$1 target=$2
  if [[ -d $source ]]; then mkdir -p "$target"; else mkdir -p "$(dirname "$target")" && touch "$target"; fi
  mount --rbind "$source" "$target"
  MOUNTS+=("$target")
  mount --make-rslave "$target"
}

mount_proc() {
  mkdir -p "$1/proc"
  mount -t proc proc "$1/proc"
  MOUNTS+=("$1/proc")
}

# Runs on every exit (normal, error, signal): unmounts in reverse order, then checks that nothing is left.
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount -R "${MOUNTS[i]}" 2>/dev/null || umount -R -l "${MOUNTS[i]}" || log "could not unmount ${MOUNTS[i]}"
  done
  MOUNTS=()
  if [[ -n ${ROOT:-} ]] && findmnt -rn -o TARGET | grep -q "^$ROOT/"; then
    log "mounts left below $ROOT:"
    findmnt -rn -o TARGET | grep "^$ROOT/" >&2
  fi
}

# npm and npx (plain JavaScript) from the host's node install, beside node: `npx vitest` works inside.
bind_npm() {
  local npm_cli package
  npm_cli=$(readlink -f "$(command -v npm)" 2>/dev/null) || return 0
  package=$(dirname "$(dirname "$npm_cli")") # .../node_modules/npm
  [[ -f $package/bin/npx-cli.js ]] || return 0
  bind "$package" "$ROOT$NODE_DIR/../lib/node_modules/npm"
  ln -sfn ../lib/node_modules/npm/bin/npm-cli.js "$ROOT$NODE_DIR/npm"
  ln -sfn ../lib/node_modules/npm/bin/npx-cli.js "$ROOT$NODE_DIR/npx"
}

# A signal to this script goes on to CMD; the wait loop then collects CMD's status and the EXIT trap unmounts.
# (Bash runs traps only between commands: CMD runs in the background and is waited for so that they run at once.)
# shellcheck disable=SC2317 # called by the signal traps
forward() {
  if [[ -n ${CHILD:-} ]]; then kill -"$1" "$CHILD" 2>/dev/null || true; else exit "$2"; fi
}

# Runs CMD in the background (stdin kept) and waits until it is gone; returns its exit status.
run_and_wait() {
  "$@" <&0 &
  CHILD=$!
  local status
  while true; do
    status=0
    wait "$CHILD" || status=$?
    kill -0 "$CHILD" 2>/dev/null || break # gone: $status is its own; else a trapped signal interrupted wait
  done
  CHILD=
  return "$status"
}

# Mounts, then runs CMD in the repo folder inside the root; returns CMD's exit status.
run_inside() {
  local node
  node=$(readlink -f "$(command -v node)") || { log "no node on this host's PATH"; return 1; }
  trap cleanup EXIT
  trap 'forward INT 130' INT
  trap 'forward TERM 143' TERM
  trap 'forward HUP 129' HUP
  bind /dev "$ROOT/dev"
  mount_proc "$ROOT"
  bind /sys "$ROOT/sys" # Mesa and the Vulkan loader read /sys (CPU topology, device list)
  bind /tmp "$ROOT/tmp" # tests and the CLI write temp folders: the same ones inside and outside
  bind "$REPO" "$ROOT$REPO"
  # node (glibc, libstdc++ only; see ldd) runs unchanged on Debian 13's newer libraries.
  bind "$node" "$ROOT$NODE_DIR/node"
  bind_npm
  local path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  [[ ${TFEW_LAVAPIPE_NO_NODE:-0} == 1 ]] || path="$NODE_DIR:$path"
  local status=0
  # The caller's environment passes through (TFEW_*, CI); only what points into the host's system is replaced.
  # shellcheck disable=SC2016 # $1 and $@ belong to the inner bash
  run_and_wait env -u LD_LIBRARY_PATH -u VK_DRIVER_FILES PATH="$path" VK_ICD_FILENAMES="$ICD" \
    chroot "$ROOT" /bin/bash -c 'cd "$1" && shift && exec "$@"' lavapipe "$REPO" "$@" || status=$?
  return "$status"
}

main() {
  [[ $# -ge 1 ]] || usage
  local status=0
  # A cached root needs no build, but the bind mounts and chroot still need root.
  if [[ $(id -u) -ne 0 ]]; then
    echo "lavapipe: skipped: needs root (chroot bind mounts)" >&2
    exit 77
  fi
  ROOT=$("$REPO/scripts/lavapipe-root.sh") || exit $? # 77 (skipped) passes through with its one line
  readonly ROOT
  if [[ -z ${!NS_MARK:-} ]] && command -v unshare >/dev/null; then
    # A private mount namespace: the kernel drops every mount made here when the run ends, even on SIGKILL;
    # the trap's unmounting is the second line of defence and covers hosts without unshare.
    export "$NS_MARK=1"
    exec unshare --mount --propagation private "$0" "$@"
  fi
  run_inside "$@" || status=$?
  exit "$status"
}

main "$@"
