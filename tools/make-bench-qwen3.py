#!/usr/bin/env python3
"""Makes models/bench/qwen3-0.6b-rm: a Qwen3ForSequenceClassification with Qwen/Qwen3-0.6B's
published shape (vocab 151936, hidden 1024, 28 layers, 16 query and 8 key/value heads of 128,
feed-forward 3072, RoPE theta 1e6, q/k RMSNorm), random weights drawn by transformers' own
initialisation under a fixed seed, saved in bfloat16 as the published checkpoint is (RewardRouter
converts it to float32 on load, as transformers does with dtype=float32).

The published tokenizer cannot be fetched here (no model hub): the folder takes the Qwen2-style
tokenizer.json of tests/fixtures/hf/tokenizers/json/qwen2 (byte-level BPE with Qwen's
pre-tokenizer regex and its <|im_start|>/<|im_end|> tokens, a small vocabulary) and Qwen3-0.6B's
published chat template (tests/fixtures/chat/Qwen-Qwen3-0.6B.jinja). Its texts come out longer
in tokens than with Qwen's own vocabulary; the bench compares both scorers on the same ids.

    /work/venv/bin/python tools/make-bench-qwen3.py [--out models/bench]

Then: rewardrouter-cli bench --suite real --model models/bench/qwen3-0.6b-rm --score-batch 8
"""
import argparse
import os
import shutil

import torch

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

QWEN3_06B = dict(vocab_size=151936, hidden_size=1024, intermediate_size=3072,
                 num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=8,
                 head_dim=128, max_position_embeddings=40960, rms_norm_eps=1e-6,
                 rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
                 tie_word_embeddings=True, num_labels=1)


def main():
    import transformers as tf
    from transformers import PreTrainedTokenizerFast

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "bench"))
    a = ap.parse_args()
    dest = os.path.join(a.out, "qwen3-0.6b-rm")
    if os.path.exists(dest):
        print(dest)
        return
    tok_dir = os.path.join(ROOT, "tests", "fixtures", "hf", "tokenizers", "json", "qwen2")
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(tok_dir, "tokenizer.json"),
                                  eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tok.chat_template = open(os.path.join(ROOT, "tests", "fixtures", "chat",
                                          "Qwen-Qwen3-0.6B.jinja")).read()
    tok.model_max_length = 512
    torch.manual_seed(1234)
    model = tf.Qwen3ForSequenceClassification(
        tf.Qwen3Config(**QWEN3_06B, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id))
    model.config.architectures = ["Qwen3ForSequenceClassification"]
    tmp = dest + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.to(torch.bfloat16).save_pretrained(tmp)
    tok.save_pretrained(tmp)
    os.rename(tmp, dest)
    print(dest)


if __name__ == "__main__":
    main()
