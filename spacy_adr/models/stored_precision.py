"""Loading a transformer whose Linear weights were stored in bf16 (`spacy-adr-builder
store-weights`) as bf16, instead of casting them into an fp32 model.

spacy-transformers deserialises a transformer by building the fp32 model from its config
and copying the stored tensors into it. For a pipeline that runs in bf16 (`quantize =
"bf16"`) that costs twice: while loading, the fp32 model sits beside the stored tensors,
and afterwards the fp32 Linear weights stay in memory beside the bf16 copy that predicts.
Here the model is built with its parameters on the meta device (no memory, no random
initialisation) and the stored tensors take their place (`load_state_dict(assign=True)`),
each in the dtype it was stored in: bf16 Linear layers, fp32 embeddings and layer norms, as
`quantize = "bf16"` runs them. The bf16 inference copy (`spacy_adr.models.inference`) then
shares those tensors (what it saves: docs/results.md, "Speed and memory").

Only where the stored weights are what runs: the setting is "bf16", the model is on the CPU
and the CPU computes in bf16. Anywhere else (fp32, int8, ONNX Runtime, a GPU) everything is
cast to fp32 as before. A pipeline loaded so predicts; to train it further, load it with
`config={"components.transformer.model.quantize": None}`.
"""
from contextlib import contextmanager
from typing import Any, Iterator

import torch
from spacy_transformers.layers.hf_shim import HFShim

STORED_DTYPE = torch.bfloat16


def runs_stored_bf16(quantize: Any) -> bool:
    """RETURNS (bool): Whether a transformer with this `quantize` setting predicts with its
    bf16 Linear weights as stored (the setting is "bf16" and this CPU computes in bf16).
    """
    return quantize == "bf16" and torch.cpu._is_avx512_bf16_supported()


@contextmanager
def parameters_on_meta() -> Iterator[None]:
    """Modules built inside get their parameters on the meta device (no memory); buffers,
    which a state dict may not hold (e.g. BERT's position ids), are built for real."""
    register = torch.nn.Module.register_parameter

    def register_on_meta(module, name, param):
        if param is not None:
            param = torch.nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)
        register(module, name, param)

    torch.nn.Module.register_parameter = register_on_meta
    try:
        yield
    finally:
        torch.nn.Module.register_parameter = register


class _BuildInStoredPrecision:
    """Stands in for the shim's model class while HFShim.from_bytes runs: the model it builds
    has no parameters yet, and the state dict HFShim then loads becomes them."""

    def __init__(self, model_cls: Any) -> None:
        self.model_cls = model_cls

    def from_config(self, config: Any) -> torch.nn.Module:
        with parameters_on_meta():
            model = self.model_cls.from_config(config)
        load = model.load_state_dict

        def load_assigned(state, strict=True):
            if not strict:
                # HFShim retries with strict=False when the state lacks weights: those would
                # stay on the meta device, so the usual load must make them.
                raise _IncompleteState()
            return load(state, strict=True, assign=True)

        # HFShim calls model.load_state_dict(state); an instance attribute shadows the
        # method for that call (StoredPrecisionHFShim.from_bytes removes it again).
        model.load_state_dict = load_assigned
        return model


class _IncompleteState(Exception):
    """The stored state does not hold every weight of the model."""


class StoredPrecisionHFShim(HFShim):
    """spacy-transformers' HFShim, deserialising bf16-stored Linear weights as bf16 where
    they run as stored (`keep_stored_bf16`, set by the model that owns the shim).
    """

    keep_stored_bf16: bool = False

    def from_bytes(self, bytes_data: bytes) -> "StoredPrecisionHFShim":
        if not self.keep_stored_bf16:
            return super().from_bytes(bytes_data)
        model_cls = self.model_cls
        self.model_cls = _BuildInStoredPrecision(model_cls)
        try:
            super().from_bytes(bytes_data)
        except _IncompleteState:
            # Saved by another transformers version: the usual load initialises what is missing
            self.model_cls = model_cls
            return super().from_bytes(bytes_data)
        finally:
            self.model_cls = model_cls
        model = self._model
        if model is None:
            return self
        model.__dict__.pop("load_state_dict", None)
        if any(p.device.type != "cpu" for p in model.parameters()):
            model.float()
            return self
        linears = {id(p) for m in model.modules() if isinstance(m, torch.nn.Linear) for p in m.parameters()}
        for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
            # Outside the Linear layers everything runs in fp32 (store-weights keeps it so)
            if tensor.is_floating_point() and tensor.dtype == STORED_DTYPE and id(tensor) not in linears:
                _set_tensor(model, name, tensor.float())
        return self


def _set_tensor(model: torch.nn.Module, name: str, value: torch.Tensor) -> None:
    owner_name, _, attr = name.rpartition(".")
    owner = model.get_submodule(owner_name) if owner_name else model
    if attr in owner._parameters:
        owner._parameters[attr] = torch.nn.Parameter(value, requires_grad=owner._parameters[attr].requires_grad)
    else:
        owner._buffers[attr] = value


def keep_stored_precision(transformer_model: Any, quantize: Any) -> None:
    """Make a spacy-transformers TransformerModel's shim load bf16-stored weights as bf16
    when `quantize` runs them so (see the module docstring).

    transformer_model (TransformerModel): Its first layer is the HFWrapper with the HFShim.
    quantize (Any): The model's `quantize` setting.
    """
    shim = transformer_model.layers[0].shims[0]
    if type(shim) is HFShim:
        # The shim is built inside TransformerModel.__init__; its class is swapped for the
        # subclass, which adds no state of its own but the flag.
        shim.__class__ = StoredPrecisionHFShim
    shim.keep_stored_bf16 = runs_stored_bf16(quantize)
