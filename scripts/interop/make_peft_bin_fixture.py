"""Writes tests/fixtures/peft-bin/: one PEFT-made (IA)³ adapter of data/demo-model saved twice by PEFT itself,
as adapter_model.bin (torch.save: `safe_serialization=False`, PEFT < 0.7's default) in bin/ and as
adapter_model.safetensors in safetensors/. tests/peft-bin.test.ts checks that tfew reads both to the same vectors
and scores them the same. The vectors are 1 + 0.5·N(0, 1) from a fixed seed, so they differ from the identity.

    "$(scripts/python-venv.sh)/bin/python" scripts/interop/make_peft_bin_fixture.py   # from the repo root
"""

import os
import shutil
import sys

import torch
from peft import IA3Config, PeftModel, get_peft_model
from transformers import T5ForConditionalGeneration

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "peft-bin")
BASE = "data/demo-model"  # relative, as a user would type it: PEFT records it as base_model_name_or_path


def make_adapter(base: str, seed: int) -> PeftModel:
    """PEFT's IA3 on the T5 at `base` (target k, v, wo; wo feed-forward), vectors moved away from 1."""
    model = T5ForConditionalGeneration.from_pretrained(base)
    config = IA3Config(task_type="SEQ_2_SEQ_LM", target_modules=["k", "v", "wo"], feedforward_modules=["wo"])
    peft_model = get_peft_model(model, config)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "ia3_l" in name:
                param.copy_(1 + 0.5 * torch.randn(param.shape, generator=generator))
    return peft_model


def save_twice(peft_model: PeftModel, out: str) -> None:
    """The same adapter as bin/adapter_model.bin and safetensors/adapter_model.safetensors (PEFT's own writers)."""
    for sub, safe in (("bin", False), ("safetensors", True)):
        folder = os.path.join(out, sub)
        shutil.rmtree(folder, ignore_errors=True)
        peft_model.save_pretrained(folder, safe_serialization=safe)
        readme = os.path.join(folder, "README.md")  # PEFT's model card template: not part of the fixture
        if os.path.exists(readme):
            os.remove(readme)


def main() -> int:
    os.chdir(ROOT)
    torch.manual_seed(0)
    save_twice(make_adapter(BASE, seed=20), OUT)
    for sub in ("bin", "safetensors"):
        folder = os.path.join(OUT, sub)
        sizes = ", ".join(f"{n} {os.path.getsize(os.path.join(folder, n))} B" for n in sorted(os.listdir(folder)))
        print(f"wrote {os.path.relpath(folder, ROOT)}: {sizes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
