"""A spacy-transformers TransformerModel that feeds the encoder ``token.norm_``, not ``span.text``.

``adr_tweet_normalizer`` rewrites tweet noise into ``token.norm_`` (URL -> "link",
@user -> "@username", ...) while ``doc.text`` stays the user's tweet, so entity offsets keep
pointing into the original text. spacy-transformers 1.4 tokenizes ``span.text`` and aligns
wordpieces by character offsets, which would show the encoder the raw URL. This variant hands
the HF fast tokenizer the pre-split words ``[token.norm_ for token in span]`` with
``is_split_into_words=True`` and aligns each spaCy token to the wordpieces of its word via
``BatchEncoding.word_ids()``. Everything else (HF loading, wrapper, truncation, serialization,
listeners, the ``FullTransformerBatch`` output) is spacy-transformers' own machinery.

Tokenizers: a fast tokenizer is required (``word_ids`` comes from the Rust tokenizers).
WordPiece (BERT) and SentencePiece/Metaspace (XLM-R, e5) tokenizers handle each word on its
own. Byte-level BPE tokenizers (RoBERTa, GPT-2, BART, DeBERTa) refuse pre-split input unless
built with ``add_prefix_space``: set ``tokenizer_config = {"use_fast": true,
"add_prefix_space": true}``; it is stored with the tokenizer when the pipeline is saved.

Note that spaCy's default ``norm_`` is lower-cased: with a cased encoder, the normaliser
should write case-preserving norms.

Inference settings (prediction only; training and saved weights are unaffected, see
``spacy_adr.models.inference``): ``quantize = "mixed"`` (or "int8", "bf16") runs a
quantised copy of the encoder on CPUs, ``length_groups = N`` runs a batch's sequences sorted
by length, N at a time. Both are config keys of the model, so ``spacy.load(name, config={"components.transformer.model.quantize":
null})`` gives the fp32 encoder back.
"""
import copy
from typing import Callable, Dict, List, Optional, Tuple

import numpy
from spacy.tokens import Doc, Span
from spacy.util import registry
from spacy_transformers.align import get_token_positions
from spacy_transformers.data_classes import FullTransformerBatch, WordpieceBatch
from spacy_transformers.layers._util import replace_listener_cfg as _trf_replace_listener_cfg
from spacy_transformers.layers.split_trf import split_trf_batch
from spacy_transformers.layers.transformer_model import (
    TransformerModel,
    huggingface_from_pretrained,
)
from spacy_transformers.layers.trfs2arrays import trfs2arrays
from spacy_transformers.truncate import truncate_oversize_splits
from spacy_transformers.util import maybe_flush_pytorch_cache
from thinc.api import Model, chain
from thinc.types import Floats2d, Ragged
from transformers.tokenization_utils import BatchEncoding

from .inference import (
    InferenceCopy,
    check_length_groups,
    check_quantize,
    on_cpu,
    predict_in_length_groups,
    wordpiece_inputs,
)
from .stored_precision import keep_stored_precision

TransformerT = Model[List[Doc], FullTransformerBatch]

NORM_TOK2VEC_ARCH = "spacy-adr.Tok2VecNormTransformer.v1"


class NormTransformerModel(TransformerModel):
    """spacy-transformers' TransformerModel with a forward pass that reads `token.norm_`.

    It subclasses TransformerModel so that the Transformer pipe, HFShim serialization,
    listeners and `isinstance` checks treat it as the original.
    """

    def __init__(
        self,
        name: str,
        get_spans: Callable,
        tokenizer_config: dict = {},
        transformer_config: dict = {},
        mixed_precision: bool = False,
        grad_scaler_config: dict = {},
        quantize: Optional[str] = None,
        length_groups: int = 0,
    ):
        super().__init__(
            name,
            get_spans,
            tokenizer_config,
            transformer_config,
            mixed_precision,
            grad_scaler_config,
        )
        # TransformerModel hard-wires its text-reading forward and init; swap in ours.
        self._func = forward
        self.init = init
        self.attrs["replace_listener_cfg"] = replace_listener_cfg
        # Plain attributes, not attrs: thinc saves attrs with the weights, and a saved value
        # would override the config on load (one override must give fp32 back).
        self.quantize = check_quantize(quantize, "spacy-adr.NormTransformerModel")
        self.length_groups = check_length_groups(length_groups, "spacy-adr.NormTransformerModel")
        self.quantized = InferenceCopy()
        # bf16-stored weights load as bf16 when they run so (spacy_adr.models.stored_precision)
        keep_stored_precision(self, self.quantize)

    def copy(self) -> "NormTransformerModel":
        """Copy the model with its parameters and HF objects (spaCy's `replace_listeners`
        calls this); the inherited copy would come back as a text-reading TransformerModel.
        """
        copied = NormTransformerModel(
            self.attrs["name"],
            self.attrs["get_spans"],
            quantize=self.quantize,
            length_groups=self.length_groups,
        )
        params = {}
        for name in self.param_names:
            params[name] = self.get_param(name) if self.has_param(name) else None
        copied.params = copy.deepcopy(params)
        copied.dims = copy.deepcopy(self._dims)
        copied.layers[0] = copy.deepcopy(self.layers[0])
        copied.attrs["has_transformer"] = self.attrs["has_transformer"]
        for name in self.grad_names:
            copied.set_grad(name, self.get_grad(name).copy())
        return copied


@registry.architectures("spacy-adr.NormTransformerModel.v1")
def create_norm_transformer_model_v1(
    name: str,
    get_spans: Callable,
    tokenizer_config: dict = {},
    transformer_config: dict = {},
    mixed_precision: bool = False,
    grad_scaler_config: dict = {},
    quantize: Optional[str] = None,
    length_groups: int = 0,
) -> TransformerT:
    """A pretrained transformer, fine-tunable like `spacy-transformers.TransformerModel.v3`,
    that encodes each token's `norm_` instead of the document text.

    name (str): Name or local path of the pretrained Hugging Face model.
    get_spans (Callable[[List[Doc]], List[List[Span]]]): Function that cuts the batch
        into the spans the transformer sees (e.g. `spacy-transformers.strided_spans.v1`).
    tokenizer_config (dict): Settings for the tokenizer; it must be a fast tokenizer, and
        byte-level BPE tokenizers need `add_prefix_space = true`.
    transformer_config (dict): Settings for the transformer's forward pass.
    mixed_precision (bool): Enable mixed-precision (GPU).
    grad_scaler_config (dict): Gradient scaling under mixed precision, as in
        `spacy-transformers.TransformerModel.v3`.
    quantize (Optional[str]): "int8", "mixed" or "bf16" to predict with a quantised copy of the
        encoder on CPUs (`spacy_adr.models.inference`); None for fp32.
    length_groups (int): At prediction, run the sequences sorted by length this many at a
        time (0: the whole batch in one pass, as spacy-transformers does).
    RETURNS (Model[List[Doc], FullTransformerBatch]): The transformer model.
    """
    return NormTransformerModel(
        name,
        get_spans,
        tokenizer_config,
        transformer_config,
        mixed_precision,
        grad_scaler_config,
        quantize=quantize,
        length_groups=length_groups,
    )


@registry.architectures(NORM_TOK2VEC_ARCH)
def create_norm_tok2vec_transformer_v1(
    name: str,
    get_spans: Callable,
    tokenizer_config: dict,
    pooling: Model[Ragged, Floats2d],
    grad_factor: float = 1.0,
    transformer_config: dict = {},
    mixed_precision: bool = False,
    grad_scaler_config: dict = {},
    quantize: Optional[str] = None,
    length_groups: int = 0,
) -> Model[List[Doc], List[Floats2d]]:
    """A private norm-reading transformer used directly as a tok2vec layer: the
    counterpart of `spacy-transformers.Tok2VecTransformer.v3`, and what
    `nlp.replace_listeners` writes into the config in place of a listener.

    name (str): Name or local path of the pretrained Hugging Face model.
    get_spans (Callable[[List[Doc]], List[List[Span]]]): Span getter, as above.
    tokenizer_config (dict): Settings for the (fast) tokenizer.
    pooling (Model[Ragged, Floats2d]): Reduces a token's wordpiece vectors to one vector.
    grad_factor (float): Reweights gradients passed to the transformer.
    transformer_config (dict): Settings for the transformer's forward pass.
    mixed_precision (bool): Enable mixed-precision (GPU).
    grad_scaler_config (dict): Gradient scaling under mixed precision.
    quantize (Optional[str]): "int8", "mixed", "bf16" or None, as above.
    length_groups (int): Length-sorted groups at prediction, as above.
    RETURNS (Model[List[Doc], List[Floats2d]]): One (n_tokens, width) array per doc.
    """
    # A chain of chain, like Tok2VecTransformer.v3, to match a listener after replacement.
    return chain(  # type: ignore[return-value]
        chain(
            NormTransformerModel(
                name,
                get_spans,
                tokenizer_config,
                transformer_config,
                mixed_precision,
                grad_scaler_config,
                quantize=quantize,
                length_groups=length_groups,
            ),
            split_trf_batch(),
        ),
        trfs2arrays(pooling, grad_factor),
    )


def replace_listener_cfg(tok2vec_model_cfg: Dict, listener_model_cfg: Dict) -> Dict:
    """Config of the layer that replaces a listener (see `nlp.replace_listeners`): like
    spacy-transformers' own, but naming the norm-reading tok2vec so that a reloaded
    config still reads `token.norm_`.
    """
    listener_cfg = _find_listener_cfg(listener_model_cfg)
    if listener_cfg is None:
        return _trf_replace_listener_cfg(tok2vec_model_cfg, listener_model_cfg)
    result = dict(tok2vec_model_cfg)
    result["@architectures"] = NORM_TOK2VEC_ARCH
    for key in ["pooling", "grad_factor"]:
        if key in listener_cfg and key not in result:
            result[key] = listener_cfg[key]
    return result


def _find_listener_cfg(cfg: Dict) -> Optional[Dict]:
    # spaCy passes the pipe's whole `model.tok2vec` block, which may wrap the listener
    # (e.g. spacy-adr.GazetteerTok2Vec.v1 keeps it under `tok2vec`).
    if "TransformerListener" in cfg.get("@architectures", ""):
        return cfg
    inner = cfg.get("tok2vec")
    return _find_listener_cfg(inner) if isinstance(inner, dict) else None


def init(model: NormTransformerModel, X: Optional[List[Doc]] = None, Y=None) -> None:
    if model.attrs["has_transformer"]:
        return
    hf_model = huggingface_from_pretrained(
        model.attrs["name"],
        model._init_tokenizer_config,
        model._init_transformer_config,
    )
    model.attrs["set_transformer"](model, hf_model)
    tokenizer = model.tokenizer
    _check_tokenizer(tokenizer)
    spans: List[Span] = []
    if X:
        spans = _flatten(model.attrs["get_spans"](X))
    if spans:
        wordpieces, _ = tokenize_and_align(tokenizer, spans)
    else:
        words = [["hello", "world"], ["foo", "bar"]]
        wordpieces = WordpieceBatch.from_batch_encoding(
            huggingface_tokenize_words(tokenizer, words)
        )
    model.layers[0].initialize(X=wordpieces)
    model_output = model.layers[0].predict(wordpieces)
    model.set_dim("nO", model_output.last_hidden_state.shape[-1], force=True)


def forward(
    model: NormTransformerModel, docs: List[Doc], is_train: bool
) -> Tuple[FullTransformerBatch, Callable]:
    nested_spans = model.attrs["get_spans"](docs)
    flat_spans = _flatten(nested_spans)
    # Same periodic cache flush as spacy-transformers' forward (memory on GPU).
    maybe_flush_pytorch_cache(chance=model.attrs.get("flush_cache_chance", 0))
    wordpieces, align = tokenize_and_align(model.tokenizer, flat_spans)
    if is_train:
        model.quantized.clear()  # the weights are about to change
    if is_train or not flat_spans or not (model.quantize or model.length_groups):
        model_output, bp_tensors = model.layers[0](wordpieces, is_train)
    else:
        model_output, bp_tensors = predict_fast(model, wordpieces), _no_backprop
    output = FullTransformerBatch(
        spans=nested_spans,
        wordpieces=wordpieces,
        model_output=model_output,
        align=align,
    )

    def backprop_transformer(d_output: FullTransformerBatch) -> List[Doc]:
        bp_tensors(d_output.model_output)
        return docs

    return output, backprop_transformer


def predict_fast(model: NormTransformerModel, wordpieces: WordpieceBatch):
    """The encoder's output for a batch under the model's inference settings: the quantised
    copy when `quantize` is set and the encoder is on the CPU, in length-sorted groups
    (`length_groups`, or the whole batch as one group).
    """
    hf_model = model.layers[0].shims[0]._model
    if not on_cpu(hf_model):
        # int8 and the NumPy-based grouping are CPU paths; a GPU runs the batch as is.
        return model.layers[0].predict(wordpieces)
    module = model.quantized.get(hf_model, model.quantize) if model.quantize else hf_model
    group_size = model.length_groups or len(wordpieces)
    return predict_in_length_groups(module, wordpiece_inputs(wordpieces), group_size)


def _no_backprop(d_output):
    raise ValueError("spacy-adr.NormTransformerModel: no backprop from a prediction pass")


def tokenize_and_align(tokenizer, spans: List[Span]) -> Tuple[WordpieceBatch, Ragged]:
    """Tokenize the spans' normalised tokens and align the spans' tokens to the wordpieces.

    tokenizer (PreTrainedTokenizerFast): The HF fast tokenizer.
    spans (List[Span]): The flat list of spans, possibly overlapping.
    RETURNS (Tuple[WordpieceBatch, Ragged]): The wordpieces (cut to the model's maximum
        length) and the alignment: for each unique token of the spans' docs, the indices
        of its wordpieces in the flattened, padded wordpiece array.
    """
    words = [[token.norm_ for token in span] for span in spans]
    batch_encoding = huggingface_tokenize_words(tokenizer, words)
    wordpieces = WordpieceBatch.from_batch_encoding(batch_encoding)
    align = get_alignment_via_word_ids(spans, batch_encoding)
    return truncate_oversize_splits(wordpieces, align, tokenizer.model_max_length)


def huggingface_tokenize_words(tokenizer, words: List[List[str]]) -> BatchEncoding:
    """Apply a HF fast tokenizer to a batch of pre-split word lists, in the format of
    spacy-transformers' `huggingface_tokenize` (NumPy arrays, padded to the longest,
    plus `input_texts` and `pad_token`).

    tokenizer (PreTrainedTokenizerFast): The HF fast tokenizer.
    words (List[List[str]]): One list of words per sequence.
    RETURNS (BatchEncoding): The encoding; `word_ids(i)` maps wordpieces to words.
    """
    _check_tokenizer(tokenizer)
    try:
        token_data = tokenizer(
            words,
            is_split_into_words=True,
            add_special_tokens=True,
            return_attention_mask=True,
            return_tensors="np",
            return_token_type_ids=None,  # the model's default
            padding="longest",
        )
    except AssertionError as err:
        # Byte-level BPE fast tokenizers assert on pre-split input without a prefix space.
        raise ValueError(
            f"{type(tokenizer).__name__} cannot tokenize pre-split words as configured: "
            f"{err} Set `tokenizer_config = {{\"use_fast\": true, \"add_prefix_space\": true}}` "
            "in the transformer's model config."
        ) from err
    token_data["input_texts"] = [
        tokenizer.convert_ids_to_tokens(ids) for ids in token_data["input_ids"]
    ]
    token_data["pad_token"] = tokenizer.pad_token
    return token_data


def get_alignment_via_word_ids(spans: List[Span], batch_encoding: BatchEncoding) -> Ragged:
    """Align tokens to wordpieces through `word_ids()`: token k of span i gets the
    wordpieces of word k of sequence i. Same layout as spacy-transformers' alignments:
    one entry per unique token of the spans' docs (in doc order, tokens outside every
    span get none), indices into the flattened padded batch, overlapping spans merged.

    spans (List[Span]): The flat list of spans that was tokenized, in order.
    batch_encoding (BatchEncoding): Output of `huggingface_tokenize_words` on the spans.
    RETURNS (Ragged): The alignment; lengths has one entry per token.
    """
    n_seqs, n_cols = batch_encoding["input_ids"].shape[:2]
    if n_seqs != len(spans):
        raise ValueError(f"Cannot align {len(spans)} spans to {n_seqs} sequences.")
    token_positions = get_token_positions(spans)
    alignment: List[List[int]] = [[] for _ in range(len(token_positions))]
    for i, span in enumerate(spans):
        positions = [token_positions[token] for token in span]
        for j, word_id in enumerate(batch_encoding.word_ids(i)):
            if word_id is not None:
                alignment[positions[word_id]].append(i * n_cols + j)
    lengths: List[int] = []
    flat: List[int] = []
    for indices in alignment:
        unique = sorted(set(indices))
        lengths.append(len(unique))
        flat.extend(unique)
    return Ragged(
        numpy.asarray(flat, dtype="i"),  # type: ignore[arg-type]
        numpy.asarray(lengths, dtype="i"),  # type: ignore[arg-type]
    )


def _check_tokenizer(tokenizer) -> None:
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            f"spacy-adr.NormTransformerModel needs a fast (Rust) tokenizer for word_ids(), "
            f"got {type(tokenizer).__name__}. Set `tokenizer_config = {{\"use_fast\": true}}` "
            "or give the model folder a tokenizer.json."
        )


def _flatten(nested_spans: List[List[Span]]) -> List[Span]:
    return [span for doc_spans in nested_spans for span in doc_spans]
