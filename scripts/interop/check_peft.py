"""tfew ⇄ transformers + PEFT, both directions, on what prepare.py made in WORK (run once per transformers line):

- transformers loads data/demo-model (no missing/unexpected keys) and scores like `tfew score --model`;
- PEFT loads tfew's trained, merged and multi-task adapters with no missing/unexpected keys and no warning, and
  scores like `tfew score --adapter` (≤ 1e-4 in log p);
- transformers loads `tfew export` output (no missing/unexpected keys); its weights equal PEFT's own
  merge_and_unload() bit for bit, its logits equal the merged PEFT model's and match the unmerged PEFT model's;
- a PEFT-made adapter saved as adapter_model.safetensors and as adapter_model.bin scores the same in tfew.

    python scripts/interop/check_peft.py WORK
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import Any, Sequence, cast

import torch
import transformers
from peft import IA3Config, PeftModel, get_peft_model
from peft.utils import get_peft_model_state_dict, load_peft_weights
from transformers import AutoTokenizer, T5ForConditionalGeneration

from common import DEMO_MODEL, CheckFailed, Report, max_abs_diff, read_jsonl, tfew_score, versions

transformers.utils.logging.disable_progress_bar()

MAJOR = transformers.__version__.split(".")[0]
report = Report(f"transformers {transformers.__version__}")


# transformers 5.x's T5Config always sets tie_word_embeddings=True (its own __post_init__), so loading any untied T5
# (v1.1, flan-t5, the demo model) says this; it then keeps them untied, which the logits checks below confirm
UNTIED_T5_NOTE = "The tied weights mapping and config for this model specifies to tie shared.weight to lm_head.weight"


def load_t5(folder: str, name: str) -> T5ForConditionalGeneration:
    """from_pretrained with its loading report and warnings: any missing, unexpected or mismatched key fails."""
    with CapturedWarnings() as said:
        loaded = T5ForConditionalGeneration.from_pretrained(folder, output_loading_info=True)
    model, info = cast(tuple[T5ForConditionalGeneration, dict[str, list]], loaded)
    bad = {k: v for k, v in info.items() if v}
    other = [line for line in said.lines if not line.startswith(UNTIED_T5_NOTE)]
    if name in LOADED and not bad and not other:
        return model.eval()  # reported the first time
    LOADED.add(name)
    report.check(f"transformers loads {name}: keys", not bad, str(bad or "no missing/unexpected/mismatched keys"))
    report.check(
        f"transformers loads {name}: warnings",
        not other,
        "; ".join(other) or ("only transformers 5's untied-T5 note" if said.lines else "none"),
    )
    return model.eval()


LOADED: set[str] = set()


def encode_pairs(tokenizer, pairs: Sequence[dict]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [
        (tokenizer(p["source"], return_tensors="pt").input_ids, tokenizer(p["target"], return_tensors="pt").input_ids)
        for p in pairs
    ]


@torch.no_grad()
def logits_and_logprobs(model: torch.nn.Module, batches) -> tuple[list[torch.Tensor], list[float]]:
    """Per pair: the decoder logits and Σ log p(target tokens, </s> included) — what `tfew score` reports."""
    all_logits, logprobs = [], []
    for source, target in batches:
        logits = model(input_ids=source, labels=target).logits[0]
        token_logp = torch.log_softmax(logits.double(), dim=-1).gather(1, target[0].unsqueeze(1))
        all_logits.append(logits)
        logprobs.append(token_logp.sum().item())
    return all_logits, logprobs


def logits_diff(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> float:
    return max((x - y).abs().max().item() for x, y in zip(a, b))


def peft_from_tfew(adapter: str, name: str) -> PeftModel:
    """PeftModel.from_pretrained as a user calls it; fails on any warning or on keys the two sides do not share."""
    base = load_t5(DEMO_MODEL, "data/demo-model")
    with CapturedWarnings() as said:
        model = PeftModel.from_pretrained(base, adapter).eval()
    in_file = set(load_peft_weights(adapter))
    in_model = set(get_peft_model_state_dict(model))
    report.check(
        f"PEFT loads {name}: keys",
        in_file == in_model and len(in_file) > 0,
        f"{len(in_file)} ia3_l tensors, missing {sorted(in_model - in_file)}, unexpected {sorted(in_file - in_model)}",
    )
    report.check(f"PEFT loads {name}: warnings", not said.lines, "; ".join(said.lines) or "none")
    return model


class CapturedWarnings(logging.Handler):
    """Python warnings and the transformers / peft loggers' WARNING+ lines while active (instead of printing them)."""

    LOGGERS = ("transformers", "peft")

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []
        self._saved: dict[str, list[logging.Handler]] = {}
        self._warnings = warnings.catch_warnings(record=True)
        self._caught: list[warnings.WarningMessage] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def __enter__(self) -> "CapturedWarnings":
        self._caught = self._warnings.__enter__() or []
        warnings.simplefilter("always")
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            self._saved[name] = logger.handlers[:]
            logger.handlers = [self]
        return self

    def __exit__(self, *exc: Any) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).handlers = self._saved[name]
        self._warnings.__exit__(*exc)
        self.lines += [str(w.message) for w in self._caught]


def check_scores(what: str, batches, tfew_rows: list[dict], model: torch.nn.Module) -> list[torch.Tensor]:
    logits, logprobs = logits_and_logprobs(model, batches)
    report.check(
        f"{what}: target token counts",
        [int(t.shape[1]) for _, t in batches] == [r["tokens"] for r in tfew_rows],
        f"{[r['tokens'] for r in tfew_rows]}",
    )
    report.close_to(f"{what}: PyTorch log p vs tfew score", max_abs_diff(logprobs, [r["logprob"] for r in tfew_rows]))
    return logits


def check_export(work: str, batches) -> None:
    """tfew export vs PEFT: weights, logits, and tfew's own score of the exported folder."""
    peft_model = peft_from_tfew(os.path.join(work, "run", "adapter"), "run/adapter")
    unmerged, _ = logits_and_logprobs(peft_model, batches)
    with warnings.catch_warnings():  # PEFT: "embeddings are no longer tied after merging" (they never were)
        warnings.simplefilter("ignore")
        merged_model = peft_model.merge_and_unload().eval()
    exported = load_t5(os.path.join(work, "export"), "tfew export output")
    want, got = merged_model.state_dict(), exported.state_dict()
    weight_diff = max((got[k] - want[k]).abs().max().item() for k in want)
    report.check(
        "export weights vs PEFT merge_and_unload()",
        set(got) == set(want) and weight_diff == 0.0,
        f"{len(want)} tensors, max |Δ| {weight_diff:.3g} (must be 0)",
    )
    export_logits, _ = logits_and_logprobs(exported, batches)
    report.exact(
        "export logits vs merged PEFT model logits",
        logits_diff(export_logits, logits_and_logprobs(merged_model, batches)[0]),
    )
    report.close_to("export logits vs unmerged PEFT model logits", logits_diff(export_logits, unmerged))
    check_scores(
        "tfew score --model export/",
        batches,
        tfew_score(work, "export", ["--model", os.path.join(work, "export")]),
        exported,
    )


def check_peft_made(work: str, batches) -> None:
    """A PEFT-made adapter, saved by PEFT as .safetensors and as .bin, scored by tfew like PyTorch scores it."""
    model = get_peft_model(
        load_t5(DEMO_MODEL, "data/demo-model"),
        IA3Config(task_type="SEQ_2_SEQ_LM", target_modules=["k", "v", "wo"], feedforward_modules=["wo"]),
    )
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "ia3_l" in name:
                param.copy_(1 + 0.5 * torch.randn(param.shape, generator=generator))
    model.eval()
    scores = {}
    for kind, safe in (("safetensors", True), ("bin", False)):
        folder = os.path.join(work, f"peft-made-{MAJOR}", kind)
        model.save_pretrained(folder, safe_serialization=safe)
        scores[kind] = tfew_score(work, f"peft-made-{MAJOR}-{kind}", ["--model", DEMO_MODEL, "--adapter", folder])
        check_scores(f"PEFT-made adapter_model.{kind} in tfew score", batches, scores[kind], model)
    report.exact(
        "tfew score: PEFT-made .bin vs .safetensors",
        max_abs_diff([r["logprob"] for r in scores["bin"]], [r["logprob"] for r in scores["safetensors"]]),
    )


def main(work: str) -> int:
    torch.manual_seed(0)
    print(f"{report.prefix}: {versions()}", flush=True)
    tokenizer = AutoTokenizer.from_pretrained(DEMO_MODEL)
    batches = encode_pairs(tokenizer, read_jsonl(os.path.join(work, "pairs.jsonl")))
    try:
        base = load_t5(DEMO_MODEL, "data/demo-model")
        check_scores("data/demo-model", batches, tfew_score(work, "base", ["--model", DEMO_MODEL]), base)
        for name in ("run/adapter", "merged", "multi/adapter/one", "multi/adapter/two"):
            adapter = os.path.join(work, name)
            check_scores(
                f"{name} (PEFT)",
                batches,
                tfew_score(work, name.replace("/", "-"), ["--adapter", adapter]),
                peft_from_tfew(adapter, name),
            )
        check_export(work, batches)
        if MAJOR == "4":  # the adapter files PEFT writes do not depend on the transformers line: checked once
            print(f"{report.prefix}: (PEFT-made adapters: checked in the transformers 5 pass)")
        else:
            check_peft_made(work, batches)
    except CheckFailed as error:
        report.check("tfew command", False, str(error))
    return report.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
