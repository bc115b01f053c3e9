"""The open drug dictionary of the `drug-named-entity-recognition` package (Fast Data
Science, MIT licence), for the drug lexicon (`training.drug_lexicon`).

The package ships ~20,000 drugs with ~107,000 names (brands, generics, synonyms, some
misspellings: "topamax" -> "topiramate", "robitussin" -> "guaifenesin"), gathered from
DrugBank's open vocabulary (CC0), MeSH, MedlinePlus, the NHS and Wikipedia, as a bz2 pickle
beside its code. It fills what the training data never names: on Task 3 dev, 11 ADR spans
were about drugs (citalopram, tramadol, Ritalin, ...) that no training source holds.

Left out: MeSH's pharmacologic classes (every MeSH tree number under D27, "Chemical Actions
and Uses": "antidepressant" -> "antidepressive agents"), which name no drug, and names that
the dictionary gives to more than one drug.
"""
import bz2
import importlib.util
import pickle
from pathlib import Path
from typing import Any, Dict, List, Tuple

from spacy_adr.errors import InputError

DISTRIBUTION = "drug-named-entity-recognition"
_PACKAGE = "drug_named_entity_recognition"
_FILE = "drug_ner_dictionary.pkl.bz2"
# MeSH's "Chemical Actions and Uses" branch: classes of drugs by what they do.
_CLASS_TREE = "D27"


def dictionary_path() -> Path:
    """The dictionary file inside the installed package, found without importing the package
    (whose import opens caches in the user's home folder).

    RETURNS (Path): The file.
    RAISES (InputError): The package or its file is not installed.
    """
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(_PACKAGE, 0, f"not installed: pip install {DISTRIBUTION}")
    path = Path(list(spec.submodule_search_locations)[0]) / _FILE
    if not path.is_file():
        raise InputError(path, 0, f"missing from the installed {DISTRIBUTION}")
    return path


def read_drug_dictionary(path: Path) -> List[Tuple[str, str]]:
    """The (name, drug) pairs of the dictionary, pharmacologic classes and names of several
    drugs left out (see the module docstring).

    path (Path): The package's dictionary file (`dictionary_path`).
    RETURNS (List[Tuple[str, str]]): (name, drug), both lowercase as the package writes them,
        in the package's order.
    RAISES (InputError): The file is not the dictionary the package ships.
    """
    try:
        # A pickle runs code when loaded: this one is the pinned dependency's own data file.
        with bz2.open(path, "rb") as file_:
            content: Dict[str, Any] = pickle.load(file_)
        names: Dict[str, List[str]] = content["drug_variant_to_canonical"]
        drugs: Dict[str, Dict[str, Any]] = content["drug_canonical_to_data"]
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError) as err:
        raise InputError(path, 0, f"not the {DISTRIBUTION} dictionary: {err}") from None
    classes = {drug for drug, data in drugs.items() if _is_class(data)}
    return [
        (name, found[0])
        for name, found in names.items()
        if len(found) == 1 and found[0] not in classes
    ]


def _is_class(data: Dict[str, Any]) -> bool:
    trees = data.get("mesh_tree") or []
    return bool(trees) and all(str(tree).startswith(_CLASS_TREE) for tree in trees)
