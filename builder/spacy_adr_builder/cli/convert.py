"""`spacy-adr-builder convert SOURCE INPUT OUTPUT`: turn one data source into spaCy training data."""
import json
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import typer
from wasabi import msg

from spacy_adr.errors import ConversionReport, InputError

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
        from spacy_adr.kb.meddra import convert_meddra as convert
    return convert


def convert(
    source: Source, input_path: Path, output_path: Path, *, options: Dict[str, str]
) -> List[Tuple[Path, ConversionReport]]:
    """Convert `input_path` of kind `source` into `output_path`.

    A folder of Task 2 files (`{en,ru,fr}/{train,dev,test}.tsv`) is converted file by file into
    the same layout under `output_path`, each file's language taken from its folder.

    source (Source): Which reader to use.
    input_path (Path): The source file or folder in its original format.
    output_path (Path): The `.spacy` (or, for MedDRA and mention lists, `.jsonl`) file to write,
        or the output folder for a folder of Task 2 files.
    options (Dict[str, str]): Reader options, e.g. {"lang": "ru"}.
    RETURNS (List[Tuple[Path, ConversionReport]]): Each output written with its report.
    """
    if not input_path.exists():
        raise InputError(input_path, 0, "input not found")
    converter = _converter(source)
    if source is Source.task2 and input_path.is_dir():
        inputs = sorted(input_path.rglob("*.tsv"))
        if not inputs:
            raise InputError(input_path, 0, "folder holds no .tsv files")
        outputs = [output_path / path.relative_to(input_path).with_suffix(".spacy") for path in inputs]
        return [(out, converter(path, out, **options)) for path, out in zip(inputs, outputs)]
    return [(output_path, converter(input_path, output_path, **options))]


@app.command("convert")
def convert_cli(
    source: Source = typer.Argument(..., help="Kind of input."),
    input_path: Path = typer.Argument(..., help="Input file or folder in its original format."),
    output_path: Path = typer.Argument(..., help="Output file (.spacy, or .jsonl/.tsv for mention lists and MedDRA), or folder for a folder of Task 2 files."),
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help="Language code of the texts (task2; default: from the folder name)."),
    report_path: Optional[Path] = typer.Option(
        None, "--report", help="Write counts and every problem to this JSON file."
    ),
) -> None:
    """Convert a data source into spaCy training data, reporting every span left out."""
    from ..corpora.stats import describe_docbin

    options = {"lang": lang} if lang else {}
    try:
        results = convert(source, input_path, output_path, options=options)
    except InputError as err:
        msg.fail(str(err), exits=1)
    for output, report in results:
        report.print()
        if output.suffix == ".spacy":
            counts = describe_docbin(output)
            msg.info(", ".join(f"{key} {value:,}" for key, value in sorted(counts.items())))
        msg.good(f"Wrote {output}")
    if report_path is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        reports = [report.to_dict() for _output, report in results]
        data = reports[0] if len(reports) == 1 else reports
        report_path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
