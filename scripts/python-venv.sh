#!/usr/bin/env bash
# Makes (once) the Python environment of scripts/python-interop.sh and prints its folder on stdout.
#
#   scripts/python-venv.sh        # → ${TFEW_CACHE_DIR:-$HOME/.cache/tfew}/py-<hash of the requirements>
#
# The venv holds scripts/interop/requirements.txt (torch CPU, transformers 5.x, peft, safetensors, tokenizers,
# tensorboard); <venv>/transformers4 holds scripts/interop/requirements-transformers4.txt, installed --no-deps, so
# that PYTHONPATH=<venv>/transformers4 runs the same checks on transformers 4.x. Installed through `python3 -m pip`
# with PIP_RETRIES=0: whatever index pip is configured with (PyPI on a user's machine). A stamp file written last
# marks a complete venv: a rerun finds it in milliseconds; an interrupted install is redone.
# Exit: 0 ready; 77 pip (or venv) cannot install here (one line "python-interop: skipped: <why>"); 1 anything else.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
requirements=$root/scripts/interop/requirements.txt
requirements4=$root/scripts/interop/requirements-transformers4.txt
cache_root=${TFEW_CACHE_DIR:-$HOME/.cache/tfew}
key=$(cat "$requirements" "$requirements4" | sha256sum | cut -c1-16)
venv=$cache_root/py-$key
stamp=$venv/.tfew-complete

# on stderr: stdout carries only the venv folder (callers capture it)
skip() { echo "python-interop: skipped: $*" >&2; exit 77; }

if [[ -f $stamp ]]; then echo "$venv"; exit 0; fi
command -v python3 >/dev/null 2>&1 || skip "no python3 on PATH"
mkdir -p "$cache_root"
# one installer at a time; a second caller waits, then finds the stamp
exec 9>"$venv.lock"
flock 9
if [[ -f $stamp ]]; then echo "$venv"; exit 0; fi

log=$cache_root/py-$key.log
rm -rf "$venv"
: >"$log"
python3 -m venv "$venv" >>"$log" 2>&1 || skip "python3 -m venv failed (is python3-venv installed? log: $log)"
export PIP_RETRIES=0 PIP_DISABLE_PIP_VERSION_CHECK=1
pip_install() { "$venv/bin/python" -m pip install --quiet --no-input "$@" >>"$log" 2>&1; }
pip_install -r "$requirements" ||
  skip "pip cannot install scripts/interop/requirements.txt here ($(grep -m1 '^ERROR' "$log" || echo "log: $log"))"
t4=$venv/transformers4
pip_install --no-deps --target "$t4" -r "$requirements4" ||
  skip "pip cannot install transformers 4.x here ($(grep -m1 '^ERROR' "$log" || echo "log: $log"))"
# transformers 4.57 checks huggingface-hub >=0.34,<1.0 when imported. Where pip has such a release it goes beside
# it; where it has none (this CI host's local index holds 1.33 and 2.0 only), 4.57.6 runs on the venv's hub 1.x,
# and a metadata-only stub tells its import-time check 0.36.0. Loading local folders, all these checks do, works
# on hub 1.x; check_peft.py prints which hub it ran on.
if ! pip_install --no-deps --target "$t4" "huggingface-hub>=0.34,<1.0"; then
  stub=$t4/huggingface_hub-0.36.0.dist-info
  mkdir -p "$stub"
  printf 'Metadata-Version: 2.1\nName: huggingface-hub\nVersion: 0.36.0\nSummary: %s\n' \
    "tfew stub for transformers 4.57's import-time version check; the package is the venv's huggingface_hub 1.x" \
    >"$stub/METADATA"
fi
touch "$stamp"
echo "$venv"
