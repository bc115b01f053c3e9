"""`spacy-adr-builder train-linker` and `evaluate-linker`: the linker's training and evaluation,
on MedDRA or any KB (the work is done by `spacy_adr_builder.training.linker` and
`spacy_adr_builder.evaluation.linker`)."""
import json
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from . import app, command_line


@app.command("train-linker")
def train_linker_cli(
    output_dir: Path = typer.Argument(..., help="Folder to write the trained linker component to."),
    meddra: Optional[Path] = typer.Option(None, "--meddra", help="MedDRA: corpus/meddra.tsv, llt.tsv or the llt.asc folder."),
    kb: Optional[str] = typer.Option(None, "--kb", help="Instead of --meddra, any terminology: tsv:PATH (code<TAB>name[<TAB>parent], a row per synonym) or meddra:PATH."),
    task3_train: Path = typer.Option(..., "--train", help="Training mentions: .spacy with coded ADR spans (Task 3 train) or a mention<TAB>code .tsv."),
    task3_dev: Path = typer.Option(..., "--dev", help="Dev mentions in the same forms, for the distance threshold."),
    cadec: Optional[Path] = typer.Option(None, "--cadec", help="CADEC .spacy as extra training mentions."),
    smm4h2017: Optional[Path] = typer.Option(None, "--smm4h2017", help="SMM4H 2017 mention -> PT JSONL as extra mentions."),
    base_model: Optional[Path] = typer.Option(None, "--base-model", help="Sentence-transformers folder (default: all-MiniLM-L6-v2)."),
    epochs: float = typer.Option(0.5, "--epochs", help="Triplet fine-tuning passes over the mentions (0: no fine-tuning)."),
    batch_size: int = typer.Option(32, "--batch-size", help="Triplets per step."),
    learning_rate: float = typer.Option(3e-5, "--lr", help="Fine-tuning learning rate."),
    margin: float = typer.Option(1.0, "--margin", help="Triplet margin (Euclidean, unit vectors)."),
    class_weight: float = typer.Option(1.0, "--class-weight", help="Weight of a softmax loss over the seen codes added to the triplet fine-tuning (0: triplet loss alone)."),
    memory: str = typer.Option("task3", "--memory", help="Comma-separated sources whose training mentions join the LLT names in the metric index (task3, cadec, smm4h2017); 'none' for the names alone."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    summary: Optional[Path] = typer.Option(None, "--summary", help="Write timings, counts and dev rows to this JSON file."),
) -> None:
    """Train the linker (triplet-tuned encoder + softmax classifier) on MedDRA or any KB and choose its threshold on dev."""
    from spacy_adr.errors import InputError
    from ..training.linker import train_linker

    memory_sources = [] if memory.strip().lower() == "none" else [s.strip() for s in memory.split(",") if s.strip()]
    try:
        result = train_linker(
            output_dir, meddra=meddra, kb=kb, task3_train=task3_train, task3_dev=task3_dev, cadec=cadec,
            smm4h2017=smm4h2017, base_model=base_model, epochs=epochs, batch_size=batch_size,
            learning_rate=learning_rate, margin=margin, class_weight=class_weight,
            memory_sources=memory_sources, seed=seed,
        )
    except (InputError, FileNotFoundError, ValueError) as err:
        msg.fail(str(err), exits=1)
    timings = ", ".join(f"{k} {v:.0f}" for k, v in result["timings"].items())
    msg.info(f"Seconds: {timings}")
    if summary is not None:
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(json.dumps(result, indent=2) + "\n", encoding="utf8")


@app.command("evaluate-linker")
def evaluate_linker_cli(
    linker_dir: Path = typer.Argument(..., help="Folder written by `spacy-adr-builder train-linker`."),
    dev: Path = typer.Argument(..., help=".spacy file with gold ADR spans and LLT codes."),
    output: Path = typer.Option(Path("metrics/linker_task3_dev.json"), "--output", "-o", help="Metrics JSON to write."),
    train: Optional[Path] = typer.Option(None, "--train", help="Training .spacy: also score the dev mentions of tweets not in it."),
) -> None:
    """acc@1 of the classifier, the metric path and their combination; search speed and memory."""
    from ..evaluation.linker import evaluate_linker

    rows = evaluate_linker(linker_dir, dev, output=output, train=train, command=command_line())
    for row in rows:
        if row["task"] == "linker" and row["variant"] in ("classifier", "metric", "combined"):
            msg.text(
                f"{row['split']:<21} {row['variant']:<10} acc@1 {row['acc1']:.4f} (seen {row['acc1_seen']:.4f}, "
                f"unseen {row['acc1_unseen']:.4f}, n {row['n']})"
            )
    speed = rows[-1]
    msg.text(
        f"search {speed['mentions_per_s']:.0f} mentions/s over {speed['n_names']:,} names; "
        f"linker adds {speed['added_rss_mb']:.0f} MB RSS, {speed['disk_mb']:.0f} MB on disk"
    )
    msg.good(f"Wrote {output}")
