"""`spacy-adr-builder tune-threshold`, `evaluate-textcat`, `predict-task2`: the
tweet classifier after training."""
from pathlib import Path
from typing import List

import typer
from wasabi import msg

from . import app, command_line


def _split_named(value: str) -> tuple:
    """"en_dev:corpus/task2/en/dev.spacy" -> ("en_dev", Path(...))."""
    if ":" not in value:
        msg.fail(f"--data {value!r}: give NAME:PATH, e.g. en_dev:corpus/task2/en/dev.spacy", exits=1)
    name, path = value.split(":", 1)
    return name, Path(path)


@app.command("tune-threshold")
def tune_threshold_cli(
    model: Path = typer.Argument(..., help="Trained pipeline folder, changed in place.", exists=True, file_okay=False),
    dev_paths: List[Path] = typer.Argument(..., help="Gold corpora (.spacy) the threshold is chosen on, pooled.", exists=True),
) -> None:
    """Choose the ADR decision threshold with the best F1 on dev and save it with the pipeline."""
    import spacy

    from ..evaluation.textcat import save_threshold, tune_threshold

    nlp = spacy.load(model)
    threshold, f = tune_threshold(nlp, dev_paths)
    name = save_threshold(model, threshold)
    msg.good(f"{model}: {name}.threshold = {threshold:.2f} (F1 {f:.4f} on {', '.join(map(str, dev_paths))})")


@app.command("evaluate-textcat")
def evaluate_textcat_cli(
    model: str = typer.Argument(..., help="Pipeline: installed package name or path."),
    data: List[str] = typer.Option(..., "--data", "-d", help="SPLIT:PATH of a gold corpus, e.g. en_dev:corpus/task2/en/dev.spacy; repeatable."),
    variant: str = typer.Option(..., "--variant", help="Name of the variant, e.g. en-minilm."),
    output: Path = typer.Option(Path("metrics/textcat_dev.json"), "--output", "-o", help="Metrics file."),
) -> None:
    """P/R/F1 of the ADR class at the pipeline's own threshold, one row per corpus."""
    import spacy

    from ..evaluation.textcat import evaluate_textcat
    from spacy_adr.metrics import write_rows

    named = [_split_named(value) for value in data]
    for _, path in named:
        if not path.exists():
            msg.fail(f"{path}: no such corpus", exits=1)
    nlp = spacy.load(model)
    rows = []
    for split, path in named:
        scores = evaluate_textcat(nlp, path)
        rows.append({"task": "textcat", "variant": variant, "split": split, **scores})
    write_rows(output, rows, command=command_line())
    msg.table(
        [(r["split"], f"{r['p']:.4f}", f"{r['r']:.4f}", f"{r['f']:.4f}", f"{r['threshold']:.2f}", r["n"]) for r in rows],
        header=("split", "P", "R", "F1", "threshold", "n"),
    )
    msg.good(f"Wrote {output}")


@app.command("predict-task2")
def predict_task2_cli(
    model: str = typer.Argument(..., help="Pipeline: installed package name or path."),
    data_path: Path = typer.Argument(..., help="Converted Task 2 file (.spacy), e.g. corpus/task2/en/test.spacy.", exists=True),
    output: Path = typer.Argument(..., help="Submission TSV to write (tweet_id, label)."),
) -> None:
    """Classify a Task 2 file and write the SMM4H submission format."""
    import spacy

    from ..evaluation.textcat import write_task2_predictions

    n = write_task2_predictions(spacy.load(model), data_path, output)
    msg.good(f"Wrote {n} predictions to {output}")
