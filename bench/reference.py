#!/usr/bin/python3
"""PyTorch reference for `rewardrouter-cli bench`.

Builds the encoder RewardRouter builds (pre-LayerNorm, learned positions, GELU, first-token
pooling, LoRA y = Wx + b + scale * B(A(dropout(x)))) and times, on the token ids `bench` hands
over in a JSON file:
  - the Baseline's training step (AdamW, Bradley-Terry loss, gradient clipping at 1.0);
  - the Baseline's pairwise inference at batch 1 and batch 32;
  - ARLISS inference with adapter switching the way PEFT does it: one pair at a time,
    set_adapter("router") on the prompt, then set_adapter(<domain>) on both responses.
For a preset that carries a Hugging Face "hf_config" (the DeBERTa-v3 shapes), it builds a
DeBERTa-v2/v3 reward model written here from the paper and transformers' published behaviour
(disentangled attention c2p + p2c, log-bucket relative positions, shared attention keys,
LayerNormed relative embeddings, ContextPooler, a 1-output classifier; no transformers import)
and times its training step and its scoring at batch 1 and 32 pairs.
`--check-fixture DIR` loads a Hugging Face DeBERTa-v2/v3 folder's model.safetensors into that
model and compares its logits with the folder's golden.json (computed by transformers).
Run with Debian's interpreter (/usr/bin/python3) and python3-torch. Prints one JSON object.
"""

import argparse
import json
import math
import os
import statistics
import struct
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


def log_bucket_position(rel, buckets, max_position):
    """DeBERTa-v2's log buckets (transformers' make_log_bucket_position, in float32): distances
    under half the bucket count stay exact, longer ones share buckets up to max_position."""
    sign = torch.sign(rel)
    mid = buckets // 2
    abs_pos = torch.where((rel < mid) & (rel > -mid), torch.tensor(mid - 1).type_as(rel),
                          torch.abs(rel))
    log_pos = torch.ceil(torch.log(abs_pos / mid) / torch.log(torch.tensor((max_position - 1) / mid))
                         * (mid - 1)) + mid
    return torch.where(abs_pos <= mid, rel.type_as(log_pos), log_pos * sign).long()


def _module(**children):
    return torch.nn.ModuleDict(children)


class DebertaLayer(torch.nn.Module):
    """One DeBERTa-v2 layer; children named as in transformers' DebertaV2Layer."""

    def __init__(self, c, dropout):
        super().__init__()
        h, f = c["hidden_size"], c["intermediate_size"]
        eps = c.get("layer_norm_eps", 1e-7)
        self.heads = c["num_attention_heads"]
        att = c.get("pos_att_type") or []
        att = att.split("|") if isinstance(att, str) else att
        self.c2p, self.p2c = "c2p" in att, "p2c" in att
        self.relative = c.get("relative_attention", False)
        self.share_key = c.get("share_att_key", False)
        self.scale_factor = 1 + int(self.c2p) + int(self.p2c)
        self.drop = dropout
        own = {}
        if self.relative and not self.share_key:
            if self.c2p:
                own["pos_key_proj"] = torch.nn.Linear(h, h)
            if self.p2c:
                own["pos_query_proj"] = torch.nn.Linear(h, h)
        self.attention = _module(
            self=_module(query_proj=torch.nn.Linear(h, h), key_proj=torch.nn.Linear(h, h),
                         value_proj=torch.nn.Linear(h, h), **own),
            output=_module(dense=torch.nn.Linear(h, h), LayerNorm=torch.nn.LayerNorm(h, eps)))
        self.intermediate = _module(dense=torch.nn.Linear(h, f))
        self.output = _module(dense=torch.nn.Linear(f, h), LayerNorm=torch.nn.LayerNorm(h, eps))

    def forward(self, x, pad, rel, c2p_idx, p2c_idx):
        b, t, hid = x.shape
        d = hid // self.heads
        sa = self.attention["self"]

        def split(z):
            return z.view(z.shape[0], z.shape[1], self.heads, d).transpose(1, 2)

        q, k, v = split(sa["query_proj"](x)), split(sa["key_proj"](x)), split(sa["value_proj"](x))
        scale = math.sqrt(d * self.scale_factor)
        scores = q @ (k.transpose(-1, -2) / scale)
        if self.relative:
            full = (b, self.heads, t, t)
            rel = F.dropout(rel, self.drop, self.training)
            if self.c2p:
                proj = sa["key_proj"] if self.share_key else sa["pos_key_proj"]
                c2p = q @ split(proj(rel).unsqueeze(0)).transpose(-1, -2)
                scores = scores + torch.gather(c2p, -1, c2p_idx.expand(full)) / scale
            if self.p2c:
                proj = sa["query_proj"] if self.share_key else sa["pos_query_proj"]
                p2c = k @ split(proj(rel).unsqueeze(0)).transpose(-1, -2)
                scores = scores + torch.gather(p2c, -1, p2c_idx.expand(full)).transpose(-1, -2) / scale
        scores = scores.masked_fill(pad, torch.finfo(scores.dtype).min)
        probs = F.dropout(torch.softmax(scores, -1), self.drop, self.training)
        ctx = (probs @ v).transpose(1, 2).reshape(b, t, hid)
        ao = self.attention["output"]
        a = ao["LayerNorm"](F.dropout(ao["dense"](ctx), self.drop, self.training) + x)
        y = self.output["dense"](F.gelu(self.intermediate["dense"](a)))
        return self.output["LayerNorm"](F.dropout(y, self.drop, self.training) + a)


class DebertaRewardModel(torch.nn.Module):
    """DebertaV2ForSequenceClassification with one label, from its config.json keys: state-dict
    names are the checkpoint's, so a model.safetensors loads with load_state_dict.

    window=True projects only the rows of the relative-embedding table that the sequence's
    (bucketed) distances reach, as RewardRouter's encoder does; window=False projects the whole
    table of 2 x position_buckets rows in every layer, as transformers does. Same logits."""

    def __init__(self, c, dropout=0.0, window=True):
        super().__init__()
        if c.get("conv_kernel_size", 0) > 0:
            raise ValueError("conv_kernel_size > 0 (DeBERTa-v2 xlarge's ConvLayer) is not built")
        h = c["hidden_size"]
        emb = c.get("embedding_size") or h
        eps = c.get("layer_norm_eps", 1e-7)
        self.c, self.drop, self.window = c, dropout, window
        e = {"word_embeddings": torch.nn.Embedding(c["vocab_size"], emb)}
        if c.get("position_biased_input", True):
            e["position_embeddings"] = torch.nn.Embedding(c["max_position_embeddings"], emb)
        if c.get("type_vocab_size", 0) > 0:
            e["token_type_embeddings"] = torch.nn.Embedding(c["type_vocab_size"], emb)
        if emb != h:
            e["embed_proj"] = torch.nn.Linear(emb, h, bias=False)
        e["LayerNorm"] = torch.nn.LayerNorm(h, eps)
        enc = {"layer": torch.nn.ModuleList(DebertaLayer(c, dropout)
                                            for _ in range(c["num_hidden_layers"]))}
        self.relative = c.get("relative_attention", False)
        if self.relative:
            self.max_rel = c.get("max_relative_positions", -1)
            if self.max_rel < 1:
                self.max_rel = c["max_position_embeddings"]
            self.buckets = c.get("position_buckets", -1)
            self.span = self.buckets if self.buckets > 0 else self.max_rel
            enc["rel_embeddings"] = torch.nn.Embedding(2 * self.span, h)
        norm_rel = [x.strip() for x in str(c.get("norm_rel_ebd", "none")).lower().split("|")]
        if "layer_norm" in norm_rel:
            enc["LayerNorm"] = torch.nn.LayerNorm(h, eps)
        self.deberta = _module(embeddings=_module(**e), encoder=_module(**enc))
        self.pooler = _module(dense=torch.nn.Linear(h, h))
        self.classifier = torch.nn.Linear(h, 1)
        for m in self.modules():  # transformers' _init_weights
            if isinstance(m, (torch.nn.Linear, torch.nn.Embedding)):
                torch.nn.init.normal_(m.weight, 0.0, c.get("initializer_range", 0.02))
                if isinstance(m, torch.nn.Linear) and m.bias is not None:
                    torch.nn.init.zeros_(m.bias)

    def relative_positions(self, t):
        ids = torch.arange(t)
        rel = ids[:, None] - ids[None, :]
        if self.buckets > 0 and self.max_rel > 0:
            rel = log_bucket_position(rel, self.buckets, self.max_rel)
        span = self.span
        lo, hi = 0, 2 * span - 1
        if self.window:
            m = int(rel.abs().max())
            lo, hi = max(0, span - m), min(2 * span - 1, span + m)
        enc = self.deberta["encoder"]
        table = enc["rel_embeddings"].weight[lo:hi + 1]
        if "LayerNorm" in enc:
            table = enc["LayerNorm"](table)
        c2p = torch.clamp(rel + span, 0, 2 * span - 1) - lo
        p2c = torch.clamp(-rel + span, 0, 2 * span - 1) - lo
        return table, c2p, p2c

    def forward(self, ids, mask, types=None):
        b, t = ids.shape
        e = self.deberta["embeddings"]
        x = e["word_embeddings"](ids)
        if "position_embeddings" in e:
            x = x + e["position_embeddings"](torch.arange(t).unsqueeze(0))
        if "token_type_embeddings" in e:
            x = x + e["token_type_embeddings"](torch.zeros_like(ids) if types is None else types)
        if "embed_proj" in e:
            x = e["embed_proj"](x)
        x = F.dropout(e["LayerNorm"](x) * mask.unsqueeze(-1).to(x.dtype), self.drop, self.training)
        m = mask.bool()
        pad = ~(m.view(b, 1, 1, t) & m.view(b, 1, t, 1))
        rel, c2p, p2c = self.relative_positions(t) if self.relative else (None, None, None)
        for layer in self.deberta["encoder"]["layer"]:
            x = layer(x, pad, rel, c2p, p2c)
        # ContextPooler: the first token, dropout, dense, the pooler's activation (gelu).
        pooled = F.gelu(self.pooler["dense"](F.dropout(x[:, 0], self.drop, self.training)))
        return self.classifier(F.dropout(pooled, self.drop, self.training))


def read_safetensors(path):
    """A model.safetensors file as {name: float32 tensor}, without the safetensors package:
    8 bytes of header length, a JSON header of dtype/shape/offsets, then the raw data."""
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    data = bytearray(blob[8 + n:])
    dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
              "I64": torch.int64}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        lo, hi = info["data_offsets"]
        t = torch.frombuffer(data, dtype=dtypes[info["dtype"]], count=-1, offset=lo) \
            if hi > lo else torch.empty(0, dtype=dtypes[info["dtype"]])
        out[name] = t[:(hi - lo) // t.element_size()].view(info["shape"]).float().clone()
    return out


def check_fixture(folder, tolerance=1e-4):
    """Our DeBERTa's logits on the folder's golden cases against transformers'. Returns the
    largest difference; raises when a case differs by more than `tolerance`."""
    with open(os.path.join(folder, "config.json")) as f:
        c = json.load(f)
    with open(os.path.join(folder, "golden.json")) as f:
        golden = json.load(f)
    state = read_safetensors(os.path.join(folder, "model.safetensors"))
    worst = 0.0
    for window in (True, False):
        model = DebertaRewardModel(c, window=window)
        model.load_state_dict(state, strict=True)
        model.eval()
        for case in golden["cases"]:
            with torch.no_grad():
                logits = model(torch.tensor(case["ids"]), torch.tensor(case["mask"]),
                               torch.tensor(case["types"])).squeeze(-1)
            diff = (logits - torch.tensor(case["logits"])).abs().max().item()
            worst = max(worst, diff)
            if diff > tolerance:
                raise SystemExit("%s: logits differ from golden.json by %.3g (window=%s): %s vs %s"
                                 % (folder, diff, window, logits.tolist(), case["logits"]))
    return worst


def bench_deberta(cfg, preset, warmup, repeats):
    """The DeBERTa reward model's training step (AdamW, Bradley-Terry, clipping at 1.0) on the
    first batch_pairs pairs, and its scoring of 1 and 32 pairs (eval, no gradients)."""
    model = DebertaRewardModel(preset["hf_config"], dropout=cfg.get("hf_dropout", 0.0),
                               window=not cfg.get("full_table", False))
    pairs = preset["pairs"]
    batch = pairs[:cfg["batch_pairs"]]
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=cfg["lr"], weight_decay=0.01)

    def step():
        model.train()
        opt.zero_grad()
        ids, mask = pair_batch(batch)
        r = model(ids, mask).squeeze(-1)
        n = r.shape[0] // 2
        loss = -F.logsigmoid(r[:n] - r[n:]).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        loss.item()

    res = {"train_pairs_per_s": rates(timed(step, warmup, repeats), len(batch))}
    del opt  # the optimizer's state is not part of serving
    model.eval()

    def score(part):
        with torch.no_grad():
            ids, mask = pair_batch(part)
            model(ids, mask).squeeze(-1).tolist()

    one = timed(lambda: score(pairs[:1]), warmup, repeats)
    many = timed(lambda: score(pairs[:32]), warmup, repeats)
    res["infer"] = {"batch1_ms": spread(one, 1e3), "batch32_pairs_per_s": rates(many, 32)}
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", help="JSON written by rewardrouter-cli bench")
    ap.add_argument("--profile", action="store_true",
                    help="print the Baseline training step's op profile per preset instead")
    ap.add_argument("--check-fixture", metavar="DIR",
                    help="compare the DeBERTa model's logits on DIR (a Hugging Face DeBERTa-v2/v3 "
                         "folder with golden.json) with transformers' and exit")
    ap.add_argument("--full-table", action="store_true",
                    help="DeBERTa: project the whole relative-embedding table in every layer, as "
                         "transformers does (default: only the rows the sequence reaches)")
    options = ap.parse_args()
    if options.check_fixture:
        worst = check_fixture(options.check_fixture)
        print("%s: logits agree with golden.json (largest difference %.3g)"
              % (options.check_fixture, worst))
        return
    if not options.input:
        ap.error("--input is required")
    with open(options.input) as f:
        cfg = json.load(f)
    torch.manual_seed(1)
    torch.set_num_threads(cfg["threads"])
    warmup, repeats = cfg["warmup"], cfg["repeats"]
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "presets": {}}
    cfg["full_table"] = options.full_table
    for p in cfg["presets"]:
        if "hf_config" in p:
            if options.profile:
                continue
            out["presets"][p["name"]] = bench_deberta(cfg, p, warmup, repeats)
            continue
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
