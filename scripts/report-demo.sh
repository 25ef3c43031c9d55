#!/usr/bin/env bash
# Makes docs/report-demo.png, the README's picture of `tfew report`: two demo runs (seed 42 at the default lr,
# seed 7 at lr 0.01), an eval of the first, the report over both, and a headless-Chromium screenshot of it.
#   npm run build && scripts/report-demo.sh        (needs `chromium` on PATH, or CHROMIUM=/path/to/chrome)
# Env: HEIGHT (page height in CSS px to capture, default 1604 = the whole page), SCALE (default 0.6).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tfew() { node "$root/bin/tfew.js" "$@"; }
quick=(--set workers=1 --set monitor.gpu=off)
cd "$work"
tfew train --out runs/demo-seed42 "${quick[@]}"
tfew train --out runs/demo-seed7-lr0.01 --set seed=7 --set train.lr=0.01 "${quick[@]}"
tfew eval --run runs/demo-seed42 --out runs/demo-seed42/eval "${quick[@]}"
tfew report runs/demo-seed42 runs/demo-seed7-lr0.01 --output report.html
"${CHROMIUM:-chromium}" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$work/profile" \
  --host-resolver-rules="MAP * ~NOTFOUND" --window-size="1340,${HEIGHT:-1604}" --force-device-scale-factor="${SCALE:-0.6}" \
  --screenshot="$root/docs/report-demo.png" "file://$work/report.html" 2>/dev/null
ls -l "$root/docs/report-demo.png"
