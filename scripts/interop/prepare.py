"""Makes what the interop checks read, with tfew's own CLI, in WORK (run from scripts/python-interop.sh):

run/      the embedded demo, 8 steps, checkpoint every 3, SIGKILLed after step 5 and resumed (`--resume`),
          then `tfew eval --run` (eval/* scalars at step 8)
multi/    a two-task run (data.tasks: one, two; adapter.routing: task): adapter/one/, adapter/two/
merged/   `tfew merge` (average) of run/adapter and multi/adapter/one
export/   `tfew export` of data/demo-model with run/adapter folded in
pairs.jsonl  the {"source", "target"} pairs every score is taken on (demo tickets and their labels)
tags.json    tfew's metrics.jsonl field → TensorBoard tag table (dist/monitor/event-writer.js TRAIN_TAGS)

  python scripts/interop/prepare.py WORK
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

from common import DEMO_TASK, ROOT, TFEW, run_tfew, write_jsonl

QUICK = ["--set", "workers=1", "--set", "monitor.gpu=off", "--set", "train.batch_size=4"]


def killed_and_resumed(run: str) -> None:
    """tfew train killed with SIGKILL once step 5 is logged (checkpoint at step 3), then `tfew train --resume`."""
    args = ["node", TFEW, "train", "--out", run, *QUICK, "--set", "train.steps=8", "--set", "train.checkpoint_every=3"]
    child = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert child.stderr is not None
    seen = ""
    for line in child.stderr:  # progress lines: "train step 5/8 ..."
        seen += line
        if "train step 5/8" in line:
            child.send_signal(signal.SIGKILL)
            break
    child.wait()
    if child.returncode != -signal.SIGKILL:
        raise SystemExit(f"prepare: tfew train ended ({child.returncode}) before step 5 was logged:\n{seen[-2000:]}")
    run_tfew(["train", "--resume", run])


def demo_pairs() -> list[dict]:
    """The first 8 demo tickets with their labels as targets (multi-line and quoted texts among them)."""
    with open(os.path.join(DEMO_TASK, "train.csv"), newline="", encoding="utf8") as f:
        rows = list(csv.DictReader(f))[:8]
    return [{"source": row["Ticket"], "target": row["Label"].strip()} for row in rows]


def train_tags() -> dict[str, str]:
    script = "import(process.argv[1]).then((m) => process.stdout.write(JSON.stringify(m.TRAIN_TAGS)))"
    module = os.path.join(ROOT, "dist", "monitor", "event-writer.js")
    return json.loads(subprocess.run(["node", "-e", script, module], capture_output=True, text=True, check=True).stdout)


def main(work: str) -> int:
    t0 = time.monotonic()
    run, multi = os.path.join(work, "run"), os.path.join(work, "multi")
    killed_and_resumed(run)
    run_tfew(["eval", "--run", run, "--out", os.path.join(work, "eval")])
    tasks = f"data.tasks=[{{name: one, path: {DEMO_TASK}}}, {{name: two, path: {DEMO_TASK}, weight: 2}}]"
    run_tfew(["train", "--out", multi, *QUICK, "--set", "train.steps=4", "--set", tasks])
    adapter = os.path.join(run, "adapter")
    run_tfew(
        [
            "merge",
            "--adapter",
            adapter,
            "--adapter",
            os.path.join(multi, "adapter", "one"),
            "--out",
            os.path.join(work, "merged"),
        ]
    )
    run_tfew(["export", "--model", "data/demo-model", "--adapter", adapter, "--out", os.path.join(work, "export")])
    write_jsonl(os.path.join(work, "pairs.jsonl"), demo_pairs())
    with open(os.path.join(work, "tags.json"), "w", encoding="utf8") as f:
        json.dump(train_tags(), f)
    took = time.monotonic() - t0
    print(f"prepare: tfew train (killed + resumed), eval, multi-task train, merge, export in {took:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
