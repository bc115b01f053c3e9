"""Store a pipeline's transformer weights in the precision they run in: `spacy-adr-builder store-weights`.

A transformer whose inference setting is bf16 (`quantize = "bf16"`, see
`spacy_adr.models.inference`) casts every Linear layer's weight and bias to bf16 when it
first predicts. Storing those tensors in bf16 halves the transformer on disk (and the
wheel) and changes no prediction where the CPU computes in bf16. It loads as before:
spacy-transformers builds the fp32 model from its config and `load_state_dict` copies the
stored tensors into it, casting. Embeddings and layer norms stay fp32, as the bf16 setting
keeps them. Transformers with another setting (fp32, the int8 modes, ONNX Runtime) are left
as they are: int8 is computed from the fp32 weights.
"""
from pathlib import Path
from typing import Dict, Union

import spacy
import torch

from spacy_adr.inference_settings import component_transformers

STORED_AS_BF16 = "bf16"


def linear_weights_to_bf16(module: torch.nn.Module) -> int:
    """Cast the weights and biases of a module's Linear layers to bf16, in place.

    module (torch.nn.Module): An HF encoder (inference only afterwards).
    RETURNS (int): The number of values cast.
    """
    cast = 0
    for layer in module.modules():
        if isinstance(layer, torch.nn.Linear):
            for param in (layer.weight, layer.bias):
                if param is not None and param.dtype != torch.bfloat16:
                    param.data = param.data.to(torch.bfloat16)
                    cast += param.numel()
    return cast


def store_weights(model_dir: Union[str, Path]) -> Dict[str, int]:
    """Rewrite the saved transformers of a pipeline whose setting is bf16 with bf16 Linear weights.

    model_dir (Union[str, Path]): A saved pipeline (its config's inference settings already
        written, e.g. by `spacy-adr set-inference`).
    RETURNS (Dict[str, int]): Component name -> values now stored in bf16 (only those rewritten).
    """
    model_dir = Path(model_dir)
    nlp = spacy.load(model_dir)
    stored: Dict[str, int] = {}
    for name, component in nlp.components:
        models = component_transformers(component)
        if not models or any(model.quantize != STORED_AS_BF16 for model in models):
            continue
        stored[name] = sum(linear_weights_to_bf16(model.transformer) for model in models)
        # As Language.to_disk writes a component: the vocab is the pipeline's, stored once
        component.to_disk(model_dir / name, exclude=["vocab"])
    return stored
