"""Freezing a transformer's word-embedding table while the rest of it trains.

multilingual-e5-small has 118M parameters, 96M of them in its 250k x 384 word-embedding table.
Updating that table costs most of a training step on a CPU (a 16-tweet step takes ~3.3 s with
it and ~0.6 s without, measured on 2 cores) and a few thousand tweets touch only a sliver of
it, so the bilingual classifier trains with it frozen.
"""
from typing import Callable, List

import spacy
from spacy.language import Language
from wasabi import msg


@spacy.registry.callbacks("spacy-adr.freeze_word_embeddings.v1")
def freeze_word_embeddings_v1(components: List[str] = ["transformer"]) -> Callable[[Language], Language]:
    """An `[initialize.after_init]` callback that stops gradient updates of the word-embedding
    table of the HF model inside each named transformer component.

        [initialize.after_init]
        @callbacks = "spacy-adr.freeze_word_embeddings.v1"
        components = ["transformer"]

    components (List[str]): Names of `transformer` components.
    RETURNS (Callable[[Language], Language]): The callback.
    """

    def freeze(nlp: Language) -> Language:
        for name in components:
            if name not in nlp.component_names:
                raise ValueError(f"spacy-adr.freeze_word_embeddings.v1: no component {name!r} in {nlp.component_names}")
            hf_model = nlp.get_pipe(name).model.transformer
            table = hf_model.get_input_embeddings()
            table.weight.requires_grad_(False)
            msg.info(f"{name}: froze the word embeddings ({tuple(table.weight.shape)})")
        return nlp

    return freeze
