"""Building the drug lexicon of `adr_drug_mentions` from the training data.

Sources (read by `corpora.drug_names`), and what each contributes:
- Task 3 train's drug column: every value, as its own drug (a later source never renames it).
- CADEC's `Drug` entities: each spelling, normalised to the name of its SNOMED CT concept
  (the concept most often given to it), cut before a strength or a bracket ("Lipitor 20 mg
  tablet: film-coated" -> "lipitor"): "liptor" -> "lipitor", "cataflam" -> "diclofenac",
  "coq10" -> "ubidecarenone". A concept without a name takes its most frequent spelling; a
  spelling without a concept is its own drug. A spelling enters only when the annotators
  marked it as a drug in at least `min_annotated` (default 0.5) of the places where it occurs
  in the posts, matched as `adr_drug_mentions` matches: "statins" (annotated once of 127),
  "thyroid" or "rx" stay out, "lipitor" goes in.
- The WebMD review titles: each reviewed drug, a name of several words as the drug of its
  first word, which is a name too ("effexor xr", "clindamycin hcl" -> "effexor",
  "clindamycin"): the rest names a formulation.
- The open drug dictionary of `drug-named-entity-recognition` (`corpora.drug_dictionary`):
  the drugs the training data never names, each name as the drug of its generic
  ("robitussin" -> "guaifenesin"). A name that occurs in the CADEC posts the lexicon may see
  enters only when annotated there as a drug in at least `min_annotated` of its occurrences,
  as CADEC's own spellings: "statins", "cortisone", "oats" stay out.
Names shorter than 3 characters are left out ("b6"), and so are names that are terms of an
ADR lexicon (`ambiguous`, the gazetteer's `adr_lexicon.txt`): in a tweet "lip" or "birth
control" is more often the reaction than the drug. Where sources give one name two drugs,
Task 3 wins over CADEC, CADEC over WebMD, and WebMD over the dictionary.
"""
import re
from collections import Counter
from typing import Any, Collection, Dict, Iterable, List, Optional, Tuple

from spacy_adr.kb.drugs import DEFAULT_MIN_LENGTH, DrugLexicon
from spacy_adr.pipeline.drug_mentions import DrugMentions
from spacy_adr.kb.lexicon import normalize_term
from ..corpora.drug_names import CadecPost

DEFAULT_MIN_ANNOTATED = 0.5
# Where a SNOMED CT product name stops naming the drug: a strength ("Lipitor 20 mg ..."), a
# bracket ("B Complex (Cenovis)") or a form after a colon.
_PRODUCT_DETAIL = re.compile(r"\s+\d|\s*\(|:")


def build_drug_lexicon(
    *,
    task3: Optional[Counter] = None,
    cadec: Optional[List[CadecPost]] = None,
    webmd: Optional[Counter] = None,
    dictionary: Optional[List[Tuple[str, str]]] = None,
    min_annotated: float = DEFAULT_MIN_ANNOTATED,
    min_length: int = DEFAULT_MIN_LENGTH,
    ambiguous: Collection[str] = (),
) -> Tuple[DrugLexicon, Dict[str, Any]]:
    """The drug lexicon of the sources given (see the module docstring).

    task3 (Optional[Counter]): `corpora.drug_names.task3_drug_names` of Task 3 train.
    cadec (Optional[List[CadecPost]]): `corpora.drug_names.read_cadec_drugs`, or the posts of
        it the lexicon may see.
    webmd (Optional[Counter]): `corpora.drug_names.webmd_title_drugs`.
    dictionary (Optional[List[Tuple[str, str]]]): `corpora.drug_dictionary.read_drug_dictionary`.
    min_annotated (float): The share of a CADEC spelling's occurrences (and of a dictionary
        name's, where it occurs in `cadec`) that must be annotated as a drug.
    min_length (int): Leave out names shorter than this many characters.
    ambiguous (Collection[str]): Terms that are not drug names where they occur (an ADR
        lexicon); compared after `normalize_term`.
    RETURNS (Tuple[DrugLexicon, Dict[str, Any]]): The lexicon, and a report per source: names
        read, names kept, and the CADEC spellings (and dictionary names) left out with their
        annotated share.
    """
    lexicon = DrugLexicon()
    stop = {normalize_term(term) for term in ambiguous}
    report: Dict[str, Any] = {}
    # Lowest precedence first: a later source's entry replaces an earlier one.
    if dictionary is not None:
        entries, left_out = _dictionary_entries(dictionary, cadec or [], min_annotated)
        report["dictionary"] = {**_add(lexicon, entries, min_length, stop), "left_out": left_out}
    if webmd is not None:
        report["webmd"] = _add(lexicon, _webmd_entries(webmd), min_length, stop)
    if cadec is not None:
        entries, left_out = cadec_entries(cadec, min_annotated=min_annotated)
        report["cadec"] = {**_add(lexicon, entries, min_length, stop), "left_out": left_out}
    if task3 is not None:
        report["task3"] = _add(lexicon, ((name, None) for name in task3), min_length, stop)
    report["lexicon"] = {"names": len(lexicon), "drugs": len(lexicon.drugs())}
    return lexicon, report


def _add(
    lexicon: DrugLexicon, entries: Iterable[Tuple[str, Optional[str]]], min_length: int, stop: Collection[str]
) -> Dict[str, Any]:
    read = kept = 0
    ambiguous = []
    for name, drug in entries:
        read += 1
        key = normalize_term(name)
        if key in stop:
            ambiguous.append(key)
        elif len(key) >= min_length:
            lexicon.add(name, drug)
            kept += 1
    return {"names": read, "kept": kept, "ambiguous": ambiguous}


def _dictionary_entries(
    dictionary: List[Tuple[str, str]], posts: List[CadecPost], min_annotated: float
) -> Tuple[List[Tuple[str, str]], List[Dict[str, Any]]]:
    # The dictionary's names less those CADEC's annotators mostly did not mark as a drug.
    annotated = Counter(normalize_term(drug.text) for post in posts for drug in post.drugs)
    rare = _rarely_annotated(posts, [normalize_term(name) for name, _ in dictionary], annotated, min_annotated)
    entries, left_out = [], []
    for name, drug in dictionary:
        key = normalize_term(name)
        if key in rare:
            left_out.append(rare[key])
        else:
            entries.append((name, drug))
    return entries, left_out


def _webmd_entries(names: Iterable[str]) -> List[Tuple[str, Optional[str]]]:
    entries: List[Tuple[str, Optional[str]]] = []
    for name in names:
        words = normalize_term(name).split(" ")
        entries.append((name, words[0] if len(words) > 1 else None))
        if len(words) > 1:
            entries.append((words[0], None))
    return entries


def cadec_entries(
    posts: List[CadecPost], *, min_annotated: float = DEFAULT_MIN_ANNOTATED
) -> Tuple[List[Tuple[str, str]], List[Dict[str, Any]]]:
    """The (spelling, drug) entries of CADEC's `Drug` entities (see the module docstring).

    posts (List[CadecPost]): The posts the lexicon may see.
    min_annotated (float): The share of a spelling's occurrences that must be annotated.
    RETURNS (Tuple[List[Tuple[str, str]], List[Dict[str, Any]]]): The entries, most annotated
        first; and the spellings left out, each with "name", "annotated", "occurs".
    """
    annotated: Counter = Counter()
    spellings: Dict[str, Counter] = {}
    names: Dict[str, Counter] = {}
    concepts_of: Dict[str, Counter] = {}
    for post in posts:
        for drug in post.drugs:
            name = normalize_term(drug.text)
            if not name:
                continue
            annotated[name] += 1
            if drug.concept is not None:
                spellings.setdefault(drug.concept, Counter())[name] += 1
                concepts_of.setdefault(name, Counter())[drug.concept] += 1
                if drug.concept_name:
                    names.setdefault(drug.concept, Counter())[drug.concept_name] += 1
    if not annotated:
        return [], []
    canonical = {concept: _concept_drug(names.get(concept), found) for concept, found in spellings.items()}
    rare = _rarely_annotated(posts, list(annotated), annotated, min_annotated)
    entries, left_out = [], []
    for name, _ in sorted(annotated.items(), key=lambda item: (-item[1], item[0])):
        if name in rare:
            left_out.append(rare[name])
            continue
        concepts = concepts_of.get(name)
        drug = canonical[concepts.most_common(1)[0][0]] if concepts else name
        entries.append((name, drug))
    return entries, left_out


def _concept_drug(names: Optional[Counter], spellings: Counter) -> str:
    # A concept's drug: its (most frequent) name up to any product detail, else its most
    # frequent spelling; ties go to the first in alphabetical order, so that the lexicon does
    # not depend on the zip's order.
    if names:
        name = min(names.items(), key=lambda item: (-item[1], item[0]))[0]
        drug = normalize_term(_PRODUCT_DETAIL.split(name, maxsplit=1)[0])
        if drug:
            return drug
    return min(spellings.items(), key=lambda item: (-item[1], item[0]))[0]


def _rarely_annotated(
    posts: List[CadecPost], names: List[str], annotated: Counter, min_annotated: float
) -> Dict[str, Dict[str, Any]]:
    # The names annotated as a drug in less than `min_annotated` of the places where they occur
    # in the posts, each with "name", "annotated", "occurs". A name that never occurs (one the
    # matcher never isolates, "lipitor20mg") is not among them: it is kept.
    if not posts:
        return {}
    return {
        name: {"name": name, "annotated": annotated.get(name, 0), "occurs": n_occurs}
        for name, n_occurs in _occurrences(posts, names).items()
        if annotated.get(name, 0) / n_occurs < min_annotated
    }


def _occurrences(posts: List[CadecPost], names: List[str]) -> Counter:
    # Where the spellings occur, matched as adr_drug_mentions matches them.
    matcher = DrugMentions()
    matcher.set_lexicon(DrugLexicon((name, None) for name in names))
    found: Counter = Counter()
    for post in posts:
        for _, _, name in matcher.find_offsets(post.doc):
            found[name] += 1
    return found
