"""The inference settings of a pipeline's encoders: quantised or fp32, length-sorted groups.

Two places hold them: a loaded pipeline (`set_inference`, this process only) and a saved
pipeline's config.cfg (`save_inference`, what `spacy.load` reads; the project writes the
shipped defaults there). The encoders are the shared transformer (`spacy-adr.
NormTransformerModel.v1`: `quantize`, `length_groups` in its model config), a transformer
that a component carries inside its own model (a component given its own copy by
`replace_listeners`: `spacy-adr.Tok2VecNormTransformer.v1`) and the MedDRA linker's sentence
encoder (`quantize` in the component's config).
"""
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Union

from spacy.language import Language

from .models.inference import check_length_groups, check_quantize
from .models.norm_transformer import NORM_TOK2VEC_ARCH, NormTransformerModel
from .pipeline.concept_linker import LINKER_FACTORIES, MeddraLinker
from .saved_config import edited_config

NORM_TRANSFORMER_ARCH = "spacy-adr.NormTransformerModel.v1"
TRANSFORMER_ARCHS = (NORM_TRANSFORMER_ARCH, NORM_TOK2VEC_ARCH)


def component_transformers(component) -> List[NormTransformerModel]:
    """The norm-reading transformers in a component's model: the model itself (a shared
    transformer) or nested in it (a classifier with its own copy)."""
    model = getattr(component, "model", None)
    if model is None or not hasattr(model, "walk"):
        return []
    return [node for node in model.walk() if isinstance(node, NormTransformerModel)]


def _transformer_configs(block: object) -> Iterator[dict]:
    """The transformer model blocks anywhere inside a component's config block."""
    if isinstance(block, dict):
        if block.get("@architectures") in TRANSFORMER_ARCHS:
            yield block
            return
        for value in block.values():
            yield from _transformer_configs(value)


def inference_settings(nlp: Language) -> Dict[str, Dict[str, object]]:
    """The current settings of a loaded pipeline's encoders.

    nlp (Language): The pipeline.
    RETURNS (Dict[str, Dict[str, object]]): Per component name: "quantize" ("int8",
        "mixed", "bf16", "ort", "ort-int8", "ort-mixed" or "fp32") and, for transformers, "length_groups".
    """
    settings: Dict[str, Dict[str, object]] = {}
    for name, component in nlp.components:
        transformers = component_transformers(component)
        if transformers:
            model = transformers[0]
            settings[name] = {"quantize": model.quantize or "fp32", "length_groups": model.length_groups}
        elif isinstance(component, MeddraLinker):
            settings[name] = {"quantize": component.quantize or "fp32"}
    return settings


def set_inference(
    nlp: Language, *, quantize: Optional[str] = None, length_groups: Optional[int] = None,
    linker_quantize: Optional[str] = None,
) -> List[str]:
    """Change a loaded pipeline's encoder settings (this process only).

    nlp (Language): The pipeline.
    quantize (Optional[str]): The transformer's: "int8", "mixed", "bf16", "ort", "ort-int8", "ort-mixed" or "fp32"; None
        leaves it as it is.
    length_groups (Optional[int]): Sequences per length-sorted group of every transformer
        (0: the whole batch); None leaves them.
    linker_quantize (Optional[str]): The linker's sentence encoder's, as `quantize`.
    RETURNS (List[str]): The names of the components changed.
    """
    value = _check(quantize, "set_inference")
    linker_value = _check(linker_quantize, "set_inference")
    changed = []
    for name, component in nlp.components:
        transformers = component_transformers(component)
        if transformers and (quantize is not None or length_groups is not None):
            for model in transformers:
                if quantize is not None:
                    model.quantize = value
                if length_groups is not None:
                    model.length_groups = check_length_groups(length_groups, "set_inference")
            changed.append(name)
        elif isinstance(component, MeddraLinker) and linker_quantize is not None:
            component.quantize = linker_value
            changed.append(name)
    return changed


def save_inference(
    model_dir: Union[str, Path], *, quantize: Optional[str] = None, length_groups: Optional[int] = None,
    linker_quantize: Optional[str] = None,
) -> List[str]:
    """Write encoder settings into a saved pipeline's config.cfg.

    model_dir (Union[str, Path]): The pipeline folder.
    quantize (Optional[str]): The transformer's, as in `set_inference`; None leaves it.
    length_groups (Optional[int]): As in `set_inference`; None leaves it.
    linker_quantize (Optional[str]): The linker's, as in `set_inference`; None leaves it.
    RETURNS (List[str]): The names of the components changed.
    """
    where = str(Path(model_dir) / "config.cfg")
    with edited_config(model_dir) as config:
        value = _check(quantize, where)
        linker_value = _check(linker_quantize, where)
        changed = []
        for name, component in config.get("components", {}).items():
            models = list(_transformer_configs(component.get("model", {})))
            if models:
                for model in models:
                    if quantize is not None:
                        model["quantize"] = value
                    if length_groups is not None:
                        model["length_groups"] = check_length_groups(length_groups, where)
                if quantize is not None or length_groups is not None:
                    changed.append(name)
            elif component.get("factory") in LINKER_FACTORIES and linker_quantize is not None:
                component["quantize"] = linker_value
                changed.append(name)
        if not changed:
            raise ValueError(f"{where}: no {NORM_TRANSFORMER_ARCH} transformer or linker to set")
    return changed


def _check(quantize: Optional[str], where: str) -> Optional[str]:
    return check_quantize(quantize, where) if quantize is not None else None


