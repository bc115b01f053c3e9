"""`spacy-adr benchmark`: pipeline speed, load time and memory beside a plain HF baseline."""
import sys
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from . import app


@app.command("benchmark")
def benchmark_cli(
    model: str = typer.Argument(..., help="Pipeline: installed package name or path."),
    data_path: Path = typer.Argument(..., help="Tweets to time (.spacy), e.g. corpus/task2/en/dev.spacy."),
    split: str = typer.Option(..., "--split", help="Name of what is timed, e.g. en_adr_smm4h."),
    baseline_encoder: Optional[str] = typer.Option(None, "--baseline-encoder", help="HF encoder of the plain transformers baseline, e.g. encoders/en."),
    limit: int = typer.Option(1000, "--limit", help="Time on the first N tweets; 0 for all."),
    batch_size: int = typer.Option(128, "--batch-size", help="Batch size of both."),
    n_process: int = typer.Option(1, "--n-process", help="nlp.pipe processes."),
    output: Path = typer.Option(Path("metrics/speed.json"), "--output", "-o", help="Metrics file."),
) -> None:
    """Tweets/s, words/s, load time and peak RSS of a pipeline; with --baseline-encoder, the
    same tweets through transformers' token-classification pipeline and the ratio."""
    from ..benchmark import benchmark, read_texts
    from ..metrics import write_rows

    if not data_path.exists():
        msg.fail(f"{data_path}: no such corpus", exits=1)
    texts = read_texts(data_path, limit)
    result = benchmark(model, texts, baseline_encoder=baseline_encoder, batch_size=batch_size, n_process=n_process)
    row = {"task": "speed", "variant": model, "split": split, **{k: v for k, v in result.items() if k != "pipeline"}}
    rows = [row]
    if "linker_mentions_per_s" in result:
        rows.append({"task": "speed", "variant": model, "split": "linker", "mentions": result["linker_mentions"],
                     "mentions_per_s": result["linker_mentions_per_s"], "n": result["n"]})
    write_rows(output, rows, command="spacy-adr " + " ".join(sys.argv[1:]))
    msg.table([(k, f"{v:.2f}" if isinstance(v, float) else v) for k, v in result.items()], header=("measure", split))
    msg.good(f"Wrote {output}")
