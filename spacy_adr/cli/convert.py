"""`spacy-adr convert SOURCE INPUT OUTPUT`: turn one data source into spaCy training data."""
import json
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Callable, Dict, Optional

import typer
from wasabi import msg

from ..corpora.problems import ConversionReport, InputError
from . import app


class Source(str, Enum):
    task3 = "task3"
    task2 = "task2"
    cadec = "cadec"
    psytar_sentences = "psytar-sentences"
    psytar_mentions = "psytar-mentions"
    rudrec = "rudrec"
    smm4h2017 = "smm4h2017"
    meddra = "meddra"


def _converter(source: Source) -> Callable[..., ConversionReport]:
    # Imported on demand so that `spacy-adr --help` stays fast.
    if source is Source.task3:
        from ..corpora.smm4h_task3 import convert_task3 as convert
    elif source is Source.task2:
        from ..corpora.smm4h_task2 import convert_task2 as convert
    elif source is Source.cadec:
        from ..corpora.cadec import convert_cadec as convert
    elif source is Source.psytar_sentences:
        from ..corpora.psytar import convert_psytar

        convert = partial(convert_psytar, task="sentences")
    elif source is Source.psytar_mentions:
        from ..corpora.psytar import convert_psytar

        convert = partial(convert_psytar, task="mentions")
    elif source is Source.rudrec:
        from ..corpora.rudrec import convert_rudrec as convert
    elif source is Source.smm4h2017:
        from ..corpora.smm4h2017 import convert_smm4h2017 as convert
    else:
        from ..kb.meddra import convert_meddra as convert
    return convert


def convert(
    source: Source, input_path: Path, output_path: Path, *, options: Dict[str, str]
) -> ConversionReport:
    """Convert `input_path` of kind `source` into `output_path`.

    source (Source): Which reader to use.
    input_path (Path): The source file or folder in its original format.
    output_path (Path): The `.spacy` (or, for MedDRA and mention lists, `.jsonl`) file to write.
    options (Dict[str, str]): Reader options, e.g. {"lang": "ru"}.
    RETURNS (ConversionReport): Counts and every problem met.
    """
    if not input_path.exists():
        raise InputError(input_path, 0, "input not found")
    return _converter(source)(input_path, output_path, **options)


@app.command("convert")
def convert_cli(
    source: Source = typer.Argument(..., help="Kind of input."),
    input_path: Path = typer.Argument(..., help="Input file or folder in its original format."),
    output_path: Path = typer.Argument(..., help="Output file (.spacy, or .jsonl for mention lists and MedDRA)."),
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help="Language code of the texts (task2)."),
    report_path: Optional[Path] = typer.Option(
        None, "--report", help="Write counts and every problem to this JSON file."
    ),
) -> None:
    """Convert a data source into spaCy training data, reporting every span left out."""
    options = {"lang": lang} if lang else {}
    try:
        report = convert(source, input_path, output_path, options=options)
    except InputError as err:
        msg.fail(str(err), exits=1)
    report.print()
    if output_path.suffix == ".spacy":
        from ..corpora.stats import describe_docbin

        counts = describe_docbin(output_path)
        msg.info(", ".join(f"{key} {value:,}" for key, value in sorted(counts.items())))
    if report_path is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
    msg.good(f"Wrote {output_path}")
