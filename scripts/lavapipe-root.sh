#!/usr/bin/env bash
# Builds (once, cached) a Debian 13 root with Mesa's lavapipe (software Vulkan), where Dawn/WebGPU runs on a CPU.
# Prints the root's path. Exit 77 with one line "lavapipe: skipped: <why>" when it cannot be built here.
set -euo pipefail

readonly SKIP=77
readonly SUITE=trixie
readonly PACKAGES=mesa-vulkan-drivers,libvulkan1,vulkan-tools
# The stamp holds the recipe: a root built from another recipe is rebuilt, a root without a stamp is half-built.
readonly RECIPE="suite=$SUITE variant=apt include=$PACKAGES etc-hosts=localhost"
readonly STAMP_NAME=.tfew-lavapipe-complete

cache_dir() { echo "${TFEW_CACHE_DIR:-$HOME/.cache/tfew}"; }
root_dir() { echo "$(cache_dir)/lavapipe-root"; }

skip() {
  echo "lavapipe: skipped: $*" >&2
  exit "$SKIP"
}

log() { echo "lavapipe: $*" >&2; }

# The Debian mirror this host already uses (deb822 sources), never a host name written into the repo.
# Takes the URIs of the entry whose suites are not -security ones.
debian_mirror() {
  local file
  for file in /etc/apt/sources.list.d/*.sources; do
    [[ -r $file ]] || continue
    awk '
      function flush() {
        if (uris != "" && suites !~ /-security/) { print uris; found = 1; exit }
        uris = ""; suites = ""
      }
      /^[[:space:]]*$/ { flush(); next }
      /^URIs:/ { uris = $2 }
      /^Suites:/ { suites = $0 }
      END { if (!found) flush() }
    ' "$file"
  done | head -n 1
}

is_complete() {
  local root=$1
  [[ -f $root/$STAMP_NAME ]] && [[ $(cat "$root/$STAMP_NAME") == "$RECIPE" ]]
}

# Never delete through a live bind mount (it would wipe the repo or /dev): refuse when anything is mounted below.
safe_remove() {
  local dir=$1
  [[ -e $dir ]] || return 0
  if findmnt -rn -o TARGET | awk -v d="$dir" 'index($0, d "/") == 1 || $0 == d { hit = 1 } END { exit !hit }'; then
    log "refusing to delete $dir: something is mounted below it (see findmnt); unmount it first"
    exit 1
  fi
  rm -rf --one-file-system "$dir"
}

check_prerequisites() {
  [[ $(id -u) -eq 0 ]] || skip "needs root (mmdebstrap root mode and chroot bind mounts)"
  command -v mmdebstrap >/dev/null || skip "mmdebstrap not installed (apt-get install mmdebstrap)"
  [[ -n $MIRROR ]] || skip "no Debian mirror in /etc/apt/sources.list.d/*.sources"
  # A cheap reachability check so that an offline host skips in seconds instead of failing mid-build.
  if command -v curl >/dev/null && ! curl -fs -o /dev/null --max-time 20 "$MIRROR/dists/$SUITE/Release"; then
    skip "Debian mirror $MIRROR unreachable (no network?)"
  fi
}

build() {
  local root=$1 partial="$1.partial" started
  safe_remove "$partial"
  started=$(date +%s)
  log "building Debian $SUITE root with lavapipe in $root (about 600 MB, a minute or two)"
  # Built beside the final path and renamed at the end: an interrupted build never looks complete.
  if ! mmdebstrap --quiet --variant=apt --include="$PACKAGES" "$SUITE" "$partial" "$MIRROR" >&2; then
    safe_remove "$partial"
    skip "mmdebstrap failed (network or mirror problem; see the lines above)"
  fi
  # mmdebstrap writes no /etc/hosts: without one "localhost" does not resolve (vitest listens on it).
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$partial/etc/hosts"
  printf '%s' "$RECIPE" >"$partial/$STAMP_NAME" # written last: marks the root complete
  safe_remove "$root"
  mv "$partial" "$root"
  log "built in $(($(date +%s) - started)) s, $(du -sh --one-file-system "$root" | cut -f1)"
}

main() {
  local root
  root=$(root_dir)
  if ! is_complete "$root"; then
    MIRROR=$(debian_mirror)
    check_prerequisites
    mkdir -p "$(cache_dir)"
    # One build at a time: a second caller waits, then finds the root complete.
    exec 9>"$(cache_dir)/lavapipe-root.lock"
    flock 9
    is_complete "$root" || build "$root"
  fi
  echo "$root"
}

main "$@"
