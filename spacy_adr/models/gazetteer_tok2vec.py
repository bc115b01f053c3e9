"""Token vectors that carry the ADR gazetteer's B/I/O tag beside the encoder's features.

The KFU system concatenated dictionary BIO features to the BERT output before the NER
head. Here the tag comes from ``Token._.adr_gaz`` (written by ``adr_gazetteer``) and is
embedded by a 3-row learned table, so the NER model can weigh it against the encoder.
A small window over the neighbours' tags (default 1 each side) lets the NER see whether
a match continues after the current token, which its transition features cannot.
"""
from typing import Callable, Dict, List, Optional, Tuple

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Linear, Model, chain, concatenate, expand_window, uniform_init, with_array
from thinc.types import Floats2d

from .. import extensions  # noqa: F401  (declares Token._.adr_gaz)

Tok2VecT = Model[List[Doc], List[Floats2d]]

# Row of the embedding table per tag; the order is part of the saved weights, never change it.
GAZ_TAGS: Dict[str, int] = {"O": 0, "B": 1, "I": 2}


@registry.architectures("spacy-adr.GazetteerTok2Vec.v1")
def build_gazetteer_tok2vec(
    tok2vec: Tok2VecT,
    gazetteer_width: int = 16,
    use_gazetteer: bool = True,
    window_size: int = 1,
) -> Tok2VecT:
    """Concatenate a tok2vec's token vectors with a learned embedding of Token._.adr_gaz.

    spaCy's NER decides a token's action (B-, U-, ...) from the token, the open entity
    and the token before it, never the token after it: look-ahead can only come from the
    token vectors. A tag embedding alone would tell the model where a gazetteer match
    starts but not whether it goes on, so by default each token's feature also sees the
    tags of its neighbours (a window over the tag embeddings, projected back to
    `gazetteer_width`).

    tok2vec (Model[List[Doc], List[Floats2d]]): The inner token-to-vector layer, usually
        a `spacy-transformers.TransformerListener.v1`.
    gazetteer_width (int): Width of the embedding of the B/I/O gazetteer tag.
    use_gazetteer (bool): If False, return `tok2vec` unchanged, so that the gazetteer
        ablation is a single config variable.
    window_size (int): Number of neighbouring tags on each side that a token's gazetteer
        feature sees; 0 gives the bare tag embedding.
    RETURNS (Model[List[Doc], List[Floats2d]]): Token vectors of width
        `tok2vec` width + `gazetteer_width` (or `tok2vec` itself).
    """
    if not use_gazetteer:
        return tok2vec
    embed = gazetteer_embed(gazetteer_width)
    features: Tok2VecT = embed
    if window_size > 0:
        n_window = gazetteer_width * (2 * window_size + 1)
        # pad keeps each doc's window from reaching into the next doc of the batch.
        features = chain(
            embed,
            with_array(
                chain(expand_window(window_size=window_size), Linear(gazetteer_width, n_window)),
                pad=window_size,
            ),
        )
    concat: Tok2VecT = concatenate(tok2vec, features)
    model: Tok2VecT = Model(
        "adr_gazetteer_tok2vec",
        _concat_forward,
        init=_concat_init,
        layers=[concat],
        dims={"nO": None},
        attrs={"gazetteer_width": gazetteer_width},
        refs={"tok2vec": tok2vec, "gazetteer": embed, "gazetteer_features": features},
    )
    # A parser/NER model reads its tok2vec's nO when it is built, so give it now where we can.
    if tok2vec.has_dim("nO"):
        model.set_dim("nO", tok2vec.get_dim("nO") + gazetteer_width)
    return model


def _concat_forward(
    model: Tok2VecT, docs: List[Doc], is_train: bool
) -> Tuple[List[Floats2d], Callable]:
    # thinc's `concatenate` would add up its sublayers' input gradients, but a transformer
    # listener shared with another component returns None for them (only the last listener
    # to backprop gets the Docs' gradient), so concatenate here and give Docs no gradient.
    layers = model.layers[0].layers
    outputs, backprops = zip(*(layer(docs, is_train) for layer in layers))
    widths = [parts[0].shape[1] if parts else 0 for parts in outputs]
    Ys = [model.ops.xp.hstack(doc_parts) for doc_parts in zip(*outputs)]

    def backprop(dYs: List[Floats2d]) -> List[Doc]:
        start = 0
        for width, layer_backprop in zip(widths, backprops):
            layer_backprop([dY[:, start : start + width] for dY in dYs])
            start += width
        return []

    return Ys, backprop


def _concat_init(
    model: Tok2VecT, X: Optional[List[Doc]] = None, Y: Optional[List[Floats2d]] = None
) -> None:
    model.layers[0].initialize(X=X, Y=Y)
    tok2vec = model.get_ref("tok2vec")
    gaz_width = model.attrs["gazetteer_width"]
    inner_width: Optional[int] = None
    if tok2vec.has_dim("nO"):
        inner_width = tok2vec.get_dim("nO")
    elif X:
        # A TransformerListener chain never declares its width (the listener learns it
        # from the transformer at nlp.initialize), so measure it on one non-empty doc.
        sample = [doc for doc in X if len(doc)][:1]
        if sample:
            inner_width = tok2vec.predict(sample)[0].shape[1]
    if inner_width is not None:
        model.set_dim("nO", inner_width + gaz_width, force=True)


def gazetteer_embed(width: int) -> Model[List[Doc], List[Floats2d]]:
    """Embed each token's Token._.adr_gaz tag (B, I or O) with a 3-row learned table.

    width (int): The embedding width.
    RETURNS (Model[List[Doc], List[Floats2d]]): One (n_tokens, width) array per doc.
    """
    return Model(
        "adr_gazetteer_embed",
        _embed_forward,
        init=_embed_init,
        dims={"nO": width, "nV": len(GAZ_TAGS)},
        params={"E": None},
    )


def _embed_init(
    model: Model[List[Doc], List[Floats2d]],
    X: Optional[List[Doc]] = None,
    Y: Optional[List[Floats2d]] = None,
) -> None:
    shape = (model.get_dim("nV"), model.get_dim("nO"))
    model.set_param("E", uniform_init(model.ops, shape))


def _embed_forward(
    model: Model[List[Doc], List[Floats2d]], docs: List[Doc], is_train: bool
) -> Tuple[List[Floats2d], Callable]:
    E = model.get_param("E")
    ids = [model.ops.asarray1i([_tag_id(token) for token in doc]) for doc in docs]
    Ys = [E[doc_ids] for doc_ids in ids]

    def backprop(dYs: List[Floats2d]) -> List[Doc]:
        dE = model.ops.alloc2f(*E.shape)
        for doc_ids, dY in zip(ids, dYs):
            model.ops.scatter_add(dE, doc_ids, dY)
        model.inc_grad("E", dE)
        # Docs have no gradient; the empty list is what spaCy's tok2vec layers return.
        return []

    return Ys, backprop


def _tag_id(token) -> int:
    tag = token._.adr_gaz
    if tag not in GAZ_TAGS:
        raise ValueError(
            f"Token._.adr_gaz must be one of {sorted(GAZ_TAGS)}, got {tag!r} for token "
            f"{token.i} ({token.text!r}); is an older or foreign gazetteer component in the pipeline?"
        )
    return GAZ_TAGS[tag]
