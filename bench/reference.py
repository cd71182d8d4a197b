#!/usr/bin/python3
"""PyTorch reference for `rewardrouter-cli bench`.

Builds the encoder RewardRouter builds (pre-LayerNorm, learned positions, GELU, first-token
pooling, LoRA y = Wx + b + scale * B(A(dropout(x)))) and times, on the token ids `bench` hands
over in a JSON file:
  - the Baseline's training step (AdamW, Bradley-Terry loss, gradient clipping at 1.0);
  - the Baseline's pairwise inference at batch 1 and batch 32;
  - ARLISS inference with adapter switching the way PEFT does it: one pair at a time,
    set_adapter("router") on the prompt, then set_adapter(<domain>) on both responses.
Run with Debian's interpreter (/usr/bin/python3) and python3-torch. Prints one JSON object.
"""

import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F


class LoraLinear(torch.nn.Module):
    """A linear layer with named adapters, one active at a time (PEFT's LoraLayer)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.base = torch.nn.Linear(n_in, n_out)
        self.lora_a = torch.nn.ParameterDict()
        self.lora_b = torch.nn.ParameterDict()
        self.scale = {}
        self.dropout = {}
        self.active = None

    def add_adapter(self, name, rank, alpha, dropout):
        a = torch.empty(rank, self.base.in_features)
        torch.nn.init.kaiming_uniform_(a, a=math.sqrt(5))
        self.lora_a[name] = torch.nn.Parameter(a)
        # B random (not zero) so the adapter costs what a trained one costs and changes the output.
        self.lora_b[name] = torch.nn.Parameter(torch.randn(self.base.out_features, rank) * 0.01)
        self.scale[name] = alpha / rank
        self.dropout[name] = dropout

    def forward(self, x):
        y = self.base(x)
        if self.active is None:
            return y
        h = F.dropout(x, self.dropout[self.active], self.training)
        return y + (h @ self.lora_a[self.active].t()) @ self.lora_b[self.active].t() * self.scale[
            self.active]


class EncoderLayer(torch.nn.Module):
    def __init__(self, hidden, heads, ffn, dropout):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value, self.dense = (LoraLinear(hidden, hidden) for _ in range(4))
        self.ffn_in = LoraLinear(hidden, ffn)
        self.ffn_out = LoraLinear(ffn, hidden)
        self.norm1 = torch.nn.LayerNorm(hidden)
        self.norm2 = torch.nn.LayerNorm(hidden)
        self.drop = torch.nn.Dropout(dropout)

    def forward(self, x, bias):
        b, t, hid = x.shape
        d = hid // self.heads
        h = self.norm1(x)

        def split(z):
            return z.view(b, t, self.heads, d).transpose(1, 2)

        q, k, v = split(self.query(h)), split(self.key(h)), split(self.value(h))
        scores = q @ k.transpose(-2, -1) / math.sqrt(d)
        attn = self.drop(torch.softmax(scores + bias, -1))
        ctx = (attn @ v).transpose(1, 2).reshape(b, t, hid)
        out = x + self.drop(self.dense(ctx))
        return out + self.drop(self.ffn_out(F.gelu(self.ffn_in(self.norm2(out)))))


class Encoder(torch.nn.Module):
    def __init__(self, vocab, hidden, layers, heads, ffn, max_len, dropout):
        super().__init__()
        self.tokens = torch.nn.Embedding(vocab, hidden)
        self.positions = torch.nn.Embedding(max_len, hidden)
        self.embed_norm = torch.nn.LayerNorm(hidden)
        self.final_norm = torch.nn.LayerNorm(hidden)
        self.drop = torch.nn.Dropout(dropout)
        self.layers = torch.nn.ModuleList(
            EncoderLayer(hidden, heads, ffn, dropout) for _ in range(layers))
        torch.nn.init.normal_(self.tokens.weight, 0, 0.02)
        torch.nn.init.normal_(self.positions.weight, 0, 0.02)

    def pooled(self, ids, mask):
        t = ids.shape[1]
        x = self.drop(self.embed_norm(self.tokens(ids) + self.positions(torch.arange(t))))
        bias = ((1.0 - mask.to(x.dtype)) * -1e4).view(ids.shape[0], 1, 1, t)
        for layer in self.layers:
            x = layer(x, bias)
        return self.final_norm(x)[:, 0]

    def lora_layers(self, targets):
        for layer in self.layers:
            for role in targets:
                if role == "ffn":
                    yield layer.ffn_in
                    yield layer.ffn_out
                else:
                    yield getattr(layer, role)

    def set_adapter(self, name, targets):
        for lin in self.lora_layers(targets):
            lin.active = name


def make_batch(rows):
    """Pads to the longest row, as RewardRouter's makeBatch does."""
    t = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), t, dtype=torch.long)
    mask = torch.zeros(len(rows), t, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
    return ids, mask


def pair_batch(pairs):
    return make_batch([p["chosen"] for p in pairs] + [p["rejected"] for p in pairs])


def timed(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def spread(samples, scale=1.0):
    v = [s * scale for s in samples]
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def rates(seconds, items):
    return spread([items / s for s in seconds])


def train_step(cfg, enc, head, batch):
    """The Baseline's training step on one batch of pairs, as a callable."""
    params = list(enc.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=cfg["lr"], weight_decay=0.01)

    def step():
        enc.train()
        opt.zero_grad()
        ids, mask = pair_batch(batch)  # batched inside the step, as the C++ loop does
        r = head(enc.pooled(ids, mask)).squeeze(-1)
        n = r.shape[0] // 2
        loss = -F.logsigmoid(r[:n] - r[n:]).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        loss.item()

    return step


def bench_train(cfg, enc, head, pairs, warmup, repeats):
    batch = pairs[:cfg["batch_pairs"]]
    return rates(timed(train_step(cfg, enc, head, batch), warmup, repeats), len(batch))


def profile_train(cfg, enc, head, pairs, warmup, repeats):
    """Where the training step's time goes, op by op (self CPU time)."""
    step = train_step(cfg, enc, head, pairs[:cfg["batch_pairs"]])
    for _ in range(warmup):
        step()
    with torch.autograd.profiler.profile() as prof:
        for _ in range(repeats):
            step()
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=16)


def bench_baseline_infer(enc, head, pairs, warmup, repeats):
    enc.eval()

    def score(part):
        with torch.no_grad():
            ids, mask = pair_batch(part)
            head(enc.pooled(ids, mask)).squeeze(-1).tolist()

    one = timed(lambda: score(pairs[:1]), warmup, repeats)
    many = timed(lambda: score(pairs[:32]), warmup, repeats)
    return {"batch1_ms": spread(one, 1e3), "batch32_pairs_per_s": rates(many, 32)}


def bench_arliss_switch(cfg, enc, pairs, warmup, repeats):
    targets = cfg["lora_targets"]
    domains = cfg["domains"]
    for lin in enc.lora_layers(targets):
        lin.add_adapter("router", cfg["lora_rank"], cfg["lora_alpha"], cfg["lora_dropout"])
        for d in range(domains):
            lin.add_adapter("reward%d" % d, cfg["lora_rank"], cfg["lora_alpha"], cfg["lora_dropout"])
    router_head = torch.nn.Linear(cfg["hidden"], domains)
    heads = [torch.nn.Linear(cfg["hidden"], 1) for _ in range(domains)]
    enc.eval()

    def score_one(p):
        enc.set_adapter("router", targets)
        ids, mask = make_batch([p["prompt"]])
        d = int(router_head(enc.pooled(ids, mask)).argmax(-1)[0])
        enc.set_adapter("reward%d" % d, targets)
        ids, mask = pair_batch([p])
        heads[d](enc.pooled(ids, mask)).squeeze(-1).tolist()

    def score(part):
        with torch.no_grad():
            for p in part:
                score_one(p)

    one = timed(lambda: score(pairs[:1]), warmup, repeats)
    many = timed(lambda: score(pairs[:32]), warmup, repeats)
    return {"batch1_ms": spread(one, 1e3), "batch32_pairs_per_s": rates(many, 32)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", required=True, help="JSON written by rewardrouter-cli bench")
    ap.add_argument("--profile", action="store_true",
                    help="print the Baseline training step's op profile per preset instead")
    options = ap.parse_args()
    with open(options.input) as f:
        cfg = json.load(f)
    torch.manual_seed(1)
    torch.set_num_threads(cfg["threads"])
    warmup, repeats = cfg["warmup"], cfg["repeats"]
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "presets": {}}
    for p in cfg["presets"]:
        s = p["shape"]
        pairs = p["pairs"]
        args = (cfg["vocab"], s["hidden"], s["layers"], s["heads"], s["ffn"], cfg["max_len"],
                cfg["dropout"])
        enc, head = Encoder(*args), torch.nn.Linear(s["hidden"], 1)
        if options.profile:
            print("== %s\n%s" % (p["name"], profile_train(cfg, enc, head, pairs, warmup, repeats)))
            continue
        res = {"train_pairs_per_s": bench_train(cfg, enc, head, pairs, warmup, repeats)}
        res["baseline"] = bench_baseline_infer(enc, head, pairs, warmup, repeats)
        frozen = Encoder(*args)
        frozen.requires_grad_(False)
        res["arliss_switch"] = bench_arliss_switch(dict(cfg, hidden=s["hidden"]), frozen, pairs,
                                                   warmup, repeats)
        out["presets"][p["name"]] = res
    if not options.profile:
        json.dump(out, sys.stdout)
        print()


if __name__ == "__main__":
    main()
