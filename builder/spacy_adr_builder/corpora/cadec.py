"""CADEC v2: AskaPatient forum posts with brat annotations, read straight from `CADEC.v2.zip`.

The zip holds one folder `cadec/` with `text/<POST>.txt` (the posts), `original/<POST>.ann`
(brat entities ADR, Drug, Disease, Symptom, Finding, plus `#` AnnotatorNotes lines), `meddra/`
(MedDRA codes of the ADR entities) and `sct/` (SNOMED CT codes, not read here). Quirks these
readers handle:

- Discontinuous entities (`T2\tADR 10 15;20 25\ttext text`, about 1,000 of them) are handled as
  the `discontinuous` option says: "fragments" (one span per fragment), "extent" (one span from
  the first start to the last end) or "skip" (left out). Each is reported whatever the choice.
  Their fragments are not always listed in text order: spans use the sorted fragments.
- A `meddra/` line is `TT1\t10019211 9 19\theadache`, linked to `original/` entity `T1`. A
  mention can carry several codes (`10033371 + 10000081`, `10033371+10000081`,
  `10013781/10003068`) or `CONCEPT_LESS` (no MedDRA concept fits). kb_id is the first real
  code; all codes stay in `doc.user_data["annotations"]`.
- Two `meddra/` lines separate their fields with runs of spaces instead of tabs.
- Some `.ann` files are Latin-1: UTF-8 is tried first and the fallback is reported.
- An annotation's text that differs from the text at its offsets is reported; the offsets win
  (in the real data the offsets are right, e.g. a span annotated "renal and respiratory failure"
  covers "respiratory failure", as its MedDRA line says).
"""
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc

from spacy_adr import extensions  # noqa: F401  (Span._.meddra_term)
from spacy_adr.tokenizer import make_blank
from .docbin import save_docs
from spacy_adr.errors import ConversionReport, InputError
from .spans import CharSpan, make_annotated_doc

CADEC_LABELS = ("ADR", "Drug", "Disease", "Symptom", "Finding")
DISCONTINUOUS_MODES = ("fragments", "extent", "skip")
CONCEPT_LESS = "CONCEPT_LESS"

_TEXT_MEMBER = re.compile(r"^(?P<prefix>(?:.*/)?)text/(?P<name>[^/]+)\.txt$")
_OFFSETS = r"\d+ \d+(?:;\d+ \d+)*"
# Fields are tab-separated in brat; [ \t]+ also reads the two real lines that use spaces.
_ENTITY_LINE = re.compile(
    rf"^(?P<id>T\d+)[ \t]+(?P<label>[^\s]+) (?P<offsets>{_OFFSETS})(?:[ \t]+(?P<text>.*))?$"
)
_CODE = rf"(?:\d+|{CONCEPT_LESS})"
_MEDDRA_LINE = re.compile(
    rf"^T(?P<id>T\d+)[ \t]+(?P<codes>{_CODE}(?:\s*[+/]\s*{_CODE})*) (?P<offsets>{_OFFSETS})"
    rf"(?:[ \t]+(?P<text>.*))?$"
)
_CODE_SEPARATOR = re.compile(r"\s*[+/]\s*")
# Between two coded concepts: "+" or "or", followed by the next code.

Fragments = List[Tuple[int, int]]


@dataclass
class _Annotation:
    id: str
    label: str
    fragments: Fragments  # as listed in the file
    text: str
    line: int
    codes: List[str] = field(default_factory=list)


class _Cadec:
    """The zip, its folder prefix and the decoding of its members."""

    def __init__(self, path: Union[str, Path], report: Optional[ConversionReport]):
        self.path = Path(path)
        self.report = report
        try:
            self.zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError) as err:
            raise InputError(self.path, 0, f"cannot open as a zip file: {err}") from None
        self.names = set(self.zip.namelist())
        self.posts: List[Tuple[str, str]] = []  # (prefix, post name), in zip order
        for name in self.zip.namelist():
            match = _TEXT_MEMBER.match(name)
            if match:
                self.posts.append((match.group("prefix"), match.group("name")))
        if not self.posts:
            raise InputError(self.path, 0, "no text/*.txt members: not a CADEC zip")

    def where(self, member: str) -> str:
        return f"{self.path}/{member}"

    def read(self, member: str) -> str:
        data = self.zip.read(member)
        try:
            return data.decode("utf8")
        except UnicodeDecodeError as err:
            if self.report is not None:
                self.report.add_problem(
                    self.where(member), 0,
                    f"not UTF-8 ({err.reason} at byte {err.start}): read as Latin-1",
                )
            return data.decode("latin-1")

    def close(self) -> None:
        self.zip.close()


def read_cadec(
    path: Union[str, Path],
    nlp: Language,
    report: ConversionReport,
    *,
    discontinuous: str = "fragments",
    ent_labels: Sequence[str] = ("ADR",),
) -> Iterator[Doc]:
    """Read the CADEC v2 zip into one annotated Doc per post.

    All entities (ADR, Drug, Disease, Symptom, Finding) go to doc.spans["sc"]; those labelled
    `ent_labels` to doc.ents. ADR spans carry their first MedDRA code as kb_id. Each Doc has
    user_data "id" (post name, e.g. "ARTHROTEC.1") and "annotations": one dict per brat entity
    with "id", "label", "fragments" ([[start, end], ...] as listed), "text" and "codes" (all
    MedDRA codes, CONCEPT_LESS included). Problems name `<zip>/<member>` and the line of the
    `.ann` file (line 0 when it concerns the whole post, e.g. a span widened to tokens).

    path (Union[str, Path]): CADEC.v2.zip.
    nlp (Language): Pipeline whose tokenizer makes the Docs.
    report (ConversionReport): Receives counts (records = posts) and problems.
    discontinuous (str): "fragments", "extent" or "skip" (see the module docstring).
    ent_labels (Sequence[str]): Labels that become doc.ents.
    YIELDS (Doc): One Doc per post, in zip order; an empty post without annotations is
        reported and yields none.
    RAISES (InputError): For a post without annotation file, an empty post with annotations or
        an entity line that cannot be parsed.
    """
    if discontinuous not in DISCONTINUOUS_MODES:
        raise ValueError(
            f"discontinuous must be one of {DISCONTINUOUS_MODES}, not {discontinuous!r}"
        )
    cadec = _Cadec(path, report)
    try:
        for prefix, name in cadec.posts:
            report.records += 1
            doc = _make_doc(cadec, prefix, name, nlp, report, discontinuous, ent_labels)
            if doc is not None:
                report.docs += 1
                yield doc
    finally:
        cadec.close()


def _make_doc(
    cadec: _Cadec,
    prefix: str,
    name: str,
    nlp: Language,
    report: ConversionReport,
    discontinuous: str,
    ent_labels: Sequence[str],
) -> Optional[Doc]:
    text_member = f"{prefix}text/{name}.txt"
    text = cadec.read(text_member)
    ann_member = f"{prefix}original/{name}.ann"
    if ann_member not in cadec.names:
        raise InputError(cadec.where(ann_member), 0, f"missing: post {name} has no annotation file")
    where = cadec.where(ann_member)
    annotations = _parse_entities(cadec.read(ann_member), where, report)
    if not text.strip():
        if annotations:
            problem = f"empty post with {len(annotations)} annotations"
            raise InputError(cadec.where(text_member), 1, problem)
        # Two real posts (LIPITOR.40, VOLTAREN-XR.9) are empty files, annotations too.
        report.add_problem(cadec.where(text_member), 1, "empty post without annotations: no Doc")
        return None
    meddra_member = f"{prefix}meddra/{name}.ann"
    if meddra_member in cadec.names:
        _attach_codes(annotations, cadec.read(meddra_member), cadec.where(meddra_member), report)
    else:
        report.add_problem(cadec.where(meddra_member), 0, "missing: no MedDRA codes for this post")

    spans: List[CharSpan] = []
    seen: Dict[Tuple[int, int, str], str] = {}
    for ann in annotations.values():
        for char_span in _char_spans(ann, text, where, report, discontinuous):
            key = (char_span.start, char_span.end, char_span.label)
            if key in seen:
                # Fragments shared by several entities ("muscle pain in the" calves / thighs):
                # one span in the Doc, counted once per entity.
                report.add_problem(
                    where, ann.line,
                    f"{ann.label} {ann.id}: span {char_span.start}-{char_span.end} repeats one of "
                    f"{seen[key]}: kept once",
                    text[char_span.start : char_span.end],
                )
                report.spans += 1
                report.spans_aligned += 1
                continue
            seen[key] = ann.id
            spans.append(char_span)
    doc = make_annotated_doc(
        nlp, text, spans, path=where, line=0, report=report, ent_labels=list(ent_labels)
    )
    doc.user_data["id"] = name
    doc.user_data["annotations"] = [
        {
            "id": ann.id,
            "label": ann.label,
            "fragments": [list(fragment) for fragment in ann.fragments],
            "text": ann.text,
            "codes": list(ann.codes),
        }
        for ann in annotations.values()
    ]
    return doc


def _char_spans(
    ann: _Annotation, text: str, where: str, report: ConversionReport, discontinuous: str
) -> List[CharSpan]:
    fragments = sorted(ann.fragments)
    codes = [code for code in ann.codes if code != CONCEPT_LESS]
    kb_id = codes[0] if codes else ""
    n_spans = len(fragments) if discontinuous == "fragments" else 1
    bad = [(s, e) for s, e in fragments if not 0 <= s < e <= len(text)]
    if bad:
        report.spans += n_spans
        report.add_problem(
            where, ann.line,
            f"{ann.label} {ann.id}: offsets {bad} outside text of length {len(text)}: left out",
            ann.text,
        )
        return []
    # brat joins the fragments' texts with a space, in the order they are listed.
    found = " ".join(text[s:e] for s, e in ann.fragments)
    if found != ann.text:
        report.add_problem(
            where, ann.line,
            f"{ann.label} {ann.id}: offsets read {found!r}, kept by offsets; annotation says",
            ann.text,
        )
    if len(fragments) == 1:
        return [CharSpan(fragments[0][0], fragments[0][1], ann.label, kb_id=kb_id)]
    described = ";".join(f"{s}-{e}" for s, e in ann.fragments)
    if discontinuous == "skip":
        report.spans += 1
        report.add_problem(
            where, ann.line, f"discontinuous {ann.label} {ann.id} ({described}): left out", ann.text
        )
        return []
    if discontinuous == "extent":
        start, end = fragments[0][0], max(e for _, e in fragments)
        report.add_problem(
            where, ann.line,
            f"discontinuous {ann.label} {ann.id} ({described}): replaced by its extent "
            f"{start}-{end}",
            ann.text,
        )
        return [CharSpan(start, end, ann.label, kb_id=kb_id)]
    report.add_problem(
        where, ann.line,
        f"discontinuous {ann.label} {ann.id} ({described}): one span per fragment",
        ann.text,
    )
    return [CharSpan(s, e, ann.label, kb_id=kb_id) for s, e in fragments]


def _parse_fragments(offsets: str) -> Fragments:
    fragments = []
    for fragment in offsets.split(";"):
        start, end = fragment.split()
        fragments.append((int(start), int(end)))
    return fragments


def _parse_entities(content: str, where: str, report: ConversionReport) -> Dict[str, _Annotation]:
    annotations: Dict[str, _Annotation] = {}
    # Split on "\n" only: str.splitlines() would also split on U+2028 and friends in the text.
    for line_no, line in enumerate(content.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip() or line.startswith("#"):
            # "#" lines are AnnotatorNotes: free-text comments, not annotations.
            continue
        if not line.startswith("T"):
            problem = "brat annotation other than an entity: not read"
            report.add_problem(where, line_no, problem, line)
            continue
        match = _ENTITY_LINE.match(line)
        if match is None:
            raise InputError(where, line_no, f"cannot parse brat entity line {line!r}")
        if match.group("id") in annotations:
            raise InputError(where, line_no, f"entity {match.group('id')} defined twice")
        annotations[match.group("id")] = _Annotation(
            id=match.group("id"),
            label=match.group("label"),
            fragments=_parse_fragments(match.group("offsets")),
            text=match.group("text") or "",
            line=line_no,
        )
    return annotations


def _parse_meddra_line(line: str, line_no: int, where: str) -> "re.Match[str]":
    match = _MEDDRA_LINE.match(line)
    if match is None:
        raise InputError(where, line_no, f"cannot parse MedDRA line {line!r}")
    return match


def _iter_meddra(content: str, where: str) -> Iterator[Tuple[int, "re.Match[str]", List[str]]]:
    for line_no, line in enumerate(content.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip() or line.startswith("#"):
            continue
        match = _parse_meddra_line(line, line_no, where)
        yield line_no, match, _CODE_SEPARATOR.split(match.group("codes").strip())


def _attach_codes(
    annotations: Dict[str, _Annotation], content: str, where: str, report: ConversionReport
) -> None:
    for line_no, match, codes in _iter_meddra(content, where):
        ann = annotations.get(match.group("id"))
        if ann is None:
            report.add_problem(
                where, line_no, f"MedDRA codes for unknown entity {match.group('id')}: not used",
                match.group("text") or "",
            )
            continue
        if sorted(_parse_fragments(match.group("offsets"))) != sorted(ann.fragments):
            report.add_problem(
                where, line_no,
                f"MedDRA line's offsets {match.group('offsets')} differ from entity {ann.id}'s; "
                f"codes attached to the entity",
                match.group("text") or "",
            )
        ann.codes = codes


def read_cadec_meddra_mentions(
    path: Union[str, Path],
    *,
    report: Optional[ConversionReport] = None,
    multi_code: str = "all",
) -> Iterator[Tuple[str, str]]:
    """Yield (mention text, MedDRA code) pairs from the `meddra/` files, e.g. to train a linker.

    CONCEPT_LESS is never yielded. The text of a discontinuous mention is its fragments joined
    by spaces, as in the file.

    path (Union[str, Path]): CADEC.v2.zip.
    report (Optional[ConversionReport]): Receives counts (records = MedDRA lines, spans = pairs
        yielded) and problems (Latin-1 files, mentions without a code, skipped mentions).
    multi_code (str): For a mention with several codes: "all" (one pair per code), "first" or
        "skip" (no pair).
    YIELDS (Tuple[str, str]): Mention text and MedDRA code.
    RAISES (InputError): For a line that cannot be parsed.
    """
    if multi_code not in ("all", "first", "skip"):
        raise ValueError(f"multi_code must be 'all', 'first' or 'skip', not {multi_code!r}")
    cadec = _Cadec(path, report)
    try:
        for prefix, name in cadec.posts:
            member = f"{prefix}meddra/{name}.ann"
            if member not in cadec.names:
                if report is not None:
                    problem = "missing: no MedDRA codes for this post"
                    report.add_problem(cadec.where(member), 0, problem)
                continue
            where = cadec.where(member)
            for line_no, match, codes in _iter_meddra(cadec.read(member), where):
                mention = match.group("text") or ""
                real = [code for code in codes if code != CONCEPT_LESS]
                if report is not None:
                    report.records += 1
                    if not real:
                        report.add_problem(where, line_no, "mention without MedDRA concept", mention)
                    elif len(real) > 1 and multi_code == "skip":
                        problem = f"mention with codes {real}: skipped"
                        report.add_problem(where, line_no, problem, mention)
                if len(real) > 1 and multi_code != "all":
                    real = real[:1] if multi_code == "first" else []
                for code in real:
                    if report is not None:
                        report.spans += 1
                    yield mention, code
    finally:
        cadec.close()


def convert_cadec(
    input_path: Union[str, Path],
    output_path: Union[str, Path],
    *,
    discontinuous: str = "fragments",
    lang: str = "en",
) -> ConversionReport:
    """Convert the CADEC v2 zip into a `.spacy` file (one Doc per post).

    input_path (Union[str, Path]): CADEC.v2.zip.
    output_path (Union[str, Path]): The `.spacy` file, or a folder that receives `cadec.spacy`.
    discontinuous (str): "fragments", "extent" or "skip" (see `read_cadec`).
    lang (str): Language whose blank tokenizer makes the Docs.
    RETURNS (ConversionReport): Counts and every problem met.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    report = ConversionReport(source=f"cadec {input_path.name} (discontinuous={discontinuous})")
    docs = read_cadec(input_path, make_blank(lang), report, discontinuous=discontinuous)
    save_docs(docs, output_path, default_name="cadec.spacy")
    return report
