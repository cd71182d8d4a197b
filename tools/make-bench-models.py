#!/usr/bin/env python3
"""Makes the two Hugging Face reward-model folders of `rewardrouter-cli bench --suite real`.

  all-MiniLM-L6-v2-rm/    sentence-transformers' all-MiniLM-L6-v2 (tools/fetch-minilm.sh) as a
                          BertForSequenceClassification with one label: its encoder and pooler as
                          published, a `classifier` head drawn from a seeded generator; its
                          WordPiece files copied unchanged.
  deberta-v3-xsmall-rm/   a DebertaV2ForSequenceClassification with microsoft/deberta-v3-xsmall's
                          published shape (vocab 128100, hidden 384, 12 layers, 6 heads, FFN
                          1536, relative attention with 256 log buckets, shared keys, c2p + p2c,
                          LayerNormed relative embeddings, no absolute positions), random weights
                          drawn by transformers' own initialisation under a fixed seed, and a
                          SentencePiece tokenizer (spm.model, for RewardRouter) with the same
                          tokenizer as tokenizer.json (for transformers).

The published DeBERTa-v3 spm.model cannot be fetched here (no model hub), so the DeBERTa folder's
unigram pieces are MiniLM's WordPiece vocabulary written the SentencePiece way ("word" -> "▁word",
"##ing" -> "ing") with seeded scores, lower-casing as MiniLM does: a word of that vocabulary is one
piece in both folders, so the bench's texts have the same lengths in both. Its 128100 embedding
rows are kept (the published size: 48 M of its 70.7 M parameters), the rows past the pieces unused.

    /work/venv/bin/python tools/make-bench-models.py [--out models/bench] [--minilm DIR]

Needs torch, transformers and safetensors (the bench venv: tools/bench-venv.sh). Fetches MiniLM
with tools/fetch-minilm.sh when --minilm's folder is missing. Prints the two folders. A folder
that exists is left as it is (delete it to make it again).
"""

import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SEED = 1234
MINILM_FILES = ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]

# microsoft/deberta-v3-xsmall's config.json (the published checkpoint), with one label.
DEBERTA_V3_XSMALL = dict(
    vocab_size=128100, hidden_size=384, num_hidden_layers=12, num_attention_heads=6,
    intermediate_size=1536, hidden_act="gelu", hidden_dropout_prob=0.1,
    attention_probs_dropout_prob=0.1, max_position_embeddings=512, type_vocab_size=0,
    initializer_range=0.02, layer_norm_eps=1e-7, relative_attention=True, position_buckets=256,
    max_relative_positions=-1, pos_att_type=["p2c", "c2p"], position_biased_input=False,
    share_att_key=True, norm_rel_ebd="layer_norm", pooler_hidden_size=384, pooler_dropout=0,
    pooler_hidden_act="gelu", pad_token_id=0, num_labels=1)

SPECIALS = ["[PAD]", "[CLS]", "[SEP]", "[UNK]"]  # DeBERTa-v3's first four ids


def finished(tmp, dest):
    """Moves a complete folder into place, so an interrupted run leaves no half folder."""
    os.chmod(tmp, 0o755)
    for f in os.listdir(tmp):
        os.chmod(os.path.join(tmp, f), 0o644)
    os.rename(tmp, dest)
    print(dest)


def minilm_rm(src, dest):
    import torch
    from transformers import BertForSequenceClassification

    model = BertForSequenceClassification.from_pretrained(src, num_labels=1)
    g = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        w = model.classifier.weight
        w.copy_(torch.randn(w.shape, generator=g) * model.config.initializer_range)
        model.classifier.bias.zero_()
    tmp = tempfile.mkdtemp(dir=os.path.dirname(dest))
    model.save_pretrained(tmp)
    for f in MINILM_FILES:
        shutil.copy(os.path.join(src, f), os.path.join(tmp, f))
    finished(tmp, dest)


def pieces_from_wordpiece(vocab_file):
    """MiniLM's vocabulary as unigram pieces with seeded scores (-1 > score >= -2, float32 values,
    so that spm.model and tokenizer.json hold the same numbers and ties between two segmentations
    are unlikely)."""
    rng = random.Random(SEED)
    with open(vocab_file, encoding="utf-8") as f:
        words = [w.rstrip("\n") for w in f]
    # "▁" alone first: a word of unknown pieces can always start with it.
    candidates = ["\u2581"] + [w[2:] if w.startswith("##") else "\u2581" + w for w in words
                                if not (w.startswith("[") and w.endswith("]"))]
    seen, out = set(), []
    for piece in candidates:
        if piece in seen or piece in ("", "\u2581\u2581"):
            continue
        seen.add(piece)
        score = struct.unpack("<f", struct.pack("<f", -1.0 - rng.random()))[0]
        out.append((piece, score))
    return out


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number, value):
    """One protobuf field: bytes/str as length-delimited, float as fixed32, int as varint."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    if isinstance(value, bytes):
        return _varint(number << 3 | 2) + _varint(len(value)) + value
    if isinstance(value, float):
        return _varint(number << 3 | 5) + struct.pack("<f", value)
    return _varint(number << 3) + _varint(value)


def spm_model(pieces):
    """A SentencePiece ModelProto (sentencepiece_model.proto: pieces = 1 {piece = 1, score = 2,
    type = 3}, trainer_spec = 2, normalizer_spec = 3), written here because neither sentencepiece
    nor protobuf is in the bench venv and this file needs nothing else from them."""
    NORMAL, UNKNOWN, CONTROL, USER_DEFINED = 1, 2, 3, 4
    body = b""
    for name in SPECIALS:
        kind = UNKNOWN if name == "[UNK]" else CONTROL
        body += _field(1, _field(1, name) + _field(2, 0.0) + _field(3, kind))
    for piece, score in pieces:
        body += _field(1, _field(1, piece) + _field(2, score) + _field(3, NORMAL))
    body += _field(1, _field(1, "[MASK]") + _field(2, 0.0) + _field(3, USER_DEFINED))
    unigram = 1
    trainer = (_field(3, unigram) + _field(4, len(pieces) + len(SPECIALS) + 1) + _field(40, 3)
               + _field(41, 1) + _field(42, 2) + _field(43, 0) + _field(45, "[UNK]")
               + _field(46, "[CLS]") + _field(47, "[SEP]") + _field(48, "[PAD]"))
    normalizer = _field(1, "identity") + _field(3, 1) + _field(4, 1) + _field(5, 1)
    return body + _field(2, trainer) + _field(3, normalizer)


def deberta_rm(minilm, dest):
    import torch
    from transformers import DebertaV2Config, DebertaV2ForSequenceClassification
    from transformers import DebertaV2Tokenizer

    torch.manual_seed(SEED)
    model = DebertaV2ForSequenceClassification(DebertaV2Config(**DEBERTA_V3_XSMALL))
    tmp = tempfile.mkdtemp(dir=os.path.dirname(dest))
    model.save_pretrained(tmp)
    pieces = pieces_from_wordpiece(os.path.join(minilm, "vocab.txt"))
    with open(os.path.join(tmp, "spm.model"), "wb") as f:
        f.write(spm_model(pieces))
    vocab = [(s, 0.0) for s in SPECIALS] + pieces + [("[MASK]", 0.0)]
    tok = DebertaV2Tokenizer(vocab=vocab, do_lower_case=True, unk_id=3, model_max_length=512)
    tok.save_pretrained(tmp)
    # RewardRouter reads spm.model with these options; transformers reads tokenizer.json.
    cfg_path = os.path.join(tmp, "tokenizer_config.json")
    with open(cfg_path, encoding="utf-8") as f:
        cfg = json.load(f)
    cfg.update({"do_lower_case": True, "split_by_punct": False, "vocab_type": "spm",
                "model_max_length": 512})
    with open(cfg_path, "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2)
    finished(tmp, dest)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "bench"))
    ap.add_argument("--minilm", default=os.path.join(ROOT, "models", "all-MiniLM-L6-v2"))
    a = ap.parse_args()
    if not os.path.isfile(os.path.join(a.minilm, "model.safetensors")):
        subprocess.run([os.path.join(ROOT, "tools", "fetch-minilm.sh"), a.minilm], check=True,
                       env=dict(os.environ, PYTHON=sys.executable))
    os.makedirs(a.out, exist_ok=True)
    for name, make in (("all-MiniLM-L6-v2-rm", minilm_rm), ("deberta-v3-xsmall-rm", deberta_rm)):
        dest = os.path.join(a.out, name)
        if os.path.isdir(dest):
            print(dest)
            continue
        make(a.minilm, dest)


if __name__ == "__main__":
    main()
