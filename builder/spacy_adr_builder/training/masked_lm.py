"""Adapt an encoder to a language and domain by masked-language-model training on unlabelled
text: `spacy-adr-builder adapt-encoder`.

The paper's Russian encoder (EnRuDR-BERT) was pre-trained further on drug reviews; here the
multilingual encoder can see Russian tweets and review sentences whose labels no dev or test
figure depends on (Task 2 ru train and test texts, RuDReC) before it is fine-tuned.

multilingual-e5-small was trained contrastively and ships no masked-LM head, so the head's
transform (dense + layer norm) starts random: the first `head_steps` steps train the head
alone, then the encoder's layers join. The output layer is the word-embedding table (tied,
as BERT's is) and stays frozen with it, as the fine-tuning recipes keep it: with 250k pieces
its gradient would cost most of a step on a CPU. Logits are computed at the masked positions
only (a full 250k-wide output for every token would take gigabytes per batch).
"""
import json
import random
import shutil
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Union

import spacy
from spacy.tokens import DocBin

# What the encoder folder keeps beside the weights: the tokenizer's files
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
    "sentencepiece.bpe.model", "vocab.txt",
)
ADAPTATION_FILE = "spacy_adr_adaptation.json"


def read_texts(paths: Sequence[Union[str, Path]], exclude: Sequence[Union[str, Path]] = ()) -> List[str]:
    """The distinct, non-empty texts of some .spacy corpora, minus those of others.

    paths (Sequence[Union[str, Path]]): Corpora whose texts to read, in order.
    exclude (Sequence[Union[str, Path]]): Corpora whose texts must not be read (e.g. dev sets
        that share a few tweets with train).
    RETURNS (List[str]): The texts, first occurrence kept.
    """
    vocab = spacy.blank("xx").vocab

    def docs(path):
        if not Path(path).is_file():
            raise FileNotFoundError(f"adapt-encoder: no corpus at {path}")
        return DocBin().from_disk(path).get_docs(vocab)

    excluded = {doc.text.strip() for path in exclude for doc in docs(path)}
    seen = set()
    texts = []
    for path in paths:
        for doc in docs(path):
            text = doc.text.strip()
            if text and text not in excluded and text not in seen:
                seen.add(text)
                texts.append(text)
    return texts


def mask_tokens(input_ids, special_mask, mask_id: int, vocab_size: int, generator, share: float = 0.15):
    """BERT's masking: `share` of the real tokens are chosen; of those 80 % become the mask
    token, 10 % a random piece, 10 % stay.

    input_ids (torch.Tensor): (batch, length) piece ids; a copy is masked.
    special_mask (torch.Tensor): (batch, length) True for padding and special tokens.
    mask_id (int): The mask token's id.
    vocab_size (int): Random pieces are drawn below this id.
    generator (torch.Generator): Source of randomness (seeded).
    share (float): How many real tokens are chosen.
    RETURNS (Tuple[torch.Tensor, torch.Tensor]): The masked ids and the chosen positions (bool).
    """
    import torch

    chosen = (torch.rand(input_ids.shape, generator=generator) < share) & ~special_mask
    # At least one chosen token per batch, so the loss is always defined.
    if not chosen.any():
        candidates = (~special_mask).nonzero()
        pick = candidates[torch.randint(len(candidates), (1,), generator=generator)]
        chosen[pick[0, 0], pick[0, 1]] = True
    masked = input_ids.clone()
    draw = torch.rand(input_ids.shape, generator=generator)
    masked[chosen & (draw < 0.8)] = mask_id
    random_positions = chosen & (draw >= 0.8) & (draw < 0.9)
    masked[random_positions] = torch.randint(vocab_size, input_ids.shape, generator=generator)[random_positions]
    return masked, chosen


def adapt_encoder(
    encoder_dir: Union[str, Path],
    output_dir: Union[str, Path],
    texts: List[str],
    *,
    steps: int = 300,
    head_steps: int = 50,
    batch_size: int = 32,
    max_length: int = 64,
    learn_rate: float = 5e-5,
    head_learn_rate: float = 1e-3,
    seed: int = 0,
    log_every: int = 25,
    on_log: Optional[Callable[[Dict], None]] = None,
) -> Dict:
    """Masked-LM training of a BERT-like encoder folder on texts; write the adapted encoder.

    encoder_dir (Union[str, Path]): A Hugging Face encoder folder (BertModel and fast tokenizer).
    output_dir (Union[str, Path]): Where to write the adapted folder (replaced if present).
    texts (List[str]): Unlabelled training texts.
    steps (int): Training steps in all (batches of `batch_size` texts).
    head_steps (int): Of those, the first steps that train the new masked-LM head alone.
    batch_size (int): Texts per step.
    max_length (int): Pieces per text, longer texts are cut.
    learn_rate (float): AdamW learning rate of the encoder (linear decay to 0 after 10 %
        warm-up).
    head_learn_rate (float): The same for the new head, which starts random.
    seed (int): Seed of the text order and the masking.
    log_every (int): Steps between progress records.
    on_log (Optional[Callable[[Dict], None]]): Called with each progress record.
    RETURNS (Dict): What was done: texts, steps, first and last mean loss, the output folder.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer, BertForMaskedLM, get_linear_schedule_with_warmup

    encoder_dir, output_dir = Path(encoder_dir), Path(output_dir)
    if not texts:
        raise ValueError("adapt-encoder: no texts to train on")
    if not 0 <= head_steps <= steps:
        raise ValueError(f"adapt-encoder: head_steps must be between 0 and steps ({steps}), got {head_steps}")
    tokenizer = AutoTokenizer.from_pretrained(str(encoder_dir))
    if tokenizer.mask_token_id is None:
        raise ValueError(f"adapt-encoder: the tokenizer of {encoder_dir} has no mask token")
    torch.manual_seed(seed)
    model = BertForMaskedLM.from_pretrained(str(encoder_dir))
    model.bert.get_input_embeddings().weight.requires_grad_(False)
    head = [p for p in model.cls.parameters() if p.requires_grad]
    body = [p for p in model.bert.parameters() if p.requires_grad]
    for p in body:
        p.requires_grad_(head_steps == 0)
    optimizer = torch.optim.AdamW(
        [{"params": head, "lr": head_learn_rate}, {"params": body, "lr": learn_rate}], weight_decay=0.01
    )
    schedule = get_linear_schedule_with_warmup(optimizer, max(1, steps // 10), steps)
    generator = torch.Generator().manual_seed(seed)
    order = random.Random(seed)
    pool: List[str] = []
    losses: List[float] = []
    record: Dict = {}
    model.train()
    for step in range(1, steps + 1):
        if step == head_steps + 1 and head_steps:
            for p in body:
                p.requires_grad_(True)
        if len(pool) < batch_size:
            refill = list(texts)
            order.shuffle(refill)
            pool.extend(refill)
        batch, pool = pool[:batch_size], pool[batch_size:]
        encoded = tokenizer(batch, truncation=True, max_length=max_length, padding=True,
                            return_tensors="pt", return_special_tokens_mask=True)
        special = encoded.pop("special_tokens_mask").bool() | (encoded["attention_mask"] == 0)
        masked, chosen = mask_tokens(encoded["input_ids"], special, tokenizer.mask_token_id,
                                     len(tokenizer), generator)
        hidden = model.bert(input_ids=masked, attention_mask=encoded["attention_mask"]).last_hidden_state
        logits = model.cls(hidden[chosen])
        loss = torch.nn.functional.cross_entropy(logits, encoded["input_ids"][chosen])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(head + body, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
        if step % log_every == 0 or step == steps:
            record = {"step": step, "loss": round(sum(losses[-log_every:]) / len(losses[-log_every:]), 4),
                      "encoder_trained": step > head_steps}
            if on_log:
                on_log(record)
    if output_dir.exists():
        shutil.rmtree(output_dir)
    # The encoder class the folder had (with its pooler, which the masked-LM model lacks)
    adapted = AutoModel.from_pretrained(str(encoder_dir))
    adapted.load_state_dict(model.bert.state_dict(), strict=False)
    adapted.save_pretrained(str(output_dir))
    tokenizer.save_pretrained(str(output_dir))
    for name in TOKENIZER_FILES:
        if (encoder_dir / name).is_file() and not (output_dir / name).exists():
            shutil.copy(encoder_dir / name, output_dir / name)
    window = min(log_every, len(losses))
    summary = {
        "encoder": str(encoder_dir), "texts": len(texts), "steps": steps, "head_steps": head_steps,
        "batch_size": batch_size, "max_length": max_length, "learn_rate": learn_rate,
        "head_learn_rate": head_learn_rate, "seed": seed,
        "first_loss": round(sum(losses[:window]) / window, 4), "last_loss": record.get("loss"),
    }
    (output_dir / ADAPTATION_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf8")
    summary["output"] = str(output_dir)
    return summary
