"""The README's table of data sets and the data folder's layout, written from the records
check-data uses (`spacy_adr_builder.data_check.DATA_SOURCES`), so the two never disagree."""
import itertools
import re
from typing import List, Sequence

from ..data_check import DATA_ENV_VAR, DATA_SOURCES, REQUIRED_FILES, DataSource

_BRACES = re.compile(r"\{([^{}]*)\}")


def expand_braces(pattern: str) -> List[str]:
    """Expand shell-style braces: "{en,ru}/{train,dev}.tsv" -> 4 paths.

    pattern (str): A layout entry.
    RETURNS (List[str]): The paths it names.
    """
    pieces = _BRACES.split(pattern)  # literal, choices, literal, choices, ..., literal
    options = [[piece] if i % 2 == 0 else piece.split(",") for i, piece in enumerate(pieces)]
    return ["".join(choice) for choice in itertools.product(*options)]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def data_sources_table(sources: Sequence[DataSource] = DATA_SOURCES) -> str:
    """A Markdown table: data set, use, where to obtain it, licence, files.

    sources (Sequence[DataSource]): The data sets.
    RETURNS (str): The table.
    """
    lines = [
        f"| data set | used for | where to obtain it | licence | under `${DATA_ENV_VAR}` |",
        "|---|---|---|---|---|",
    ]
    for source in sources:
        obtain = f"{source.obtain}, {source.url}" + (f" ({source.note})" if source.note else "")
        files = f"`{source.prefix}`" + (f": {', '.join(source.layout)}" if source.layout else "")
        lines.append(
            f"| {_cell(source.name)} ({_cell(source.what)}) | {_cell(source.used_for)} | {_cell(obtain)} "
            f"| {_cell(source.license)} | {_cell(files)} |"
        )
    return "\n".join(lines) + "\n"


def data_layout(sources: Sequence[DataSource] = DATA_SOURCES) -> str:
    """The folder layout check-data expects, one line per data set, as a code block.

    sources (Sequence[DataSource]): The data sets.
    RETURNS (str): The block (Markdown fenced code).
    """
    width = max(len(source.prefix) for source in sources) + 2
    lines: List[str] = ["```", f"${DATA_ENV_VAR}/"]
    for source in sorted(sources, key=lambda s: s.prefix):
        lines.append(f"  {source.prefix.ljust(width)}{', '.join(source.layout)}".rstrip())
    lines.append(f"  {'SHA256SUMS'.ljust(width)}optional: your own checksums (sha256sum format) replace the built-in list")
    lines.append("```")
    return "\n".join(lines) + "\n"


def encoders_table() -> str:
    """A Markdown table of the pre-trained encoders the packages fine-tune (no data folder needed).

    RETURNS (str): The table.
    """
    from .meta import ENCODERS

    lines = ["| encoder | licence | where | how the project gets it offline |", "|---|---|---|---|"]
    for record in ENCODERS:
        lines.append(f"| {record.name} | {record.license} | {record.url} | {_cell(record.via)} |")
    return "\n".join(lines) + "\n"


def data_section() -> str:
    """Tables and layout together, as `spacy-adr-builder data-sources` prints them.

    RETURNS (str): Markdown.
    """
    return (
        data_sources_table()
        + "\n"
        + encoders_table()
        + f"\nThe folder `${DATA_ENV_VAR}` names must look like this ({len(REQUIRED_FILES)} files; "
        "`spacy-adr-builder check-data` checks each against its SHA-256):\n\n"
        + data_layout()
    )
