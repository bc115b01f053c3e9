"""`spacy-adr-builder label-distill`: Task 2 tweets labelled by the accurate package, the
training data of a fast core that learns from it (`distill` workflow)."""
from pathlib import Path
from typing import List

import typer
from wasabi import msg

from . import app, command_line


@app.command("label-distill")
def label_distill_cli(
    teacher: str = typer.Argument(..., help="The teacher pipeline (installed package name or path), e.g. training/en_adr_smm4h_trf."),
    data: List[Path] = typer.Argument(..., help="Corpora (.spacy) of tweets to label, with gold tweet labels (Task 2 en train) or without (Task 2 en test).", exists=True),
    output: Path = typer.Option(..., "--output", "-o", help="The labelled corpus (.spacy)."),
    exclude: List[Path] = typer.Option([], "--exclude", help="Corpora (.spacy) whose tweets are left out (the dev sets); repeatable.", exists=True),
    metrics: Path = typer.Option(Path("metrics/distill_en.json"), "--metrics", help="Metrics file for the counts."),
) -> None:
    """Tweet labels (where gold has none) and ADR spans from a teacher pipeline, for a student core."""
    import spacy

    from ..corpora.distill import label_distill, read_texts, save_docs
    from spacy_adr.metrics import write_rows

    texts = read_texts(data)
    msg.info(f"Labelling {len(texts)} tweets of {', '.join(map(str, data))} with {teacher}")
    docs, counts = label_distill(spacy.load(teacher), texts, exclude=exclude)
    save_docs(docs, output)
    write_rows(metrics, [{"task": "distill", "variant": str(teacher), "split": output.stem, **counts}], command=command_line())
    msg.good(f"{output}: {len(docs)} tweets, {counts['spans']} teacher spans on {counts['with_spans']} of them "
             f"({counts['left_out']} dev tweets left out, {counts['seconds']} s)")
