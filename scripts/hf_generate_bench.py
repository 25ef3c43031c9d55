#!/usr/bin/env python3
# Hugging Face side of `npm run bench:generate`: transformers' generate (greedy, and beam search with 4 beams) on
# the same model folder and input ids as tfew's side (src/bench/generate-bench.ts), min_new_tokens = max_new_tokens
# so both sides decode the same number of tokens whatever the random model emits; two warm-up runs, then the median
# of --reps timed runs. Prints one JSON object.
import argparse
import json
import os
import statistics
import time

import torch
import transformers
from transformers import T5ForConditionalGeneration


def timed(model, input_ids, mask, new_tokens, beams):
    start = time.perf_counter()
    out = model.generate(
        input_ids=input_ids,
        attention_mask=mask,
        max_new_tokens=new_tokens,
        min_new_tokens=new_tokens,
        num_beams=beams,
        do_sample=False,
        early_stopping=False,
    )
    return time.perf_counter() - start, out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--inputs", required=True, help="JSON list of input id lists (same length each)")
    p.add_argument("--new-tokens", type=int, required=True)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--reps", type=int, default=3, help="timed runs; the median is reported")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model = T5ForConditionalGeneration.from_pretrained(a.model, torch_dtype=torch.float32).eval()
    with open(a.inputs) as f:
        ids = torch.tensor(json.load(f), dtype=torch.long)
    mask = torch.ones_like(ids)
    result = {"torch": torch.__version__, "transformers": transformers.__version__, "threads": a.threads}
    with torch.inference_mode():
        for name, beams in (("greedy", 1), ("beam4", 4)):
            for _ in range(2):
                timed(model, ids, mask, 2, beams)  # warm-up
            runs = [timed(model, ids, mask, a.new_tokens, beams) for _ in range(a.reps)]
            seconds = statistics.median(s for s, _ in runs)
            result[name] = {"seconds": seconds, "ids": runs[0][1][:, 1:].tolist()}  # after the decoder start token
    print(json.dumps(result))


if __name__ == "__main__":
    main()
