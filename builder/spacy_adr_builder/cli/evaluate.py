"""`spacy-adr-builder evaluate-ner`: SMM4H span scores of a pipeline, written to a metrics file."""
from pathlib import Path

import typer
from wasabi import msg

from . import app, command_line


@app.command("evaluate-ner")
def evaluate_ner_cli(
    model: str = typer.Argument(..., help="Pipeline: installed package name or path."),
    data_path: Path = typer.Argument(..., help="Gold corpus (.spacy), e.g. corpus/task3/dev.spacy."),
    output: Path = typer.Option(Path("metrics/ner_task3_dev.json"), "--output", "-o", help="Metrics file."),
    variant: str = typer.Option(..., "--variant", help="Name of the variant, e.g. minilm+gazetteer."),
    split: str = typer.Option("task3_dev", "--split", help="Name of the data split."),
    e2e: bool = typer.Option(False, "--e2e", help="Also write the end-to-end row (relaxed span match and the same MedDRA code); needs adr_meddra_linker."),
) -> None:
    """Strict and relaxed P/R/F1 of ADR spans against the source file's own offsets and,
    with --e2e, the end-to-end P/R/F1 of linked spans."""
    from ..evaluation.ner import evaluate_ner
    from spacy_adr.metrics import write_rows

    if not data_path.exists():
        msg.fail(f"{data_path}: no such corpus", exits=1)
    try:
        scores = evaluate_ner(model, data_path, linked=e2e)
    except ValueError as error:
        msg.fail(str(error), exits=1)
    rows = [{"task": task, "variant": variant, "split": split, **values} for task, values in scores.items()]
    write_rows(output, rows, command=command_line())
    for task, values in scores.items():
        msg.table(
            [(key, f"{value:.4f}" if isinstance(value, float) else value) for key, value in values.items()],
            header=(task, variant),
        )
    msg.good(f"Wrote {output}")
