"""Domain-adaptive masked-LM pre-training: the paper's EnDR-BERT idea in miniature.

KFU's EnDR-BERT is BERT further pre-trained on drug reviews and health tweets before any ADR
task. Here an encoder folder (MiniLM, mpnet) continues masked-LM training on the unlabelled
health text of the data folder (`corpora.unlabelled`: dev tweets left out) and is written back
as an ordinary model folder that spacy-transformers loads, like `encoders/en`.

The sentence-transformers encoders ship without their masked-LM head; it starts from random
weights (the output embedding stays tied to the input table), which is why the first steps
mostly train the head. The held-out masked-LM loss before and after is measured on texts the
training never sees, with the same masks, so the two figures compare.
"""
import json
import math
import random
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Union

MLM_SUMMARY = "mlm_summary.json"


def _batches(texts: Sequence[str], batch_size: int, rng: random.Random):
    """Endless batches of texts, reshuffled every pass, each sorted by length within a window
    of 50 batches so that padding stays small."""
    while True:
        order = list(texts)
        rng.shuffle(order)
        window = batch_size * 50
        for start in range(0, len(order), window):
            chunk = sorted(order[start:start + window], key=len)
            batches = [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
            rng.shuffle(batches)
            yield from batches


def pretrain_mlm(
    encoder: Union[str, Path],
    texts: Sequence[str],
    output_dir: Union[str, Path],
    *,
    steps: int = 500,
    batch_size: int = 32,
    learn_rate: float = 5e-5,
    warmup: float = 0.06,
    max_length: int = 64,
    mlm_probability: float = 0.15,
    held_out: int = 256,
    freeze_layers: int = 0,
    seed: int = 0,
    log: Optional[Callable[[str], None]] = print,
    log_every: int = 50,
) -> Dict[str, object]:
    """Continue masked-LM training of `encoder` on `texts`; write the encoder to `output_dir`.

    encoder (Union[str, Path]): A Hugging Face model folder (or hub name) with a tokenizer.
    texts (Sequence[str]): Unlabelled texts (no dev text among them).
    output_dir (Union[str, Path]): Folder to write: the encoder without its head, the
        tokenizer, and `mlm_summary.json`.
    steps (int): Optimiser steps.
    batch_size (int): Texts per step.
    learn_rate (float): Peak learning rate (AdamW, linear warm-up and decay).
    warmup (float): Share of the steps spent warming up.
    max_length (int): Word pieces kept per text (tweets rarely need more than 64).
    mlm_probability (float): Share of pieces masked.
    held_out (int): Texts kept aside to measure the masked-LM loss before and after.
    freeze_layers (int): Freeze the embeddings and this many lower layers (see
        `models.transformer_init.freeze_lower_layers`); 0 trains everything.
    seed (int): Seed of the shuffling, masking and head initialisation.
    log (Optional[Callable[[str], None]]): Where progress lines go; None is silent.
    log_every (int): Steps between progress lines.
    RETURNS (Dict[str, object]): The summary also written to `mlm_summary.json`.
    """
    import torch
    from transformers import (
        AutoModel,
        AutoModelForMaskedLM,
        AutoTokenizer,
        DataCollatorForLanguageModeling,
        get_linear_schedule_with_warmup,
    )

    from ..models.transformer_init import freeze_lower_layers

    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be positive, got {steps} and {batch_size}")
    if len(texts) < held_out + batch_size:
        raise ValueError(f"pretrain_mlm: {len(texts)} texts; need at least held_out + batch_size = {held_out + batch_size}")
    rng = random.Random(seed)
    torch.manual_seed(seed)
    order = list(texts)
    rng.shuffle(order)
    check_texts, train_texts = order[:held_out], order[held_out:]

    tokenizer = AutoTokenizer.from_pretrained(str(encoder))
    model = AutoModelForMaskedLM.from_pretrained(str(encoder))
    if freeze_layers:
        freeze_lower_layers(model.base_model, freeze_layers)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm=True, mlm_probability=mlm_probability)
    heads = [m for n, m in model.named_children() if n != model.base_model_prefix]
    if len(heads) != 1:
        raise ValueError(f"pretrain_mlm: expected one masked-LM head beside the encoder, found {len(heads)}")
    head = heads[0]

    def masked_lm_loss(inputs) -> "torch.Tensor":
        # The head only on the masked pieces: scoring all 30k words at every position would
        # cost more than the encoder itself (a 384 x 30,522 product per piece)
        labels = inputs.pop("labels")
        hidden = model.base_model(**inputs).last_hidden_state
        masked = labels != -100
        logits = head(hidden[masked])
        return torch.nn.functional.cross_entropy(logits, labels[masked])

    def encode(batch: List[str]):
        return [tokenizer(t, truncation=True, max_length=max_length) for t in batch]

    def held_out_loss() -> float:
        # The same masks each time: the collator draws from torch's global generator, reseeded here
        model.eval()
        state = torch.get_rng_state()
        torch.manual_seed(seed + 1)
        total, n = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(check_texts), batch_size):
                inputs = collator(encode(check_texts[i:i + batch_size]))
                total += float(masked_lm_loss(inputs)) * len(inputs["input_ids"])
                n += len(inputs["input_ids"])
        torch.set_rng_state(state)
        model.train()
        return total / max(n, 1)

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=learn_rate, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, max(1, int(warmup * steps)), steps)
    loss_before = held_out_loss()
    if log:
        log(f"masked-LM loss on {len(check_texts)} held-out texts before: {loss_before:.3f}")
    started = time.perf_counter()
    losses: List[float] = []
    running = 0.0
    model.train()
    batches = _batches(train_texts, batch_size, rng)
    for step in range(1, steps + 1):
        loss = masked_lm_loss(collator(encode(next(batches))))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        running += float(loss.detach())
        if step % log_every == 0 or step == steps:
            n = log_every if step % log_every == 0 else step % log_every
            losses.append(round(running / n, 4))
            running = 0.0
            if log:
                log(f"step {step}/{steps}  loss {losses[-1]:.3f}  {time.perf_counter() - started:.0f} s")
    seconds = time.perf_counter() - started
    loss_after = held_out_loss()
    if log:
        log(f"masked-LM loss on the held-out texts after: {loss_after:.3f}")

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    # The encoder as the source folder has it (with its pooler, which the masked-LM model
    # lacks), carrying the adapted weights
    adapted = AutoModel.from_pretrained(str(encoder))
    missing = adapted.load_state_dict(model.base_model.state_dict(), strict=False).missing_keys
    if any(not key.startswith("pooler.") for key in missing):
        raise ValueError(f"pretrain_mlm: the adapted weights miss {missing}")
    adapted.save_pretrained(str(output_dir))
    tokenizer.save_pretrained(str(output_dir))
    summary = {
        "encoder": str(encoder), "texts": len(train_texts), "held_out": len(check_texts),
        "steps": steps, "batch_size": batch_size, "learn_rate": learn_rate,
        "max_length": max_length, "mlm_probability": mlm_probability,
        "freeze_layers": freeze_layers, "seed": seed,
        "held_out_loss_before": round(loss_before, 4), "held_out_loss_after": round(loss_after, 4),
        "held_out_perplexity_before": round(math.exp(min(loss_before, 50)), 2),
        "held_out_perplexity_after": round(math.exp(min(loss_after, 50)), 2),
        "loss_every": log_every, "losses": losses, "seconds": round(seconds, 1),
    }
    (output_dir / MLM_SUMMARY).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf8")
    return summary
