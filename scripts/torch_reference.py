#!/usr/bin/python3
# PyTorch side of `npm run bench:compare`: a plain-PyTorch T5 + (IA)³ + T-Few step + HF Adafactor + rank-classification
# eval (mirrors transformers 4.30.2 T5, peft 0.4.0 IA3, r-three/t-few EncoderDecoder) on a random T5-small-shaped model.
#
# Run with Debian's torch (apt-get install -y python3-torch), not the pyenv python first on PATH:
#   /usr/bin/python3 scripts/torch_reference.py --json            # human table on stderr, one JSON object on stdout
# scripts/torch_reference_check.py imports this file and checks it against tests/fixtures/hf-reference/t5-tiny-gated;
# scripts/fisher_reference.py uses its fisher_diagonal for the Fisher-merge reference.
import argparse
import ctypes
import json
import math
import os
import resource
import statistics
import sys
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

F32_MIN = torch.finfo(torch.float32).min


@dataclass
class T5Config:
    d_model: int = 512
    d_kv: int = 64
    num_heads: int = 8
    d_ff: int = 2048
    num_layers: int = 6
    num_decoder_layers: int = 6
    vocab_size: int = 32128
    ffn: str = "relu"  # "relu" (T5DenseActDense) or "gated-gelu" (T5DenseGatedActDense, gelu_new)
    tie_word_embeddings: bool = True
    num_buckets: int = 32
    max_distance: int = 128
    eps: float = 1e-6

    @property
    def inner(self):
        return self.num_heads * self.d_kv

    @staticmethod
    def from_hf(cfg):
        """From a transformers config.json dict."""
        proj = cfg.get("feed_forward_proj", "relu")
        if proj not in ("relu", "gated-gelu"):
            raise ValueError(f"config.json feed_forward_proj={proj!r}: only relu and gated-gelu are implemented")
        return T5Config(d_model=cfg["d_model"], d_kv=cfg["d_kv"], num_heads=cfg["num_heads"], d_ff=cfg["d_ff"],
                        num_layers=cfg["num_layers"], num_decoder_layers=cfg.get("num_decoder_layers") or cfg["num_layers"],
                        vocab_size=cfg["vocab_size"], ffn=proj, tie_word_embeddings=cfg.get("tie_word_embeddings", True),
                        num_buckets=cfg.get("relative_attention_num_buckets", 32),
                        max_distance=cfg.get("relative_attention_max_distance", 128),
                        eps=cfg.get("layer_norm_epsilon", 1e-6))


def relative_position_bucket(relative_position, bidirectional=True, num_buckets=32, max_distance=128):
    """transformers T5Attention._relative_position_bucket (4.30.2), verbatim math."""
    relative_buckets = 0
    if bidirectional:
        num_buckets //= 2
        relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    relative_position_if_large = max_exact + (
        torch.log(relative_position.float() / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)
    ).to(torch.long)
    relative_position_if_large = torch.min(relative_position_if_large,
                                           torch.full_like(relative_position_if_large, num_buckets - 1))
    relative_buckets += torch.where(is_small, relative_position, relative_position_if_large)
    return relative_buckets


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def ia3_targets(cfg):
    """PEFT IA3 targets (k, v, wo) as module paths -> vector shape ([inner,1] for k/v, [1,d_ff] for wo)."""
    out = {}
    for i in range(cfg.num_layers):
        p = f"encoder.block.{i}.layer"
        out[f"{p}.0.SelfAttention.k"] = out[f"{p}.0.SelfAttention.v"] = (cfg.inner, 1)
        out[f"{p}.1.DenseReluDense.wo"] = (1, cfg.d_ff)
    for i in range(cfg.num_decoder_layers):
        p = f"decoder.block.{i}.layer"
        out[f"{p}.0.SelfAttention.k"] = out[f"{p}.0.SelfAttention.v"] = (cfg.inner, 1)
        out[f"{p}.1.EncDecAttention.k"] = out[f"{p}.1.EncDecAttention.v"] = (cfg.inner, 1)
        out[f"{p}.2.DenseReluDense.wo"] = (1, cfg.d_ff)
    return out


def peft_name(path):
    """Module path -> PEFT state-dict name of its (IA)³ vector."""
    return f"base_model.model.{path}.ia3_l"


class T5IA3:
    """T5ForConditionalGeneration (eval mode) with PEFT (IA)³ vectors; weights frozen, only vectors require grad."""

    def __init__(self, cfg, weights, ia3=None):
        self.cfg = cfg
        self.w = {k: v.detach().requires_grad_(False) for k, v in weights.items()}
        if cfg.tie_word_embeddings or "lm_head.weight" not in self.w:
            self.w["lm_head.weight"] = self.w["shared.weight"]
        shapes = ia3_targets(cfg)
        ia3 = ia3 or {}
        self.ia3 = {p: (ia3[p].detach().clone() if p in ia3 else torch.ones(s)).reshape(s).requires_grad_(True)
                    for p, s in shapes.items()}

    def parameters(self):
        return list(self.ia3.values())

    # ---- building blocks ----
    def norm(self, x, name):
        variance = x.to(torch.float32).pow(2).mean(-1, keepdim=True)
        return self.w[name] * (x * torch.rsqrt(variance + self.cfg.eps))

    def lin(self, x, path):
        y = F.linear(x, self.w[path + ".weight"])
        vec = self.ia3.get(path)
        return y if vec is None else y * vec.flatten()  # (IA)³ on k/v outputs

    def ffn(self, x, path):
        if self.cfg.ffn == "gated-gelu":
            h = gelu_new(F.linear(x, self.w[path + ".wi_0.weight"])) * F.linear(x, self.w[path + ".wi_1.weight"])
        else:
            h = F.relu(F.linear(x, self.w[path + ".wi.weight"]))
        vec = self.ia3.get(path + ".wo")
        if vec is not None:
            h = h * vec.flatten()  # (IA)³ on the wo input
        return F.linear(h, self.w[path + ".wo.weight"])

    def rel_bias(self, path, q_len, k_len, bidirectional):
        ctx = torch.arange(q_len, dtype=torch.long)[:, None]
        mem = torch.arange(k_len, dtype=torch.long)[None, :]
        buckets = relative_position_bucket(mem - ctx, bidirectional, self.cfg.num_buckets, self.cfg.max_distance)
        values = F.embedding(buckets, self.w[path + ".relative_attention_bias.weight"])  # [q, k, heads]
        return values.permute([2, 0, 1]).unsqueeze(0)  # [1, heads, q, k]

    def attention(self, x, kv, path, bias, share=1):
        """x [B*share, Lq, d]; kv [B, Lk, d] (share > 1: one K/V per example, queries of its `share` rows stacked)."""
        H, dk = self.cfg.num_heads, self.cfg.d_kv
        n, lq, _ = x.shape
        b, lk, _ = kv.shape
        q = F.linear(x, self.w[path + ".q.weight"]).view(b, share * lq, H, dk).transpose(1, 2)  # [B, H, share*Lq, dk]
        k = self.lin(kv, path + ".k").view(b, lk, H, dk).transpose(1, 2)  # [B, H, Lk, dk]
        v = self.lin(kv, path + ".v").view(b, lk, H, dk).transpose(1, 2)  # [B, H, Lk, dk]
        scores = torch.matmul(q, k.transpose(3, 2))  # [B, H, share*Lq, Lk]; no 1/sqrt(dk) in T5
        scores = scores + bias
        attn = F.softmax(scores.float(), dim=-1).type_as(scores)
        out = torch.matmul(attn, v).transpose(1, 2).reshape(n, lq, H * dk)  # [B*share, Lq, inner]
        return F.linear(out, self.w[path + ".o.weight"])

    # ---- stacks ----
    def encode(self, input_ids, attention_mask=None):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids, dtype=torch.float32)
        h = F.embedding(input_ids, self.w["shared.weight"])
        s = input_ids.shape[1]
        mask = (1.0 - attention_mask.float()[:, None, None, :]) * F32_MIN  # [B, 1, 1, S]
        bias = self.rel_bias("encoder.block.0.layer.0.SelfAttention", s, s, True) + mask  # [B, H, S, S]
        for i in range(self.cfg.num_layers):
            p = f"encoder.block.{i}.layer"
            h = h + self._self_attn(h, p, bias)
            h = h + self.ffn(self.norm(h, f"{p}.1.layer_norm.weight"), f"{p}.1.DenseReluDense")
        return self.norm(h, "encoder.final_layer_norm.weight")

    def _self_attn(self, h, p, bias):
        x = self.norm(h, f"{p}.0.layer_norm.weight")
        return self.attention(x, x, f"{p}.0.SelfAttention", bias)

    def decode(self, decoder_input_ids, enc_h, enc_mask, decoder_attention_mask=None, share=1):
        """Logits [N, L, V]. enc_h [N, S, d] (share=1) or [N/share, S, d] with `share` decoder rows per example."""
        n, lq = decoder_input_ids.shape
        if decoder_attention_mask is None:
            decoder_attention_mask = torch.ones(n, lq)
        causal = torch.tril(torch.ones(lq, lq))[None, None] * decoder_attention_mask.float()[:, None, None, :]
        self_bias = self.rel_bias("decoder.block.0.layer.0.SelfAttention", lq, lq, False) + (1.0 - causal) * F32_MIN
        cross_bias = (1.0 - enc_mask.float()[:, None, None, :]) * F32_MIN  # [B, 1, 1, S]
        h = F.embedding(decoder_input_ids, self.w["shared.weight"])
        for i in range(self.cfg.num_decoder_layers):
            p = f"decoder.block.{i}.layer"
            h = h + self._self_attn(h, p, self_bias)
            h = h + self.attention(self.norm(h, f"{p}.1.layer_norm.weight"), enc_h, f"{p}.1.EncDecAttention",
                                   cross_bias, share)
            h = h + self.ffn(self.norm(h, f"{p}.2.layer_norm.weight"), f"{p}.2.DenseReluDense")
        h = self.norm(h, "decoder.final_layer_norm.weight")
        if self.cfg.tie_word_embeddings:
            h = h * (self.cfg.d_model ** -0.5)
        return F.linear(h, self.w["lm_head.weight"])  # [N, L, V]


def random_weights(cfg, seed=0):
    """HF T5PreTrainedModel._init_weights scales (factor 1.0); RMSNorm weights 1."""
    g = torch.Generator().manual_seed(seed)

    def n(shape, std):
        return torch.randn(shape, generator=g) * std

    d, inner, dff = cfg.d_model, cfg.inner, cfg.d_ff
    w = {"shared.weight": n((cfg.vocab_size, d), 1.0)}
    if not cfg.tie_word_embeddings:
        w["lm_head.weight"] = n((cfg.vocab_size, d), 1.0)

    def attn(p, bias):
        w[p + ".q.weight"] = n((inner, d), (d * cfg.d_kv) ** -0.5)
        w[p + ".k.weight"] = n((inner, d), d ** -0.5)
        w[p + ".v.weight"] = n((inner, d), d ** -0.5)
        w[p + ".o.weight"] = n((d, inner), inner ** -0.5)
        if bias:
            w[p + ".relative_attention_bias.weight"] = n((cfg.num_buckets, cfg.num_heads), d ** -0.5)

    def ff(p):
        for name in (["wi_0", "wi_1"] if cfg.ffn == "gated-gelu" else ["wi"]):
            w[f"{p}.{name}.weight"] = n((dff, d), d ** -0.5)
        w[p + ".wo.weight"] = n((d, dff), dff ** -0.5)

    for stack, layers in (("encoder", cfg.num_layers), ("decoder", cfg.num_decoder_layers)):
        for i in range(layers):
            p = f"{stack}.block.{i}.layer"
            attn(f"{p}.0.SelfAttention", i == 0)
            w[f"{p}.0.layer_norm.weight"] = torch.ones(d)
            if stack == "decoder":
                attn(f"{p}.1.EncDecAttention", False)
                w[f"{p}.1.layer_norm.weight"] = torch.ones(d)
            f = 2 if stack == "decoder" else 1
            ff(f"{p}.{f}.DenseReluDense")
            w[f"{p}.{f}.layer_norm.weight"] = torch.ones(d)
        w[f"{stack}.final_layer_norm.weight"] = torch.ones(d)
    return w


def run_choices(model, input_ids, choices_ids, share_cross_kv=False):
    """t-few EncoderDecoder: encoder once per example, decoder over all bs*nc choices. Returns logits, lm_target."""
    bs, nc = choices_ids.shape[:2]
    flat = choices_ids.flatten(0, 1)  # [bs*nc, Lc]
    attention_mask = (input_ids != 0).float()
    h = model.encode(input_ids, attention_mask)  # [bs, S, d]
    if share_cross_kv:
        share = nc  # cross-attention K/V once per example, shared by its choices (same math, same gradients)
    else:
        h = h.unsqueeze(1).repeat(1, nc, 1, 1).flatten(0, 1)  # [bs*nc, S, d], as t-few does
        attention_mask = attention_mask.unsqueeze(1).repeat(1, nc, 1).flatten(0, 1)  # [bs*nc, S]
        share = 1
    decoder_input_ids = torch.cat([torch.zeros_like(flat[:, :1]), flat[:, :-1]], dim=1)
    decoder_attention_mask = (decoder_input_ids == decoder_input_ids).float()
    lm_target = flat - 100 * (flat == 0).long()
    logits = model.decode(decoder_input_ids, h, attention_mask, decoder_attention_mask, share)  # [bs*nc, Lc, V]
    return logits, lm_target


def tfew_losses(model, input_ids, choices_ids, labels, share_cross_kv=False):
    """t-few training_step with length_norm=1, mc_loss=1, unlikely_loss=1 (fixture README case 3)."""
    bs, nc = choices_ids.shape[:2]
    logits, lm_target = run_choices(model, input_ids, choices_ids, share_cross_kv)
    token_nll = F.cross_entropy(logits.flatten(0, 1), lm_target.flatten(0, 1), reduction="none").view(bs, nc, -1)
    choice_scores = token_nll.sum(-1) / (choices_ids != 0).sum(-1)  # length_norm 1; count includes </s>
    rows = torch.arange(bs)
    lm_loss = F.cross_entropy(logits.view(bs, nc, *logits.shape[1:])[rows, labels].flatten(0, 1),
                              lm_target.view(bs, nc, -1)[rows, labels].flatten(0, 1))
    mc_loss = F.cross_entropy(-choice_scores, labels)
    cl = -token_nll + (lm_target < 0).view(bs, nc, -1) * -100
    gold = torch.zeros(bs, nc, 1, dtype=torch.bool)
    gold[rows, labels] = True
    cl = torch.where(gold, torch.full_like(cl, -100.0), cl)  # cl[range(bs), labels] = -100
    unlikely_loss = -torch.log(1 - torch.exp(cl) + 1e-2).sum() / (cl != -100).sum()  # quirk: sum over all
    return {"lm_loss": lm_loss, "mc_loss": mc_loss, "unlikely_loss": unlikely_loss,
            "total_loss": lm_loss + mc_loss + unlikely_loss, "token_nll": token_nll, "cand_loglikely": cl,
            "choice_scores": choice_scores, "predictions": choice_scores.argmin(1)}


@torch.no_grad()
def predict(model, input_ids, choices_ids, share_cross_kv=False):
    """t-few predict: length-normalised NLL per choice, argmin. Returns (predictions, choice_scores)."""
    bs, nc = choices_ids.shape[:2]
    logits, lm_target = run_choices(model, input_ids, choices_ids, share_cross_kv)
    nll = F.cross_entropy(logits.flatten(0, 1), lm_target.flatten(0, 1), reduction="none").view(bs, nc, -1)
    scores = nll.sum(-1) / (choices_ids != 0).sum(-1)
    return scores.argmin(1), scores



def rank_log_probs(model, input_ids, choices_ids, length_norm=1.0):
    """log p(c|x) = log_softmax(-score) over the choices [bs, nc]; score = sum NLL / (real tokens)^length_norm."""
    bs, nc = choices_ids.shape[:2]
    logits, lm_target = run_choices(model, input_ids, choices_ids)
    nll = F.cross_entropy(logits.flatten(0, 1), lm_target.flatten(0, 1), reduction="none").view(bs, nc, -1)
    lengths = (choices_ids != 0).sum(-1).clamp(min=1).to(nll.dtype)
    return F.log_softmax(-(nll.sum(-1) / lengths ** length_norm), dim=1)


def fisher_diagonal(model, examples, kind="model", length_norm=1.0):
    """Diagonal Fisher of the (IA)^3 vectors (tfew merge --method fisher): the mean over examples of
    sum_c p(c|x) (d log p(c|x))^2 (kind "model") or (d log p(y|x))^2 (kind "empirical"), one example at a
    time, autograd of each log p(c|x) directly. examples: [{input_ids, choices, label}] (unpadded id lists)."""
    params = model.parameters()
    total = [torch.zeros_like(p, dtype=torch.float64) for p in params]
    for e in examples:
        input_ids, choices_ids, _ = pad_examples([e])
        logp = rank_log_probs(model, input_ids, choices_ids, length_norm)[0]  # [nc]
        p = logp.detach().exp()
        for c in (range(len(e["choices"])) if kind == "model" else [e["label"]]):
            grads = torch.autograd.grad(logp[c], params, retain_graph=True)
            weight = p[c].double() if kind == "model" else 1.0
            for acc, g in zip(total, grads):
                acc += weight * g.double() ** 2
    return {path: acc / len(examples) for path, acc in zip(model.ia3, total)}

class Adafactor:
    """transformers.optimization.Adafactor, scale_parameter=True, relative_step=False, warmup_init=False, beta1=None,
    weight_decay=0, eps=(1e-30, 1e-3), clip_threshold=1.0, decay_rate=-0.8 (fixture README case 4)."""

    def __init__(self, params, lr=3e-3, eps=(1e-30, 1e-3), clip_threshold=1.0, decay_rate=-0.8):
        self.params, self.lr, self.eps, self.clip, self.decay = list(params), lr, eps, clip_threshold, decay_rate
        self.state = {}

    @staticmethod
    def _rms(t):
        return t.norm(2) / (t.numel() ** 0.5)

    @torch.no_grad()
    def step(self):
        for p in self.params:
            if p.grad is None:
                continue
            g = p.grad
            st = self.state.setdefault(id(p), {"step": 0})
            factored = g.dim() >= 2
            if st["step"] == 0:
                if factored:
                    st["row"] = torch.zeros(g.shape[:-1])
                    st["col"] = torch.zeros(g.shape[:-2] + g.shape[-1:])
                else:
                    st["sq"] = torch.zeros_like(g)
            st["step"] += 1
            lr = max(self.eps[1], self._rms(p)) * self.lr
            beta2t = 1.0 - math.pow(st["step"], self.decay)
            update = g ** 2 + self.eps[0]
            if factored:
                row, col = st["row"], st["col"]
                row.mul_(beta2t).add_(update.mean(dim=-1), alpha=1.0 - beta2t)
                col.mul_(beta2t).add_(update.mean(dim=-2), alpha=1.0 - beta2t)
                r = (row / row.mean(dim=-1, keepdim=True)).rsqrt_().unsqueeze(-1)
                update = torch.mul(r, col.unsqueeze(-2).rsqrt()).mul_(g)
            else:
                st["sq"].mul_(beta2t).add_(update, alpha=1.0 - beta2t)
                update = st["sq"].rsqrt().mul_(g)
            update.div_((self._rms(update) / self.clip).clamp_(min=1.0))
            update.mul_(lr)
            p.add_(-update)

    def zero_grad(self):
        for p in self.params:
            p.grad = None


# ---------------------------------------------------------------- benchmark
def make_batch(g, bs, seq, nc, lc, vocab):
    """Random ids (3..vocab) ending in </s>=1; each choice 1..lc tokens incl. </s>, padded with 0."""
    input_ids = torch.randint(3, vocab, (bs, seq), generator=g)
    input_ids[:, -1] = 1
    choices = torch.zeros(bs, nc, lc, dtype=torch.long)
    lengths = torch.randint(1, lc + 1, (bs, nc), generator=g)
    lengths[:, 0] = lc  # the longest choice sets the padded length, as in a real batch
    for b in range(bs):
        for c in range(nc):
            n = int(lengths[b, c])
            choices[b, c, :n - 1] = torch.randint(3, vocab, (n - 1,), generator=g)
            choices[b, c, n - 1] = 1
    labels = torch.randint(0, nc, (bs,), generator=g)
    return input_ids, choices, labels


def pad_examples(examples):
    """tfew's examples ({input_ids, choices, label} lists) as padded tensors, as tfew pads them (pad id 0)."""
    bs, nc = len(examples), len(examples[0]["choices"])
    seq = max(len(e["input_ids"]) for e in examples)
    lc = max(len(c) for e in examples for c in e["choices"])
    input_ids = torch.zeros(bs, seq, dtype=torch.long)
    choices = torch.zeros(bs, nc, lc, dtype=torch.long)
    for b, e in enumerate(examples):
        input_ids[b, :len(e["input_ids"])] = torch.tensor(e["input_ids"])
        for c, ids in enumerate(e["choices"]):
            choices[b, c, :len(ids)] = torch.tensor(ids)
    return input_ids, choices, torch.tensor([max(e["label"], 0) for e in examples])


def blas_in_use():
    """Which libblas.so.3 the process loaded: Debian's torch uses whatever the libblas.so.3 alternative points at."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.split()[-1]}
    except OSError:
        return "unknown"
    for p in sorted(paths):
        if "openblas" in p:
            return os.path.basename(os.path.dirname(p)) if "openblas-" in p else "openblas"
    for p in sorted(paths):
        if p.endswith("/blas/libblas.so.3"):
            return "reference"  # libblas3: ~3 GFLOP/s; install libopenblas0-openmp (Debian recommends libopenblas0)
    return ",".join(sorted(os.path.basename(p) for p in paths)) or "unknown"


def set_threads(n):
    torch.set_num_threads(n)  # OpenMP: also OpenBLAS's openmp build
    for lib in ("libblas.so.3", "libopenblas.so.0"):  # OpenBLAS's pthread build keeps its own pool
        try:
            ctypes.CDLL(lib).openblas_set_num_threads(n)
            break
        except (OSError, AttributeError):
            pass


def bench(args):
    set_threads(args.threads)
    blas = blas_in_use()
    cfg = T5Config(d_model=args.d_model, d_kv=args.d_kv, num_heads=args.heads, d_ff=args.d_ff, num_layers=args.layers,
                   num_decoder_layers=args.decoder_layers or args.layers, vocab_size=args.vocab, ffn=args.ffn,
                   tie_word_embeddings=not args.untie)
    torch.manual_seed(args.seed)
    weights = random_weights(cfg, args.seed)  # CPU generator: the same weights and batches on every device
    if args.device != "cpu":
        torch.set_default_device(args.device)  # the model's own ones/arange/zeros follow (torch >= 2.0)
    model = T5IA3(cfg, {k: v.to(args.device) for k, v in weights.items()})
    opt = Adafactor(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(args.seed + 1)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)

    def make_batch_on(*shape):
        if args.device == "cpu":
            return make_batch(g, *shape)
        with torch.device("cpu"):
            return tuple(t.to(args.device) for t in make_batch(g, *shape))
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    if blas == "reference":
        log("WARNING: torch is using the reference BLAS (libblas3, ~3 GFLOP/s), ~40x slower than a real PyTorch "
            "install: apt-get install -y libopenblas0-openmp")
    log(f"torch {torch.__version__}, BLAS {blas}, {args.threads} threads, d_model {cfg.d_model}, d_ff {cfg.d_ff}, "
        f"{cfg.num_layers}+{cfg.num_decoder_layers} layers, ffn {cfg.ffn}, share_cross_kv {args.share_cross_kv}")

    given = None
    if args.examples:  # tfew's own examples (bench:compare): the same prompts, choices and counts on both sides
        with open(args.examples) as f:
            given = json.load(f)
    times = []
    for i in range(args.warmup + args.train_steps):
        if given:
            start = (i * args.batch) % len(given["train"])
            batch = tuple(t.to(args.device) for t in pad_examples((given["train"] * 2)[start:start + args.batch]))
        else:
            batch = make_batch_on(args.batch, args.seq, args.choices, args.choice_len, cfg.vocab_size)
        t0 = time.perf_counter()
        out = tfew_losses(model, *batch, share_cross_kv=args.share_cross_kv)
        out["total_loss"].backward()
        opt.step()
        opt.zero_grad()
        sync()
        dt = time.perf_counter() - t0
        log(f"  train step {i + 1}{' (warm-up)' if i < args.warmup else ''}: {dt:.3f} s, "
            f"loss {out['total_loss'].item():.4f}")
        if i >= args.warmup:
            times.append(dt)
    sps = statistics.median(times) if times else None  # None -> JSON null (no timed steps)
    train = {"s_per_step": sps, "examples_per_s": args.batch / sps if sps else None,
             "tokens_per_s": args.batch * args.seq / sps if sps else None, "s_per_step_min": min(times, default=None),
             "steps": len(times), "step_times_s": times, "warmup_steps": args.warmup, "batch": args.batch,
             "seq": args.seq, "choices": args.choices, "choice_len": args.choice_len,
             "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}  # after training only

    ev = {}
    counts = list(given["eval"].keys()) if given else [x for x in args.eval_choices.split(",") if x]
    for key in counts:
        nc = int(key)
        if given:
            rows = given["eval"][key]
            n_ex = len(rows)
            batches = [tuple(t.to(args.device) for t in pad_examples(rows[s:s + args.eval_batch]))
                       for s in range(0, n_ex, args.eval_batch)]
        else:
            n_ex = args.eval_examples if nc < args.large_choices else min(args.eval_examples, args.eval_examples_large)
            batches = [make_batch_on(min(args.eval_batch, n_ex - s), args.seq, nc, args.choice_len, cfg.vocab_size)
                       for s in range(0, n_ex, args.eval_batch)]
        if args.warmup > 0:  # one untimed pass at every choice count, as tfew's side does
            for input_ids, choices, _ in batches:
                predict(model, input_ids, choices, share_cross_kv=args.share_cross_kv)
        t0 = time.perf_counter()
        for input_ids, choices, _ in batches:
            predict(model, input_ids, choices, share_cross_kv=args.share_cross_kv)
        sync()
        dt = time.perf_counter() - t0
        ev[str(nc)] = {"examples_per_s": n_ex / dt, "examples": n_ex, "batch": args.eval_batch, "seconds": dt}
        log(f"  eval {nc} choices: {n_ex} examples in {dt:.2f} s")

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
    log("")
    log("| what | value |\n|---|---|")
    if sps:
        log(f"| train s/step (median of {len(times)}) | {sps:.3f} |\n| train examples/s | {args.batch / sps:.2f} |\n"
            f"| train input tokens/s | {args.batch * args.seq / sps:.0f} |")
    for k, v in ev.items():
        log(f"| eval {k} choices examples/s ({v['examples']} examples) | {v['examples_per_s']:.2f} |")
    log(f"| peak RSS MB | {peak:.0f} |")
    return {"torch_version": torch.__version__, "device": args.device, "blas": blas, "threads": args.threads,
            "share_cross_kv": args.share_cross_kv,
            "model": {"d_model": cfg.d_model, "d_kv": cfg.d_kv, "heads": cfg.num_heads, "d_ff": cfg.d_ff,
                      "layers": cfg.num_layers, "decoder_layers": cfg.num_decoder_layers, "vocab": cfg.vocab_size,
                      "ffn": cfg.ffn, "tied": cfg.tie_word_embeddings},
            "train": train, "eval": ev, "peak_rss_mb": peak}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__ or "tfew PyTorch reference benchmark")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train-steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1, help="untimed train steps (and one untimed eval pass per choice count)")
    ap.add_argument("--examples", help="JSON of tfew's examples {train: [...], eval: {choices: [...]}} to run instead of random ones")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256, help="input tokens per example (tokens_per_s counts these)")
    ap.add_argument("--choices", type=int, default=2)
    ap.add_argument("--choice-len", type=int, default=3, help="max tokens per choice incl. </s>")
    ap.add_argument("--eval-choices", default="2,10,77")
    ap.add_argument("--eval-examples", type=int, default=16)
    ap.add_argument("--eval-batch", type=int, default=8)
    ap.add_argument("--eval-examples-large", type=int, default=8,
                    help="eval examples when choices >= --large-choices (8 examples at 77 choices: ~11 s on a quiet host)")
    ap.add_argument("--large-choices", type=int, default=32)
    ap.add_argument("--share-cross-kv", action="store_true",
                    help="cross-attention K/V once per example (default: encoder output repeated per choice, t-few)")
    ap.add_argument("--d-model", type=int, default=512)
    ap.add_argument("--d-kv", type=int, default=64)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--d-ff", type=int, default=2048)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--decoder-layers", type=int, default=0, help="0: same as --layers")
    ap.add_argument("--vocab", type=int, default=32128)
    ap.add_argument("--ffn", choices=["relu", "gated-gelu"], default="relu")
    ap.add_argument("--untie", action="store_true", help="separate lm_head (default tied, as T5Config/t5-small)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    ap.add_argument("--device", default="cpu", help="torch device, e.g. cuda (needs torch >= 2.0; gpu-check.sh)")
    args = ap.parse_args(argv)
    result = bench(args)
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
