#!/usr/bin/python3
# Proves scripts/torch_reference.py computes the HF/PEFT/t-few math: runs it on the gold tiny model of
# tests/fixtures/hf-reference/t5-tiny-gated (cases 1-4 of its README) and compares (rel <= 1e-4). Exit 1 on failure.
#   /usr/bin/python3 scripts/torch_reference_check.py
import json
import os
import struct
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import Adafactor, T5Config, T5IA3, peft_name, tfew_losses  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "tests", "fixtures", "hf-reference", "t5-tiny-gated")
TOL = 1e-4
DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool}
failures = []


def read_safetensors(path):
    """u64-LE header length, JSON header {name: {dtype, shape, data_offsets}}, raw little-endian row-major data."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        dtype = DTYPES[meta["dtype"]]
        raw = bytearray(data[8 + n + start:8 + n + end])  # writable copy: frombuffer shares memory
        t = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(meta["shape"])
    return out


def check(what, got, want, tol=TOL):
    got, want = torch.as_tensor(got).detach().double(), torch.as_tensor(want).double()
    if got.shape != want.shape:
        ok, rel = False, float("inf")
    else:
        rel = ((got - want).abs().max() / want.abs().max().clamp(min=1e-30)).item() if want.numel() else 0.0
        ok = rel <= tol
    print(f"{'PASS' if ok else 'FAIL'} {what}: rel {rel:.2e} (tol {tol:g})")
    if not ok:
        failures.append(what)


def check_exact(what, got, want):
    ok = torch.equal(torch.as_tensor(got).long(), torch.as_tensor(want).long())
    print(f"{'PASS' if ok else 'FAIL'} {what}: {torch.as_tensor(got).tolist()} vs {torch.as_tensor(want).tolist()}")
    if not ok:
        failures.append(what)


def load_model(ia3=None):
    with open(os.path.join(FIX, "config.json")) as f:
        cfg = T5Config.from_hf(json.load(f))
    return T5IA3(cfg, read_safetensors(os.path.join(FIX, "model.safetensors")), ia3)


def seq2seq(model, case):
    """HF T5ForConditionalGeneration(input_ids, attention_mask, decoder_input_ids, labels): logits, enc, loss."""
    enc = model.encode(case["input_ids"], case["attention_mask"])
    logits = model.decode(case["decoder_input_ids"], enc, case["attention_mask"])
    loss = F.cross_entropy(logits.flatten(0, 1), case["labels"].flatten(), ignore_index=-100)
    return logits, enc, loss


def main():
    torch.set_num_threads(1)
    targets = None

    # case 1: base model forward (vectors all 1.0 = no adapter)
    c1 = read_safetensors(os.path.join(FIX, "forward.safetensors"))
    model = load_model()
    targets = list(model.ia3)
    with torch.no_grad():
        logits, enc, loss = seq2seq(model, c1)
    check("case1 encoder_last_hidden_state", enc, c1["encoder_last_hidden_state"])
    check("case1 logits", logits, c1["logits"])
    check("case1 loss", loss, c1["loss"])

    # case 2: (IA)³ forward + backward
    c2 = read_safetensors(os.path.join(FIX, "ia3.safetensors"))
    ia3 = {p: c2[peft_name(p)] for p in targets}
    model = load_model(ia3)
    logits, _, loss = seq2seq(model, c2)
    loss.backward()
    check("case2 logits", logits, c2["logits"])
    check("case2 loss", loss, c2["loss"])
    check("case2 grads (16 vectors, worst)", *worst(model, c2, ".grad"))

    # case 3: T-Few step, t-few style (encoder output repeated per choice) and with shared cross-attention K/V
    c3 = read_safetensors(os.path.join(FIX, "tfew.safetensors"))
    for share in (False, True):
        tag = f"case3{' share-cross-kv' if share else ''}"
        model = load_model(ia3)
        out = tfew_losses(model, c3["input_ids"], c3["choices_ids"], c3["labels"], share_cross_kv=share)
        for k in ("lm_loss", "mc_loss", "unlikely_loss", "total_loss", "token_nll", "choice_scores",
                  "cand_loglikely"):
            check(f"{tag} {k}", out[k], c3[k])
        check_exact(f"{tag} predictions", out["predictions"], c3["predictions"])
        params = model.parameters()
        for term, suffix in (("lm_loss", ".grad_lm"), ("mc_loss", ".grad_mc"), ("unlikely_loss", ".grad_ul")):
            grads = torch.autograd.grad(out[term], params, retain_graph=True)
            for p, g in zip(params, grads):
                p.grad = g
            check(f"{tag} {suffix[1:]} (16 vectors, worst)", *worst(model, c3, suffix))
        for p in params:
            p.grad = None
        out["total_loss"].backward()
        check(f"{tag} grad of total_loss (16 vectors, worst)", *worst(model, c3, ".grad"))

    # case 4: Adafactor, two steps with the same gradient
    c4 = read_safetensors(os.path.join(FIX, "adafactor.safetensors"))
    params = {p: c4[peft_name(p) + ".init"].clone().requires_grad_(True) for p in targets}
    opt = Adafactor(params.values(), lr=3e-3)
    for step in (1, 2):
        before = {p: t.detach().clone() for p, t in params.items()}
        prev = {p: c4[peft_name(p) + (".init" if step == 1 else ".step1")] for p in params}
        for p, t in params.items():
            t.grad = c4[peft_name(p) + ".grad"].clone()
        opt.step()
        check(f"case4 adafactor step{step} values (16 vectors, worst)",
              *stack_worst([(t, c4[peft_name(p) + f".step{step}"]) for p, t in params.items()]))
        # the update is ~3e-3 of the value, so judge it on its own too
        check(f"case4 adafactor step{step} update (16 vectors, worst)",
              *stack_worst([(t.detach() - before[p], c4[peft_name(p) + f".step{step}"] - prev[p])
                            for p, t in params.items()]))
    for key, skey in (("row", "exp_avg_sq_row"), ("col", "exp_avg_sq_col")):
        check(f"case4 adafactor state {skey} (16 vectors, worst)",
              *stack_worst([(opt.state[id(t)][key], c4[peft_name(p) + f".state.{skey}"]) for p, t in params.items()]))

    print(f"{'FAIL' if failures else 'PASS'}: {len(failures)} failed" + (f" ({', '.join(failures)})" if failures else ""))
    return 1 if failures else 0


def worst(model, case, suffix):
    return stack_worst([(t.grad, case[peft_name(p) + suffix]) for p, t in model.ia3.items()])


def stack_worst(pairs):
    """The pair with the largest relative error (each tensor judged against its own max)."""
    def rel(a, b):
        if a is None or a.shape != b.shape:
            return float("inf")
        return ((a.double() - b.double()).abs().max() / b.double().abs().max().clamp(min=1e-30)).item()
    a, b = max(pairs, key=lambda ab: rel(*ab))
    return (a if a is not None else torch.full_like(b, float("nan"))), b


if __name__ == "__main__":
    sys.exit(main())
