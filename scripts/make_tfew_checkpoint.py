#!/usr/bin/env python3
# Writes a checkpoint in t-few's (IA)^3 format (r-three/t-few, configs/ia3.json with src/models/lora.py): torch.save
# of a dict {"<module path>.multi_lora_b": float32 tensor [out_features, 1]} for the k and v of every SelfAttention /
# EncDecAttention and the wi_1 of every DenseReluDense of a gated T5, the parameters its ia3 config trains. Values are
# 1 + scale * N(0, 1), seeded. For tests/t-few.test.ts (tests/fixtures/t-few/); needs only torch:
#   python3 scripts/make_tfew_checkpoint.py --config data/demo-model/config.json --out tests/fixtures/t-few/demo.pt
#   python3 scripts/make_tfew_checkpoint.py --config data/demo-model/config.json --num-heads 8 \
#       --out tests/fixtures/t-few/demo-8-heads.pt   # a file for another model shape
import argparse
import json

import torch


def module_shapes(cfg):
    """(path, out_features) of every module t-few's default ia3 regexes pick, in model order."""
    inner = cfg["num_heads"] * cfg["d_kv"]
    if not cfg.get("feed_forward_proj", "relu").startswith("gated"):
        raise SystemExit("t-few's ia3 config targets wi_1, which only gated feed-forward blocks have")
    out = []
    for stack, layers, attention in [
        ("encoder", cfg["num_layers"], ["SelfAttention"]),
        ("decoder", cfg.get("num_decoder_layers") or cfg["num_layers"], ["SelfAttention", "EncDecAttention"]),
    ]:
        for b in range(layers):
            for i, name in enumerate(attention):
                for child in ("k", "v"):
                    out.append((f"{stack}.block.{b}.layer.{i}.{name}.{child}", inner))
            out.append((f"{stack}.block.{b}.layer.{len(attention)}.DenseReluDense.wi_1", cfg["d_ff"]))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True, help="the model's config.json")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scale", type=float, default=0.2)
    p.add_argument("--num-heads", type=int, help="override num_heads (a file for another model shape)")
    args = p.parse_args()
    with open(args.config) as f:
        cfg = json.load(f)
    if args.num_heads is not None:
        cfg["num_heads"] = args.num_heads
    g = torch.Generator().manual_seed(args.seed)
    state = {
        f"{path}.multi_lora_b": 1 + args.scale * torch.randn(n, 1, generator=g, dtype=torch.float32)
        for path, n in module_shapes(cfg)
    }
    torch.save(state, args.out)
    print(f"wrote {len(state)} vectors, {sum(t.numel() for t in state.values())} values to {args.out}")


if __name__ == "__main__":
    main()
