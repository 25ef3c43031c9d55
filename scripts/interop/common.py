"""What the interop checks share: one PASS/FAIL line per check with its measured difference, running tfew's CLI,
and a few reference computations with the real Hugging Face stack (transformers + PEFT on torch, CPU, float32)."""

from __future__ import annotations

import json
import os
from importlib import metadata
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Iterable, Sequence

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEMO_MODEL = os.path.join(ROOT, "data", "demo-model")
DEMO_TASK = os.path.join(ROOT, "data", "demo-task")
TFEW = os.path.join(ROOT, "bin", "tfew.js")
TOLERANCE = 1e-4  # |Δ log p| between tfew and PyTorch: float32 sums in another order


class CheckFailed(Exception):
    """A check that could not even be measured (a tfew command failed, a file is missing)."""


@dataclass
class Report:
    """Collects the checks of one script; `finish` prints the summary and gives the exit status."""

    prefix: str
    failures: list[str] = field(default_factory=list)

    def check(self, what: str, ok: bool, detail: str) -> None:
        print(f"{self.prefix}: {'PASS' if ok else 'FAIL'} {what}: {detail}", flush=True)
        if not ok:
            self.failures.append(what)

    def close_to(self, what: str, diff: float, tolerance: float = TOLERANCE) -> None:
        self.check(what, diff <= tolerance, f"max |Δ| {diff:.3g} (tolerance {tolerance:g})")

    def exact(self, what: str, diff: float) -> None:
        self.check(what, diff == 0.0, f"max |Δ| {diff:.3g} (must be 0)")

    def finish(self) -> int:
        if self.failures:
            print(f"{self.prefix}: {len(self.failures)} check(s) failed: {'; '.join(self.failures)}", file=sys.stderr)
            return 1
        return 0


def run_tfew(args: Sequence[str], cwd: str = ROOT) -> str:
    """`node bin/tfew.js ARGS` in `cwd` (the repo root by default); its stdout, or CheckFailed with its stderr."""
    command = ["node", TFEW, *args]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = " | ".join(result.stderr.strip().splitlines()[-3:])
        raise CheckFailed(f"tfew {' '.join(args)} exited with {result.returncode}: {tail}")
    return result.stdout


def read_jsonl(path: str) -> list[dict]:
    with open(path, encoding="utf8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: str, rows: Iterable[dict]) -> None:
    with open(path, "w", encoding="utf8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def tfew_score(work: str, name: str, source: Sequence[str]) -> list[dict]:
    """`tfew score` of work/pairs.jsonl with `source` (e.g. ["--adapter", DIR]); rows {"logprob", "tokens"}.
    Cached as work/scores/<name>.jsonl: the transformers 4.x pass reuses what the 5.x pass computed."""
    out = os.path.join(work, "scores", f"{name}.jsonl")
    if not os.path.exists(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        run_tfew(["score", *source, "--input", os.path.join(work, "pairs.jsonl"), "--output", out])
    return read_jsonl(out)


def max_abs_diff(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b):
        return float("inf")
    return max((abs(x - y) for x, y in zip(a, b)), default=0.0)


def versions() -> str:
    """The versions of the Python stack in use, e.g. "transformers 5.17.0, peft 0.21.0, torch 2.13.0+cpu"."""
    import huggingface_hub
    import peft
    import torch
    import transformers

    hub = huggingface_hub.__version__
    if metadata.version("huggingface-hub") != hub:  # scripts/python-venv.sh's stub: no hub < 1.0 in the index
        hub += f" (transformers' import-time check told {metadata.version('huggingface-hub')} by a metadata stub)"
    return (
        f"stack: transformers {transformers.__version__}, peft {peft.__version__}, torch {torch.__version__}, hub {hub}"
    )
