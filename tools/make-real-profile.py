#!/usr/bin/env python3
"""Token-length profile of a preference data set, for `rewardrouter-cli bench --suite real`.

Reads a canonical pairs file (`rewardrouter-cli import` writes one from the published data),
counts the tokens of every prompt and response with a Hugging Face tokenizer (no [CLS]/[SEP]),
and writes their percentiles (0, 1, ..., 100) as JSON. Only these counts are kept: the profile
holds no text. The bench draws each pair's prompt and response lengths from these percentiles
and makes texts of exactly that many tokens (docs/BENCHMARKS.md, "Real text").

    /work/venv/bin/python tools/make-real-profile.py PAIRS.jsonl --tokenizer DIR \\
        --source "what the pairs are and where they came from" -o bench/profiles/NAME.json

Needs transformers (the bench venv: tools/bench-venv.sh).
"""

import argparse
import json
import math


def percentiles(values):
    """The 0th..100th percentiles by linear interpolation between order statistics."""
    v = sorted(values)
    out = []
    for p in range(101):
        pos = p / 100 * (len(v) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(v) - 1)
        out.append(round(v[lo] + (v[hi] - v[lo]) * (pos - lo), 1))
    return out


def summary(values, limit):
    v = sorted(values)
    return {"mean": round(sum(v) / len(v), 1), "median": percentiles(v)[50],
            "share_over_%d" % limit: round(sum(x > limit for x in v) / len(v), 4)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pairs", help="canonical pairs file (JSONL)")
    ap.add_argument("--tokenizer", required=True, help="Hugging Face model folder")
    ap.add_argument("--source", required=True, help="where the pairs came from, for the record")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()

    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(a.tokenizer)
    prompts, responses, inputs = [], [], []
    with open(a.pairs, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            pair = json.loads(line)
            p = len(tok(pair["prompt"], add_special_tokens=False)["input_ids"])
            prompts.append(p)
            for key in ("chosen", "rejected"):
                r = len(tok(pair[key], add_special_tokens=False)["input_ids"])
                responses.append(r)
                inputs.append(p + r + 3)  # [CLS] prompt [SEP] response [SEP]
    limit = tok.model_max_length if tok.model_max_length < 1e6 else 512
    profile = {
        "source": a.source,
        "tokenizer": a.tokenizer.rstrip("/").split("/")[-1] + " (" + type(tok).__name__ + ")",
        "pairs": len(prompts),
        "percentiles": "0, 1, ..., 100 (linear interpolation); tokens without [CLS]/[SEP]",
        "prompt_tokens": percentiles(prompts),
        "response_tokens": percentiles(responses),
        "prompt_summary": summary(prompts, limit),
        "response_summary": summary(responses, limit),
        "input_summary": summary(inputs, limit),
    }
    # One key a line, so that a change of the profile reads as a short diff.
    with open(a.output, "w", encoding="utf-8") as f:
        f.write("{\n" + ",\n".join(" %s: %s" % (json.dumps(k), json.dumps(v))
                                    for k, v in profile.items()) + "\n}\n")
    print(json.dumps({k: profile[k] for k in ("pairs", "prompt_summary", "response_summary",
                                                "input_summary")}))


if __name__ == "__main__":
    main()
