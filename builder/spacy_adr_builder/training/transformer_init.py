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
- Freezing the lower layers: a base-size encoder (all-mpnet-base-v2, 12 x 768) costs about
  five MiniLMs a forward pass. With the embeddings and the lower N layers frozen, autograd
  records nothing below layer N, so a step pays the full forward but the backward of the
  upper layers only; the lower layers of a pre-trained encoder change least in fine-tuning.
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
    freeze_layers: int = 0,
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
    freeze_layers (int): Also freeze all embeddings and the lowest N transformer layers (and
        weights shared by all layers, such as MPNet's relative attention bias); 0 freezes none.
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
            if freeze_layers:
                frozen = freeze_lower_layers(pipe.model.transformer, freeze_layers)
                msg.info(f"{name}: froze the embeddings and {freeze_layers} lower layers ({frozen:,} weights)")
        return nlp

    return prepare


def freeze_lower_layers(model, n_layers: int) -> int:
    """Freeze every weight of a Hugging Face encoder except those of its upper layers.

    model (torch.nn.Module): A BERT-like model with its layers in `model.encoder.layer`.
    n_layers (int): How many layers, from the bottom, to freeze (at most all of them).
    RETURNS (int): The number of frozen weights.
    """
    layers = getattr(getattr(model, "encoder", None), "layer", None)
    if layers is None:
        raise ValueError(f"freeze_layers: {type(model).__name__} has no encoder.layer list")
    if not 0 <= n_layers <= len(layers):
        raise ValueError(f"freeze_layers must be between 0 and {len(layers)}, got {n_layers}")
    trainable = {id(p) for layer in layers[n_layers:] for p in layer.parameters()}
    if getattr(model, "pooler", None) is not None:
        trainable.update(id(p) for p in model.pooler.parameters())
    frozen = 0
    for weight in model.parameters():
        if id(weight) not in trainable:
            weight.requires_grad_(False)
            frozen += weight.numel()
    return frozen
