"""Preparing a transformer before training: start from another trained pipeline's weights
(the multilabel pre-training) and freeze the word-embedding table.

- Pre-training: the paper first trains the encoder to classify drug-review sentences
  (RuDReC + PsyTAR: ADR, indication, effectiveness, ...), then fine-tunes it on tweets.
  `init_from` names the pipeline that pre-training wrote; its transformer's weights replace
  the encoder's own.
- Freezing: multilingual-e5-small has 118M parameters, 96M of them in its 250k x 384
  word-embedding table. Updating that table costs most of a training step on a CPU (a
  16-tweet step takes ~3.3 s with it and ~0.6 s without, measured on 2 cores), and a few
  thousand tweets touch only a sliver of it.
"""
from pathlib import Path
from typing import Callable, List, Optional

import spacy
from spacy.language import Language
from wasabi import msg


@spacy.registry.callbacks("spacy-adr.transformer_init.v1")
def transformer_init_v1(
    components: List[str] = ["transformer"],
    init_from: Optional[str] = None,
    freeze_word_embeddings: bool = False,
) -> Callable[[Language], Language]:
    """An `[initialize.after_init]` callback for the named `transformer` components.

        [initialize.after_init]
        @callbacks = "spacy-adr.transformer_init.v1"
        init_from = "training/textcat-pretrain/model-last"
        freeze_word_embeddings = true

    components (List[str]): Names of `transformer` components.
    init_from (Optional[str]): A trained pipeline folder whose component of the same name
        gives the weights; None keeps the encoder's own.
    freeze_word_embeddings (bool): Stop gradient updates of the word-embedding table.
    RETURNS (Callable[[Language], Language]): The callback.
    """

    def prepare(nlp: Language) -> Language:
        for name in components:
            if name not in nlp.component_names:
                raise ValueError(f"spacy-adr.transformer_init.v1: no component {name!r} in {nlp.component_names}")
            pipe = nlp.get_pipe(name)
            if init_from:
                source = Path(init_from) / name
                if not source.is_dir():
                    raise ValueError(f"spacy-adr.transformer_init.v1: {source} is not a saved {name!r} component")
                pipe.from_disk(source, exclude=["vocab"])
                msg.info(f"{name}: weights from {source}")
            if freeze_word_embeddings:
                table = pipe.model.transformer.get_input_embeddings()
                table.weight.requires_grad_(False)
                msg.info(f"{name}: froze the word embeddings ({tuple(table.weight.shape)})")
        return nlp

    return prepare
