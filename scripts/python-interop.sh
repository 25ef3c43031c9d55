#!/usr/bin/env bash
# tfew against the real Python stack, both directions (scripts/interop/*.py, one PASS/FAIL line per check with its
# measured difference):
#   - PEFT (peft 0.21, transformers 5.x and 4.x) loads tfew's trained, merged and multi-task adapters with no
#     missing/unexpected keys or warnings and scores like `tfew score` (<= 1e-4 in log p);
#   - transformers 5.x and 4.x load data/demo-model and `tfew export` output; the exported weights equal PEFT's
#     merge_and_unload() bit for bit and its logits equal the merged PEFT model's;
#   - a PEFT-made adapter saved as adapter_model.safetensors and as adapter_model.bin scores the same in tfew;
#   - TensorBoard 2.21 (EventAccumulator, and its server on 127.0.0.1) reads tfew's event files: every tag and step
#     of metrics.jsonl, values equal at float32, each step once after a SIGKILL + `tfew train --resume`.
#
#   scripts/python-interop.sh        # needs dist/ (npm run build; npm install runs it)
#
# The Python environment comes from scripts/python-venv.sh (cached). Measured on the 2-core CI host: a cold venv
# (pip installing torch CPU, transformers, peft, tensorboard from the local index) 39-69 s; warm, this whole
# script 40 s (30 s of CPU; 95 s while other jobs shared the cores). Exit: 0 all checks passed; 77 pip cannot
# install the stack here (one line "python-interop: skipped: <why>"); 1 a check failed (its FAIL line says what
# and by how much).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
venv_rc=0
venv=$(scripts/python-venv.sh) || venv_rc=$?
if [[ $venv_rc -ne 0 ]]; then exit "$venv_rc"; fi # 77: its "skipped" line is printed already
[[ -f dist/cli/main.js ]] || { echo "python-interop: failed: dist/ is missing; run npm run build first" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tfew-python-interop.XXXXXX")
trap 'rm -rf "$work"' EXIT
python=$venv/bin/python
export PYTHONDONTWRITEBYTECODE=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
SECONDS=0
status=0
"$python" scripts/interop/prepare.py "$work" || exit 1
"$python" scripts/interop/check_peft.py "$work" || status=1
PYTHONPATH=$venv/transformers4 "$python" scripts/interop/check_peft.py "$work" || status=1
"$python" scripts/interop/check_tensorboard.py "$work" || status=1
if [[ $status -ne 0 ]]; then
  echo "python-interop: failed (the FAIL lines above) after ${SECONDS} s" >&2
  exit 1
fi
echo "python-interop: all checks passed in ${SECONDS} s"
