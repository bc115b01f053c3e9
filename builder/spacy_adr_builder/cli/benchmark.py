"""`spacy-adr-builder benchmark`: pipeline speed, load time and memory beside a plain HF baseline."""
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from . import app, command_line


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
    compare: List[str] = typer.Option([], "--compare", help="Also time the pipeline under these encoder settings, QUANTIZE/GROUPS, optionally followed by /LINKER_QUANTIZE (e.g. fp32/0: the transformer in fp32 on whole batches, the linker as saved; ort-int8/16; int8/16/int8); repeatable. Rows split SPLIT:SETTINGS."),
    spans: Optional[Path] = typer.Option(None, "--spans", help="Gold spans (.spacy, e.g. corpus/task3/dev.spacy): NER strict/relaxed and end-to-end F1 of each setting beside its speed."),
    classes: Optional[Path] = typer.Option(None, "--classes", help="Gold ADR/NoADR tweets (.spacy, e.g. corpus/task2/en/dev.spacy): tweet F1 of each setting."),
) -> None:
    """Tweets/s, words/s, load time and peak RSS of a pipeline; with --baseline-encoder, the
    same tweets through transformers' token-classification pipeline and the ratio; with
    --compare, the same under other encoder settings; with --spans/--classes, the dev
    accuracy of each setting, so that the cost of int8 is measured in the same run."""
    from ..evaluation.benchmark import accuracy, benchmark, parse_inference, read_texts
    from spacy_adr.metrics import write_rows

    for path in (data_path, spans, classes):
        if path is not None and not path.exists():
            msg.fail(f"{path}: no such corpus", exits=1)
    try:
        settings = [(split, None)] + [(f"{split}:{text}", parse_inference(text)) for text in compare]
    except ValueError as error:
        msg.fail(str(error), exits=1)
    texts = read_texts(data_path, limit)
    baseline = None
    rows = []
    for name, inference in settings:
        msg.info(f"Timing {model} ({name})")
        result = benchmark(model, texts, baseline_encoder=baseline_encoder if baseline is None else None,
                           batch_size=batch_size, n_process=n_process, inference=inference)
        # The baseline is timed once; every setting's ratio is to that same figure.
        baseline = baseline or {k: result[k] for k in ("baseline_tweets_per_s", "baseline_peak_rss_mb") if k in result}
        if baseline:
            result.update(baseline, ratio=result["tweets_per_s"] / baseline["baseline_tweets_per_s"])
        if spans or classes:
            msg.info(f"Dev accuracy of {model} ({name})")
            result.update(accuracy(model, inference=inference, spans=_str(spans), classes=_str(classes)))
        rows.append({"task": "speed", "variant": model, "split": name, **{k: v for k, v in result.items() if k != "pipeline"}})
        if "linker_mentions_per_s" in result and inference is None:
            rows.append({"task": "speed", "variant": model, "split": "linker", "mentions": result["linker_mentions"],
                         "mentions_per_s": result["linker_mentions_per_s"], "n": result["n"]})
    write_rows(output, rows, command=command_line())
    for row in rows:
        if row["split"] != "linker":
            shown = [(k, f"{v:.3f}" if isinstance(v, float) else v) for k, v in row.items() if k not in ("task", "variant", "split")]
            msg.table(shown, header=("measure", row["split"]))
    msg.good(f"Wrote {output}")


def _str(path: Optional[Path]) -> Optional[str]:
    return str(path) if path is not None else None
