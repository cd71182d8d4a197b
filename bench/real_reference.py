#!/usr/bin/env python3
"""transformers and TRL references for `rewardrouter-cli bench --suite real`.

    python real_reference.py score --input FILE    transformers' AutoModelForSequenceClassification
    python real_reference.py train --input FILE    TRL's RewardTrainer

`bench` writes FILE (JSON): the Hugging Face folder, the thread count, and RewardRouter's own token
ids of every input, so both sides do the same work on the same tokens.

score: for attn_implementation eager and sdpa, the inputs in their order and sorted by length, in
batches of `batch` padded to their longest row, under torch.inference_mode(); one untimed batch
first. Prints seconds and rewards (in input order) per setting, plus the time the folder's own
tokenizer takes for all the texts (a user's script tokenizes; its ids are checked against ours).

train: RewardTrainer on the pre-tokenized pairs (chosen_ids / rejected_ids: [CLS] prompt [SEP]
response [SEP], RewardRouter's ids; none longer than max_length, so TRL drops none, and [SEP] as
the EOS token TRL asks for), fp32, no gradient checkpointing, dropout as in the model's config,
AdamW, linear schedule with the given warm-up, clipping, one epoch; then evaluate() on the test
pairs and save_model(), as `rewardrouter-cli run` evaluates and saves. Prints the seconds of
train(), evaluate() and save_model(), and the steps taken.

Run with a venv that has torch 2.x, transformers and trl (tools/bench-venv.sh). Prints one JSON
object on stdout.
"""

import argparse
import contextlib
import json
import os
import sys
import time

T0 = time.perf_counter()


def batches(order, size):
    return [order[i:i + size] for i in range(0, len(order), size)]


def collate(torch, rows, idx, with_types, pad=0):
    t = max(len(rows[i]["ids"]) for i in idx)
    # A decoder reads its reward at the last id that is not pad_token_id: pad with that id.
    ids = torch.full((len(idx), t), pad, dtype=torch.long)
    mask = torch.zeros((len(idx), t), dtype=torch.long)
    types = torch.zeros((len(idx), t), dtype=torch.long)
    for k, i in enumerate(idx):
        n = len(rows[i]["ids"])
        ids[k, :n] = torch.tensor(rows[i]["ids"])
        mask[k, :n] = 1
        types[k, :n] = torch.tensor(rows[i]["types"])
    out = {"input_ids": ids, "attention_mask": mask}
    if with_types:
        out["token_type_ids"] = types
    return out


def tokenizer_figures(cfg):
    """Seconds for the folder's tokenizer to read every text in batches, and how many inputs it
    gives exactly our ids (prompt cut from the left as RewardRouter cuts it); (None, None, why)
    when transformers cannot load the folder's tokenizer."""
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(cfg["model"])
    except Exception as e:  # noqa: BLE001 - e.g. an spm.model without tokenizer.json
        return None, None, str(e).strip().splitlines()[-1]
    texts, rows, limit = cfg["texts"], cfg["rows"], cfg["max_len"]
    start = time.perf_counter()
    for part in batches(list(range(len(texts))), cfg["batch"]):
        tok([texts[i][0] for i in part], [texts[i][1] for i in part], truncation=True,
            max_length=limit, padding=True)
    seconds = time.perf_counter() - start
    if getattr(tok, "chat_template", None):
        # A decoder reward model: the Skywork recipe (chat template, duplicate BOS removed).
        equal = 0
        for (prompt, response), row in zip(texts, rows):
            text = tok.apply_chat_template([{"role": "user", "content": prompt},
                                            {"role": "assistant", "content": response}],
                                           tokenize=False)
            if tok.bos_token and text.startswith(tok.bos_token):
                text = text[len(tok.bos_token):]
            equal += tok(text)["input_ids"] == row["ids"]
        return seconds, equal, None
    tok.truncation_side = "left"
    equal = 0
    for (prompt, response), row in zip(texts, rows):
        try:
            ids = tok(prompt, response, truncation="only_first", max_length=limit)["input_ids"]
        except Exception:  # noqa: BLE001 - a response too long alone: not our ids either way
            continue
        equal += ids == row["ids"]
    return seconds, equal, None


def score(cfg):
    import torch
    import transformers
    from transformers import AutoModelForSequenceClassification

    torch.set_num_threads(cfg["threads"])
    imported = time.perf_counter() - T0
    rows = cfg["rows"]
    out = {"torch": torch.__version__, "transformers": transformers.__version__,
           "threads": torch.get_num_threads(), "import_s": imported, "settings": []}
    out["tokenize_s"], out["ids_equal"], out["tokenizer_error"] = tokenizer_figures(cfg)
    by_length = sorted(range(len(rows)), key=lambda i: len(rows[i]["ids"]))
    for attn in ("eager", "sdpa"):
        start = time.perf_counter()
        try:
            model = AutoModelForSequenceClassification.from_pretrained(
                cfg["model"], attn_implementation=attn, dtype=torch.float32)
        except (ValueError, ImportError) as e:  # an architecture without this attention
            for order in ("input", "sorted"):
                out["settings"].append({"attn": attn, "order": order,
                                        "error": str(e).split(". ")[0] + "."})
            continue
        model.eval()
        load = time.perf_counter() - start
        with_types = getattr(model.config, "type_vocab_size", 0) > 0
        for order, idx in (("input", list(range(len(rows)))), ("sorted", by_length)):
            pad = model.config.pad_token_id if model.config.pad_token_id is not None else 0
            parts = [collate(torch, rows, p, with_types, pad) for p in batches(idx, cfg["batch"])]
            rewards = [0.0] * len(rows)
            with torch.inference_mode():
                for _ in range(cfg["warmup"]):
                    model(**parts[0])
                start = time.perf_counter()
                logits = [model(**b).logits[:, 0] for b in parts]
                seconds = time.perf_counter() - start
            for p, l in zip(batches(idx, cfg["batch"]), logits):
                for i, v in zip(p, l.tolist()):
                    rewards[i] = v
            out["settings"].append({"attn": attn, "order": order, "load_s": load,
                                    "seconds": seconds, "rewards": rewards})
        del model
    return out


def train(cfg):
    import torch
    import transformers
    import trl
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    torch.set_num_threads(cfg["threads"])
    tok = AutoTokenizer.from_pretrained(cfg["model"])
    args = RewardConfig(
        output_dir=cfg["out"], per_device_train_batch_size=cfg["batch"],
        per_device_eval_batch_size=cfg["batch"], learning_rate=cfg["lr"],
        weight_decay=cfg["weight_decay"], warmup_steps=cfg["warmup_steps"],
        lr_scheduler_type="linear", max_grad_norm=cfg["max_grad_norm"],
        num_train_epochs=cfg["epochs"], max_length=cfg["max_len"], gradient_checkpointing=False,
        bf16=False, fp16=False, disable_dropout=False, use_cpu=True, seed=cfg["seed"],
        eos_token=tok.sep_token, dataloader_num_workers=0, logging_strategy="no",
        save_strategy="no", eval_strategy="no", report_to="none", disable_tqdm=True)
    train_set = Dataset.from_list(cfg["train"])
    test_set = Dataset.from_list(cfg["test"])
    trainer = RewardTrainer(model=cfg["model"], args=args, train_dataset=train_set,
                            eval_dataset=test_set, processing_class=tok)
    setup = time.perf_counter() - T0
    start = time.perf_counter()
    trainer.train()
    trained = time.perf_counter() - start
    start = time.perf_counter()
    trainer.evaluate()
    evaluated = time.perf_counter() - start
    start = time.perf_counter()
    trainer.save_model(os.path.join(cfg["out"], "model"))
    saved = time.perf_counter() - start
    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "trl": trl.__version__, "threads": torch.get_num_threads(), "setup_s": setup,
            "train_s": trained, "eval_s": evaluated, "save_s": saved,
            "steps": trainer.state.global_step, "train_pairs": len(trainer.train_dataset)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["score", "train"])
    ap.add_argument("--input", required=True)
    a = ap.parse_args()
    with open(a.input, encoding="utf-8") as f:
        cfg = json.load(f)
    # Whatever the libraries print (Trainer prints its metrics) goes to stderr: stdout is the JSON.
    with contextlib.redirect_stdout(sys.stderr):
        out = score(cfg) if a.mode == "score" else train(cfg)
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
