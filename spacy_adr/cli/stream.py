"""`spacy-adr evaluate-stream`, `tune-gate` and `add-verifier`: span figures at a realistic ADR
rate, the gate threshold chosen on them, and a second classifier for the gate to ask."""
import sys
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from . import app

SPANS_HELP = "Tweets with gold ADR spans (.spacy), e.g. corpus/task3/dev.spacy."
NOADR_HELP = "Tweets with ADR/NoADR labels (.spacy), e.g. corpus/task2/en/dev.spacy: its NoADR tweets join the stream and its ADR share is the natural rate."
EXCLUDE_HELP = "Corpora (.spacy) of tweets the models trained on, left out of the stream; repeatable."

SHOWN = ("strict_p", "strict_r", "strict_f", "relaxed_p", "relaxed_r", "relaxed_f", "e2e_relaxed_f", "false_spans_per_1000_noadr")


def _load_stream(spans: Path, noadr: Path, exclude: List[Path]):
    from ..evaluation.stream import read_stream

    try:
        tweets = read_stream(spans, noadr, exclude=exclude)
    except ValueError as error:
        msg.fail(str(error), exits=1)
    n_noadr = sum(1 for tweet in tweets if tweet.source == "noadr")
    msg.info(f"Stream: {len(tweets) - n_noadr} span tweets ({spans}), {n_noadr} unseen NoADR tweets ({noadr})")
    return tweets


def _show(rows: List[dict]) -> None:
    table = [(row["variant"], row["split"], *(f"{row.get(key, float('nan')):.3f}" for key in SHOWN)) for row in rows]
    msg.table(table, header=("variant", "split", *SHOWN))


@app.command("evaluate-stream")
def evaluate_stream_cli(
    model: str = typer.Argument(..., help="Pipeline: installed package name or path."),
    spans: Path = typer.Option(Path("corpus/task3/dev.spacy"), "--spans", help=SPANS_HELP),
    noadr: Path = typer.Option(Path("corpus/task2/en/dev.spacy"), "--noadr", help=NOADR_HELP),
    exclude: List[Path] = typer.Option([], "--exclude", help=EXCLUDE_HELP),
    variant: str = typer.Option(..., "--variant", help="Name of the variant, e.g. en_adr_smm4h."),
    rates: List[float] = typer.Option([0.03], "--rate", help="ADR rates besides the natural one; repeatable."),
    gate_threshold: Optional[float] = typer.Option(None, "--gate-threshold", help="Apply a gate at this tweet probability (default: the pipeline's own adr_span_gate, if it has one and it is on)."),
    gate_classifier: Optional[str] = typer.Option(None, "--gate-classifier", help="Gate by this pipeline's tweet probability (doc.cats) instead of MODEL's, e.g. a slower, more accurate classifier; its threshold is --gate-threshold or, without it, chosen on this stream as tune-gate does."),
    output: Path = typer.Option(Path("metrics/stream_en_dev.json"), "--output", "-o", help="Metrics file."),
) -> None:
    """Span strict/relaxed P/R/F1, end-to-end relaxed F1 and false spans per 1,000 NoADR tweets
    on Task 3 dev alone, at the natural ADR rate and at each --rate; with and without the gate."""
    import spacy

    from ..classification import predict_probabilities
    from ..evaluation.metrics import write_rows
    from ..evaluation.stream import (
        find_gate, natural_rate, precision_by_score, predict_stream, split_name, stream_rows,
        tune_gate, with_probabilities,
    )
    from ..pipeline.meddra_linker import LINKER_FACTORIES

    tweets = _load_stream(spans, noadr, exclude)
    natural = natural_rate(noadr)
    splits = {split_name(rate, natural): rate for rate in [None, natural, *rates]}
    nlp = spacy.load(model)
    gate = find_gate(nlp)
    if gate_threshold is None and gate is not None and nlp.get_pipe(gate).gate and gate_classifier is None:
        gate_threshold = nlp.get_pipe(gate).threshold
    linked = any(nlp.get_pipe_meta(name).factory in LINKER_FACTORIES for name in nlp.pipe_names)
    predictions = predict_stream(nlp, (tweet.text for tweet in tweets))
    if gate_classifier is not None:
        try:
            probabilities = predict_probabilities(spacy.load(gate_classifier), (tweet.text for tweet in tweets))
        except ValueError as error:
            msg.fail(f"--gate-classifier {gate_classifier}: {error}", exits=1)
        predictions = with_probabilities(predictions, probabilities)
        if gate_threshold is None:
            gate_threshold, _curve = tune_gate(tweets, predictions, rate=natural, max_task3_drop=0.01)
    ungated = f"{variant} (gate off)" if gate_threshold is not None else variant
    if gate_classifier is not None:
        variant = f"{variant}, gate by {gate_classifier} at {gate_threshold:.2f}"
    try:
        rows = stream_rows(tweets, predictions, variant=ungated, splits=splits, gate_threshold=None, linked=linked)
        if gate_threshold is not None:
            rows += stream_rows(tweets, predictions, variant=variant, splits=splits, gate_threshold=gate_threshold, linked=linked)
    except ValueError as error:
        msg.fail(f"{spans} + {noadr}: {error}", exits=1)
    bands = [
        {"task": "stream", "variant": f"{ungated}, spans scored {band['score_min']:g}-{band['score_max']:g}",
         "split": split_name(natural, natural), "adr_rate": natural, **band}
        for band in precision_by_score(tweets, predictions, rate=natural)
    ]
    write_rows(output, rows + bands, command="spacy-adr " + " ".join(sys.argv[1:]))
    _show(rows)
    if bands:
        msg.table([(row["variant"], row["n_spans"], f"{row['relaxed_p']:.3f}") for row in bands],
                  header=("span score band (gate off)", "spans", "relaxed P at the natural rate"))
    msg.good(f"Wrote {output}")


@app.command("tune-gate")
def tune_gate_cli(
    model: Path = typer.Argument(..., help="Pipeline folder with an adr_span_gate, changed in place.", exists=True, file_okay=False),
    spans: Path = typer.Option(Path("corpus/task3/dev.spacy"), "--spans", help=SPANS_HELP),
    noadr: Path = typer.Option(Path("corpus/task2/en/dev.spacy"), "--noadr", help=NOADR_HELP),
    exclude: List[Path] = typer.Option([], "--exclude", help=EXCLUDE_HELP),
    max_task3_drop: Optional[float] = typer.Option(0.01, "--max-task3-drop", help="Only thresholds that lose at most this much relaxed F1 on the span tweets alone (Task 3 dev, the paper's setting) against no gate; a negative value allows any loss."),
    curve: Optional[Path] = typer.Option(None, "--curve", help="Also write the scores at every 0.05 of the threshold (task 'stream', one row each) to this metrics file."),
) -> None:
    """Choose the gate threshold with the best relaxed span F1 on the stream at the natural ADR
    rate (among those that keep Task 3 dev's relaxed F1 within --max-task3-drop of no gate) and
    store it in the pipeline's config."""
    import spacy

    from ..evaluation.metrics import write_rows
    from ..evaluation.stream import find_gate, natural_rate, predict_stream, save_gate_threshold, tune_gate

    nlp = spacy.load(model)
    if find_gate(nlp) is None:
        msg.fail(f"{model}: no adr_span_gate in the pipeline {nlp.pipe_names}", exits=1)
    tweets = _load_stream(spans, noadr, exclude)
    natural = natural_rate(noadr)
    predictions = predict_stream(nlp, (tweet.text for tweet in tweets))
    try:
        threshold, scored = tune_gate(tweets, predictions, rate=natural,
                                      max_task3_drop=None if max_task3_drop < 0 else max_task3_drop)
    except ValueError as error:
        msg.fail(f"{spans} + {noadr}: {error}", exits=1)
    name = save_gate_threshold(model, threshold)
    best = next(row for row in scored if row["gate_threshold"] == threshold)
    msg.good(
        f"{model}: {name}.threshold = {threshold:.2f} (stream relaxed F1 {best['relaxed_f']:.3f} at the "
        f"natural ADR rate {natural:.3f}; {best['false_spans_per_1000_noadr']:.1f} false spans per 1,000 "
        f"NoADR tweets; Task 3 dev relaxed recall {best['task3_relaxed_r']:.3f}, F1 {best['task3_relaxed_f']:.3f} "
        f"against {scored[0]['task3_relaxed_f']:.3f} without the gate)"
    )
    if curve is not None:
        rows = [
            {"task": "stream", "variant": f"{model.name} gate {row['gate_threshold']:.2f}",
             "split": "en_dev_stream_natural", **row}
            for row in scored if round(row["gate_threshold"] * 100) % 5 == 0
        ]
        write_rows(curve, rows, command="spacy-adr " + " ".join(sys.argv[1:]))
        msg.good(f"Wrote {curve}")


@app.command("add-verifier")
def add_verifier_cli(
    model: Path = typer.Argument(..., help="Pipeline folder with an adr_span_gate, changed in place.", exists=True, file_okay=False),
    classifier: str = typer.Argument(..., help="Trained tweet classifier (folder or package) whose ADR probability the gate should read, e.g. training/textcat-en-base-bf16; 'none' leaves MODEL as it is."),
    name: str = typer.Option("adr_verifier", "--name", help="The verifier's component name."),
) -> None:
    """Copy a tweet classifier, with its own encoder, into the pipeline as its span gate's
    verifier: a disabled component that the gate asks only about tweets with ADR spans. Run
    tune-gate afterwards: the gate's threshold then applies to the verifier's probability."""
    from ..packaging.verifier import save_verifier

    if classifier.lower() == "none":
        msg.info(f"{model}: no verifier added (the gate reads the pipeline's own classifier)")
        return
    try:
        gate = save_verifier(model, classifier, name=name)
    except (ValueError, OSError) as error:
        msg.fail(f"add-verifier {model} {classifier}: {error}", exits=1)
    msg.good(f"{model}: {gate} now asks {name} (from {classifier}) about tweets with ADR spans")
