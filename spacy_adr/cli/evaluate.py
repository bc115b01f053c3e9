"""`spacy-adr evaluate-ner`: SMM4H span scores of a pipeline, written to a metrics file."""
import sys
from pathlib import Path

import typer
from wasabi import msg

from . import app


@app.command("evaluate-ner")
def evaluate_ner_cli(
    model: str = typer.Argument(..., help="Pipeline: installed package name or path."),
    data_path: Path = typer.Argument(..., help="Gold corpus (.spacy), e.g. corpus/task3/dev.spacy."),
    output: Path = typer.Option(Path("metrics/ner_task3_dev.json"), "--output", "-o", help="Metrics file."),
    variant: str = typer.Option(..., "--variant", help="Name of the variant, e.g. minilm+gazetteer."),
    split: str = typer.Option("task3_dev", "--split", help="Name of the data split."),
) -> None:
    """Strict and relaxed P/R/F1 of ADR spans against the source file's own offsets."""
    from ..evaluation import evaluate_ner
    from ..metrics import write_rows

    if not data_path.exists():
        msg.fail(f"{data_path}: no such corpus", exits=1)
    scores = evaluate_ner(model, data_path)
    row = {"task": "ner", "variant": variant, "split": split, **scores}
    write_rows(output, [row], command="spacy-adr " + " ".join(sys.argv[1:]))
    msg.table(
        [(key, f"{value:.4f}" if isinstance(value, float) else value) for key, value in scores.items()],
        header=("metric", variant),
    )
    msg.good(f"Wrote {output}")

