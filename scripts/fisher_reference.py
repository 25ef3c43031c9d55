#!/usr/bin/python3
# Writes tests/fixtures/fisher/t5-tiny-gated.json: the diagonal Fisher of the gold tiny T5's PEFT (IA)^3 vectors on
# the two examples of its case 3 (tests/fixtures/hf-reference), computed by scripts/torch_reference.py fisher_diagonal
# in float64 (float32 weights and vectors cast up), for tests/fisher-reference.test.ts. Run with Debian's torch:
#   /usr/bin/python3 scripts/fisher_reference.py [--out FILE]
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import T5Config, T5IA3, fisher_diagonal, peft_name  # noqa: E402
from torch_reference_check import FIX, read_safetensors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "fisher", "t5-tiny-gated.json")
CASES = [("model", 1.0), ("empirical", 1.0), ("model", 0.0)]


def gold_examples():
    """Case 3's examples as tfew holds them: prompt ids without padding, each choice's ids up to its </s>."""
    with open(os.path.join(FIX, "tfew.json")) as f:
        case = json.load(f)
    out = []
    for ids, mask, choices, label in zip(case["input_ids"], case["attention_mask"], case["choices_ids"], case["labels"]):
        out.append({"input_ids": ids[:sum(mask)], "choices": [c[:c.index(1) + 1] for c in choices], "label": label})
    return out


def gold_model(dtype):
    with open(os.path.join(FIX, "config.json")) as f:
        cfg = T5Config.from_hf(json.load(f))
    weights = {k: v.to(dtype) for k, v in read_safetensors(os.path.join(FIX, "model.safetensors")).items()}
    case2 = read_safetensors(os.path.join(FIX, "ia3.safetensors"))
    ia3 = {p: case2[peft_name(p)].to(dtype) for p in T5IA3(cfg, weights).ia3}
    return T5IA3(cfg, weights, ia3)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fisher reference values for tfew's tests")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    examples = gold_examples()
    cases = []
    for kind, length_norm in CASES:
        f64 = fisher_diagonal(gold_model(torch.float64), examples, kind, length_norm)
        f32 = fisher_diagonal(gold_model(torch.float32), examples, kind, length_norm)
        rel = max(((f64[p] - f32[p]).abs().max() / f64[p].abs().max()).item() for p in f64)
        print(f"{kind} length_norm={length_norm}: float32 vs float64 worst relative difference {rel:.2e}", file=sys.stderr)
        cases.append({"kind": kind, "length_norm": length_norm,
                      "fisher": {p: [float(x) for x in v.flatten().tolist()] for p, v in f64.items()}})
    result = {
        "what": "diagonal Fisher of the (IA)^3 vectors, mean over examples (tfew merge --method fisher)",
        "generated_by": "scripts/fisher_reference.py (scripts/torch_reference.py fisher_diagonal, float64, torch "
                        + torch.__version__ + ")",
        "model": "tests/fixtures/hf-reference/t5-tiny-gated (model.safetensors, vectors of ia3.safetensors)",
        "examples": examples,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f)
        f.write("\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
