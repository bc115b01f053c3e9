"""The event an ADR span counts as: its MedDRA Preferred Term, or its own code.

A span record of `spacy-adr annotate` carries the linked LLT (`meddra_code`, `meddra_term`)
and, when the MedDRA linker gave it, the LLT's PT (`meddra_pt`, `meddra_pt_term`). At level
"pt" (the default) a span counts under its PT: the record's own, else its LLT rolled up through
a MedDRA table given by the user (`--meddra`: `llt.tsv`, the ASCII release, a linker's
`kb.tsv`, or a pipeline folder holding one). At level "llt" it counts under its own code,
whatever terminology the pipeline links to.
"""
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

from ..kb.meddra import load_meddra

LEVELS = ("pt", "llt")
# The linker's knowledge base inside a pipeline folder (`adr_meddra_linker/kb.tsv`).
KB_FILE = "kb.tsv"

# Why a span has no event: the kinds of problem `counting` reports.
NO_CODE = "ADR span without a MedDRA code: not counted"
NO_PT = "ADR span without meddra_pt: give --meddra to roll its LLT up to a PT"
UNKNOWN_LLT = "ADR span's LLT code is not in --meddra: not counted"


def load_pt_map(path: Union[str, Path]) -> Dict[str, Tuple[str, str]]:
    """The LLT -> (PT code, PT name) map of a MedDRA table.

    path (Union[str, Path]): What `spacy_adr.kb.meddra.load_meddra` reads, or a pipeline
        folder (`config.cfg` inside) whose components hold a `kb.tsv`.
    RETURNS (Dict[str, Tuple[str, str]]): LLT code -> (PT code, PT name).
    RAISES (FileNotFoundError): A pipeline folder without a `kb.tsv`.
    """
    path = Path(path)
    if path.is_dir() and (path / "config.cfg").is_file():
        found = sorted(path.glob(f"*/{KB_FILE}"))
        if not found:
            raise FileNotFoundError(f"{path}: a pipeline without a linker's {KB_FILE}")
        path = found[0]
    return {concept.llt_code: (concept.pt_code, concept.pt_name) for concept in load_meddra(path)}


class SpanTerms:
    """Finds the event (code, name) a span record counts under."""

    def __init__(self, level: str = "pt", pt_map: Optional[Dict[str, Tuple[str, str]]] = None) -> None:
        """Create the lookup.

        level (str): "pt" or "llt" (see the module docstring).
        pt_map (Optional[Dict[str, Tuple[str, str]]]): LLT -> (PT code, PT name) from
            `load_pt_map`, for records without `meddra_pt`.
        RAISES (ValueError): An unknown level.
        """
        if level not in LEVELS:
            raise ValueError(f"unknown level {level!r}: choose one of {', '.join(LEVELS)}")
        self.level = level
        self.pt_map = pt_map

    def term(self, span: Dict[str, Any]) -> Tuple[Optional[Tuple[str, str]], Optional[str]]:
        """The event of a span record.

        span (Dict[str, Any]): A span of an annotate record.
        RETURNS (Tuple[Optional[Tuple[str, str]], Optional[str]]): ((code, name), None), or
            (None, why) when the span has none (one of this module's problem kinds).
        """
        code = span.get("meddra_code")
        if not code:
            return None, NO_CODE
        code = str(code)
        if self.level == "llt":
            return (code, str(span.get("meddra_term") or code)), None
        pt = span.get("meddra_pt")
        if pt:
            return (str(pt), str(span.get("meddra_pt_term") or pt)), None
        if self.pt_map is None:
            return None, NO_PT
        found = self.pt_map.get(code)
        if found is None:
            return None, UNKNOWN_LLT
        return found, None
