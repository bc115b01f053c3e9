"""`spacy-adr-builder split-folds`, `cross-validate-ner`: k-fold cross-validation by group."""
from pathlib import Path

import typer
from wasabi import msg

from . import app, command_line


@app.command("split-folds")
def split_folds_cli(
    corpus_path: Path = typer.Argument(..., help="Corpus (.spacy), e.g. corpus/rudrec.spacy.", exists=True, dir_okay=False),
    output_dir: Path = typer.Argument(..., help="Folder that receives fold0/, fold1/, ... with train.spacy and test.spacy."),
    key: str = typer.Option(..., "--key", help="doc.user_data key that groups documents, e.g. review_id."),
    n_folds: int = typer.Option(5, "--folds", help="Number of folds."),
    seed: int = typer.Option(0, "--seed", help="Seed of the group shuffle."),
) -> None:
    """Split a corpus into folds that keep each group (e.g. a review's sentences) together."""
    from ..corpora.folds import write_folds

    try:
        summary = write_folds(corpus_path, output_dir, key=key, n_folds=n_folds, seed=seed)
    except ValueError as error:
        msg.fail(str(error), exits=1)
    msg.table([(row["fold"], row["train"], row["test"], row["test_groups"]) for row in summary],
              header=("fold", "train docs", "test docs", f"test {key}s"))
    msg.good(f"Wrote {n_folds} folds of {corpus_path} to {output_dir}")


@app.command("cross-validate-ner",
             context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def cross_validate_ner_cli(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., help="Training config, e.g. configs/multitask.cfg.", exists=True, dir_okay=False),
    folds_dir: Path = typer.Argument(..., help="Folds written by split-folds.", exists=True, file_okay=False),
    output_dir: Path = typer.Argument(..., help="Receives one trained pipeline per fold."),
    variant: str = typer.Option(..., "--variant", help="Name of the recipe, e.g. xx-e5-ner."),
    metrics: Path = typer.Option(Path("metrics/ner_rudrec_cv.json"), "--metrics", "-o", help="Metrics file."),
    label: str = typer.Option("ADR", "--label", help="Entity label scored."),
    gpu_id: int = typer.Option(-1, "--gpu-id", help="GPU id, -1 for the CPU."),
) -> None:
    """Train a config once per fold (extra --section.key value arguments override it, as for
    `spacy train`) and write each fold's strict and relaxed scores of model-last and their mean."""
    from spacy.cli._util import parse_config_overrides

    from ..evaluation.cross_validation import cross_validate_ner
    from spacy_adr.metrics import write_rows

    overrides = parse_config_overrides(ctx.args)
    try:
        rows = cross_validate_ner(config_path, folds_dir, output_dir, overrides=overrides, label=label, use_gpu=gpu_id)
    except ValueError as error:
        msg.fail(str(error), exits=1)
    write_rows(metrics, [{"task": "ner", "variant": variant, **row} for row in rows], command=command_line())
    msg.table([(row["split"], f"{row['strict_f']:.3f}", f"{row['relaxed_f']:.3f}") for row in rows],
              header=("split", "strict F1", "relaxed F1"))
    msg.good(f"Wrote {metrics}")
