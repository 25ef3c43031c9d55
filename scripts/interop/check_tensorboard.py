"""TensorBoard itself reads tfew's event files (what prepare.py made in WORK):

- EventAccumulator (tensorboard.backend.event_processing, purge_orphaned_data off so a repeated step would show):
  every tag and step that metrics.jsonl holds, values equal at float32, no other tag — for a run killed with
  SIGKILL and resumed (each step exactly once across its files) and for an uninterrupted multi-task run;
- `tfew eval --out`'s eval/accuracy, eval/macro_f1, eval/f1/<label> at the run's last step equal metrics.json;
- TensorBoard served on 127.0.0.1 answers its scalars route with the same steps and values.

    python scripts/interop/check_tensorboard.py WORK
"""

from __future__ import annotations

import glob
import json
import os
import socket
import sys
import time
import urllib.parse
import urllib.request

import numpy as np
import tensorboard
from tensorboard.backend.event_processing import event_accumulator

from common import Report, read_jsonl

report = Report(f"tensorboard {tensorboard.__version__}")
Series = dict[str, list[tuple[int, float]]]  # tag → [(step, value)] in file order


def f32(value: float) -> float:
    return float(np.float32(value))


def read_events(folder: str) -> Series:
    acc = event_accumulator.EventAccumulator(
        folder, size_guidance={event_accumulator.SCALARS: 0}, purge_orphaned_data=False
    )
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def expected_series(metrics: list[dict], tags: dict[str, str]) -> Series:
    """What tfew promises: each metrics.jsonl field that has a tag, at each row's step, as float32."""
    out: Series = {}
    for row in metrics:
        for field, tag in tags.items():
            value = row.get(field)
            if isinstance(value, (int, float)) and np.isfinite(value):
                out.setdefault(tag, []).append((row["step"], f32(value)))
    return out


def compare(what: str, got: Series, want: Series, source: str = "metrics.jsonl") -> None:
    report.check(
        f"{what}: tags",
        set(got) == set(want),
        f"{len(got)} tags; missing {sorted(set(want) - set(got))}, " f"unexpected {sorted(set(got) - set(want))}",
    )
    steps_ok = all([s for s, _ in got.get(tag, [])] == [s for s, _ in series] for tag, series in want.items())
    steps = sorted({s for series in got.values() for s, _ in series})
    report.check(
        f"{what}: steps (each exactly once, per tag)", steps_ok, f"steps {steps[0]}..{steps[-1]}" if steps else "none"
    )
    diff = max(
        (abs(a - b) for tag, series in want.items() for (_, a), (_, b) in zip(got.get(tag, []), series)),
        default=float("inf"),
    )
    report.exact(f"{what}: values vs {source} at float32", diff)


def check_run(work: str, name: str, tags: dict[str, str], files_at_least: int) -> Series:
    folder = os.path.join(work, name)
    files = glob.glob(os.path.join(folder, "events.out.tfevents.*"))
    report.check(f"{name}: event files", len(files) >= files_at_least, f"{len(files)} (at least {files_at_least})")
    metrics = read_jsonl(os.path.join(folder, "metrics.jsonl"))
    steps = [row["step"] for row in metrics]
    report.check(f"{name}: metrics.jsonl steps", steps == list(range(1, len(steps) + 1)), f"{steps}")
    got = read_events(folder)
    compare(name, got, expected_series(metrics, tags))
    return got


def check_eval(work: str, last_step: int) -> None:
    with open(os.path.join(work, "eval", "metrics.json"), encoding="utf8") as f:
        metrics = json.load(f)
    want = {
        "eval/accuracy": metrics["accuracy"],
        "eval/macro_f1": metrics["macro_f1"],
        **{f"eval/f1/{c['label']}": c["f1"] for c in metrics["per_class"]},
    }
    compare(
        "eval",
        read_events(os.path.join(work, "eval")),
        {t: [(last_step, f32(v))] for t, v in want.items()},
        "metrics.json",
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def check_server(work: str, want: Series) -> None:
    """TensorBoard's own server (in this process) on 127.0.0.1: /data/plugin/scalars/scalars for run/'s train/loss."""
    from tensorboard import program

    board = program.TensorBoard()
    board.configure(
        argv=[None, "--logdir", work, "--host", "127.0.0.1", "--port", str(free_port()), "--load_fast", "false"]
    )
    url = board.launch().rstrip("/")
    query = urllib.parse.urlencode({"run": "run", "tag": "train/loss"})
    deadline, rows = time.monotonic() + 30, None
    while time.monotonic() < deadline:  # the first reload of the logdir runs in the background
        try:
            rows = fetch_json(f"{url}/data/plugin/scalars/scalars?{query}")
            break
        except OSError:
            time.sleep(0.3)
    if not isinstance(rows, list):
        report.check("server: scalars route", False, f"no answer from {url} in 30 s")
        return
    got = [(int(step), float(value)) for _, step, value in rows]
    diff = max_pair_diff(got, want["train/loss"])
    report.check(
        "server: GET /data/plugin/scalars/scalars?run=run&tag=train/loss",
        diff == 0.0,
        f"{len(got)} points, steps {[s for s, _ in got]}, max |Δ| vs EventAccumulator {diff:.3g} (must be 0)",
    )


def max_pair_diff(got: list[tuple[int, float]], want: list[tuple[int, float]]) -> float:
    if [s for s, _ in got] != [s for s, _ in want]:
        return float("inf")
    return max((abs(a - b) for (_, a), (_, b) in zip(got, want)), default=0.0)


def main(work: str) -> int:
    with open(os.path.join(work, "tags.json"), encoding="utf8") as f:
        tags: dict[str, str] = json.load(f)
    run = check_run(work, "run", tags, files_at_least=2)  # killed + resumed: the resumed part writes a new file
    check_run(work, "multi", tags, files_at_least=1)
    check_eval(work, last_step=max(s for s, _ in run["train/loss"]))
    check_server(work, run)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
