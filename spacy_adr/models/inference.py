"""Faster CPU inference for the pipelines' torch encoders: quantised copies and length groups.

Two settings, both read at prediction time only (training and saved weights stay fp32):

- ``quantize``: the encoder runs as a copy whose ``torch.nn.Linear`` layers are
  - ``"int8"``: int8 weights (one scale per output channel) whose inputs are quantised per
    batch (torch's dynamic quantisation, on CPUs);
  - ``"mixed"``: the same, except the layers that project down (more inputs than outputs:
    the feed-forward block's second matmul, which reads the GELU's outputs, whose outliers one
    int8 scale per batch handles worst) in bf16;
  - ``"bf16"``: every Linear layer in bf16: no scale computed per batch, so closest to fp32.
  - ``"ort"``, ``"ort-int8"`` and ``"ort-mixed"``: the encoder exported to ONNX and run by ONNX
    Runtime, fp32, with int8 weights, or int8 except the down-projections
    (``spacy_adr.models.onnx_encoder``).
  bf16 layers stay fp32 on a CPU without AVX-512 BF16. Embeddings and layer norms stay fp32
  and are shared with the original, so the copy costs only its Linear weights. The fp32
  module stays in place, so `to_disk` writes the fp32 weights and a reloaded pipeline
  quantises again. The int8 modes quantise a layer's input with one scale for the whole
  group of tweets, so a tweet's result can change in the last digits (and rarely a span) with
  the tweets it is batched with; fp32 and bf16 depend on the batch only through padding,
  which masks hide. What each costs and gains was measured in one run (README, "Speed and
  what it costs"; `metrics/speed.json`).
- length groups: a batch's sequences run sorted by length in groups of a few, each padded
  only to its own longest, then go back to their places in one batch padded as before.
  Attention masks make the padding irrelevant to the results, so only time changes.

Why torch's eager quantisation: it needs nothing beyond torch and keeps the HF model (and so
spacy-transformers' alignment and listeners) as it is. Per-channel weight scales were
measured closer to fp32 than one scale per tensor, at the same speed.
"""
import copy
import warnings
from typing import Dict, Optional, Union

import numpy
import torch
from transformers.modeling_outputs import BaseModelOutput

from .onnx_encoder import ORT_MODES, OnnxEncoder

QUANTIZE_CHOICES = ("int8", "mixed", "bf16", *ORT_MODES)


def check_quantize(value: Optional[str], where: str) -> Optional[str]:
    """Validate a `quantize` setting.

    value (Optional[str]): None (fp32), "int8", "mixed", "bf16", "ort", "ort-int8" or "ort-mixed".
    where (str): What the setting belongs to, for the error message.
    RETURNS (Optional[str]): The value; "fp32", "none" and "" mean None.
    """
    if value is None or value in ("fp32", "none", ""):
        return None
    if value not in QUANTIZE_CHOICES:
        raise ValueError(f"{where}: quantize must be null (fp32) or one of {list(QUANTIZE_CHOICES)}, got {value!r}")
    return value


def check_length_groups(length_groups: int, where: str) -> int:
    """Validate a `length_groups` setting (0: the whole batch in one pass).

    length_groups (int): Sequences per length-sorted group.
    where (str): What the setting belongs to, for the error message.
    RETURNS (int): The value.
    """
    if length_groups < 0:
        raise ValueError(f"{where}: length_groups must be >= 0, got {length_groups}")
    return length_groups


class BF16Linear(torch.nn.Module):
    """A Linear layer computed in bf16 on fp32 inputs and outputs (inference only)."""

    def __init__(self, linear: torch.nn.Linear) -> None:
        super().__init__()
        self.register_buffer("weight", linear.weight.detach().to(torch.bfloat16))
        bias = linear.bias.detach().to(torch.bfloat16) if linear.bias is not None else None
        self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.linear(x.to(torch.bfloat16), self.weight, self.bias).to(x.dtype)


def quantized_copy(module: torch.nn.Module, mode: str = "int8") -> Union[torch.nn.Module, OnnxEncoder]:
    """A copy of module whose Linear layers run in int8 (`mode` "mixed": down-projections in
    bf16; "bf16": all in bf16), or the module run by ONNX Runtime ("ort", "ort-int8",
    "ort-mixed"), for inference on the CPU.

    module (torch.nn.Module): An fp32 model on the CPU (left unchanged).
    mode (str): "int8", "mixed", "bf16", "ort", "ort-int8" or "ort-mixed" (see the module's docstring).
    RETURNS (Union[torch.nn.Module, OnnxEncoder]): The copy, in eval mode; a torch copy's
        parameters other than the Linear layers' are the original's tensors, not copies.
    """
    check_quantize(mode, "quantized_copy")
    if mode in ORT_MODES:
        return OnnxEncoder(module, mode)
    linears = {name: m for name, m in module.named_modules() if isinstance(m, torch.nn.Linear)}
    # Linear weights are copied to be quantised, except those already stored in bf16 that
    # run in bf16 (spacy_adr.models.stored_precision): those the copy shares.
    linear_params = {
        id(p) for m in linears.values() for p in m.parameters()
        if not (mode == "bf16" and p.dtype == torch.bfloat16)
    }
    shared = {id(t): t for t in list(module.parameters()) + list(module.buffers()) if id(t) not in linear_params}
    copied = copy.deepcopy(module, memo=dict(shared))
    if mode == "bf16":
        down = set(linears)
    else:
        down = {name for name, m in linears.items() if mode == "mixed" and m.in_features > m.out_features}
    qconfig = {name: torch.ao.quantization.per_channel_dynamic_qconfig for name in linears if name not in down}
    with warnings.catch_warnings():
        # torch >= 2.10 points to torchao for new work; the eager API is what is pinned here.
        warnings.simplefilter("ignore")
        quantized = torch.ao.quantization.quantize_dynamic(copied, qconfig, dtype=torch.qint8, inplace=True)
    if down and torch.cpu._is_avx512_bf16_supported():
        for name in down:
            parent_name, _, child = name.rpartition(".")
            parent = quantized.get_submodule(parent_name) if parent_name else quantized
            setattr(parent, child, BF16Linear(getattr(parent, child)))
    return quantized.eval()


def on_cpu(module: torch.nn.Module) -> bool:
    """RETURNS (bool): Whether the module's parameters live on the CPU (int8 needs it)."""
    param = next(module.parameters(), None)
    return param is None or param.device.type == "cpu"


class InferenceCopy:
    """Caches the quantised copy of one module; rebuilt when the module object or the mode changes
    (e.g. a `from_bytes` put a new model in place) and dropped on `clear` (training).
    """

    def __init__(self) -> None:
        # The source itself, not its id: an id can be reused once the old model is freed.
        self._source: Optional[torch.nn.Module] = None
        self._copy: Optional[Union[torch.nn.Module, OnnxEncoder]] = None
        self._mode: Optional[str] = None

    def get(self, module: torch.nn.Module, mode: str = "int8") -> Union[torch.nn.Module, OnnxEncoder]:
        """The quantised copy of module (made on first use), or module itself off the CPU.

        module (torch.nn.Module): The fp32 model.
        mode (str): "int8", "mixed", "bf16", "ort", "ort-int8" or "ort-mixed".
        RETURNS (Union[torch.nn.Module, OnnxEncoder]): What to run.
        """
        if not on_cpu(module):
            return module
        if self._copy is None or self._source is not module or self._mode != mode:
            self._copy = quantized_copy(module, mode)
            self._source, self._mode = module, mode
        return self._copy

    def clear(self) -> None:
        """Forget the copy: the fp32 weights are about to change."""
        self._copy, self._source = None, None


def predict_in_length_groups(
    module: Union[torch.nn.Module, OnnxEncoder], inputs: Dict[str, numpy.ndarray], group_size: int
) -> BaseModelOutput:
    """Run an HF encoder on a padded batch, sequences sorted by length in groups.

    module (Union[torch.nn.Module, OnnxEncoder]): The HF model (fp32 or a quantised copy).
    inputs (Dict[str, numpy.ndarray]): `input_ids`, `attention_mask` and optionally
        `token_type_ids`, each (n_sequences, n_columns), padded to the longest.
    group_size (int): Sequences per forward pass.
    RETURNS (BaseModelOutput): `last_hidden_state` (n_sequences, n_columns, width), in the
        input's order and padding, as one forward pass gives at every real wordpiece (padded
        positions, which no token is aligned to, hold zeros or what a group computed there).
    """
    mask = numpy.asarray(inputs["attention_mask"])
    n_seqs, n_cols = mask.shape
    lengths = mask.sum(axis=1).astype(int)
    # Stable sort: equal lengths keep their order, so a batch always runs the same way.
    order = numpy.argsort(lengths, kind="stable")
    is_torch = isinstance(module, torch.nn.Module)
    device = next(module.parameters()).device if is_torch else torch.device("cpu")
    hidden: Optional[torch.Tensor] = None
    was_training = is_torch and module.training
    if is_torch:
        module.eval()
    try:
        with torch.no_grad():
            for start in range(0, n_seqs, max(1, group_size)):
                rows = order[start : start + group_size]
                width = max(1, int(lengths[rows].max()))
                group = {
                    key: torch.as_tensor(numpy.ascontiguousarray(numpy.asarray(value)[rows, :width]), device=device)
                    for key, value in inputs.items()
                    if value is not None
                }
                output = module(**group).last_hidden_state
                if hidden is None:
                    hidden = output.new_zeros((n_seqs, n_cols, output.shape[-1]))
                hidden[torch.as_tensor(rows, device=device), :width] = output
    finally:
        if is_torch:
            module.train(was_training)
    assert hidden is not None, "predict_in_length_groups needs at least one sequence"
    return BaseModelOutput(last_hidden_state=hidden)


def wordpiece_inputs(wordpieces) -> Dict[str, numpy.ndarray]:
    """The model inputs of a spacy-transformers WordpieceBatch, as arrays.

    wordpieces (WordpieceBatch): The padded batch.
    RETURNS (Dict[str, numpy.ndarray]): input_ids, attention_mask, token_type_ids if any.
    """
    inputs: Dict[str, numpy.ndarray] = {
        "input_ids": wordpieces.input_ids,
        "attention_mask": wordpieces.attention_mask,
    }
    if wordpieces.token_type_ids is not None:
        inputs["token_type_ids"] = wordpieces.token_type_ids
    return inputs

