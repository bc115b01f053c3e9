"""`spacy-adr-builder evaluate-stream` and `tune-gate`: span figures at a realistic ADR rate, and
the gate's threshold and minimum span score chosen on them."""
from dataclasses import replace
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from . import app, command_line

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
    spans_split: str = typer.Option("task3_dev", "--spans-split", help="Split name of the --spans corpus in the rows, e.g. rudrec_dev."),
    stream_split: str = typer.Option("en_dev", "--stream-split", help="Split name of the stream in the rows, e.g. ru_dev (rows: ru_dev_stream_natural, ...)."),
) -> None:
    """Span strict/relaxed P/R/F1, end-to-end relaxed F1 and false spans per 1,000 NoADR tweets
    on Task 3 dev alone, at the natural ADR rate and at each --rate; with and without the gate;
    and, for reference, how many gold spans the span annotation itself puts on the NoADR tweets
    it shares with the tweet labels."""
    import spacy

    from ..evaluation.textcat import predict_probabilities
    from spacy_adr.metrics import write_rows
    from ..evaluation.stream import (
        GateRule, annotation_agreement, find_gate, natural_rate, precision_by_score, predict_stream, split_name,
        stream_rows, tune_gate, with_probabilities,
    )
    from spacy_adr.pipeline.concept_linker import LINKER_FACTORIES

    tweets = _load_stream(spans, noadr, exclude)
    natural = natural_rate(noadr)
    splits = {split_name(rate, natural, spans=spans_split, stream=stream_split): rate for rate in [None, natural, *rates]}
    nlp = spacy.load(model)
    name = find_gate(nlp)
    own = nlp.get_pipe(name) if name is not None else None
    gate = None
    if own is not None and (own.gate or gate_threshold is not None):
        gate = GateRule(own.threshold, own.min_span_score)
    if gate_threshold is not None:
        # --gate-threshold replaces the threshold only
        gate = replace(gate, threshold=gate_threshold) if gate is not None else GateRule(gate_threshold)
    linked = any(nlp.get_pipe_meta(name).factory in LINKER_FACTORIES for name in nlp.pipe_names)
    predictions = predict_stream(nlp, (tweet.text for tweet in tweets))
    if gate_classifier is not None:
        try:
            probabilities = predict_probabilities(spacy.load(gate_classifier), (tweet.text for tweet in tweets))
        except ValueError as error:
            msg.fail(f"--gate-classifier {gate_classifier}: {error}", exits=1)
        predictions = with_probabilities(predictions, probabilities)
        gate = GateRule(gate_threshold) if gate_threshold is not None else tune_gate(tweets, predictions, rate=natural, max_task3_drop=0.01)[0]
    ungated = f"{variant} (gate off)" if gate is not None else variant
    if gate_classifier is not None:
        variant = f"{variant}, gate by {gate_classifier} at {gate.threshold:.2f}"
    try:
        rows = stream_rows(tweets, predictions, variant=ungated, splits=splits, gate=None, linked=linked)
        if gate is not None:
            rows += stream_rows(tweets, predictions, variant=variant, splits=splits, gate=gate, linked=linked)
    except ValueError as error:
        msg.fail(f"{spans} + {noadr}: {error}", exits=1)
    bands = [
        {"task": "stream", "variant": f"{ungated}, spans scored {band['score_min']:g}-{band['score_max']:g}",
         "split": split_name(natural, natural, spans=spans_split, stream=stream_split), "adr_rate": natural, **band}
        for band in precision_by_score(tweets, predictions, rate=natural)
    ]
    # The reference for false spans: the span annotation's own spans on the NoADR-labelled
    # tweets it shares with the tweet labels (left out of the stream as span tweets).
    agreement = {"task": "agreement", "variant": f"gold spans of {spans}", "split": f"NoADR tweets of {noadr}",
                 **annotation_agreement(spans, noadr)}
    write_rows(output, rows + bands + [agreement], command=command_line())
    _show(rows)
    msg.info(
        f"Reference: {agreement['n_shared_noadr']} NoADR tweets of {noadr} are span tweets of {spans}; "
        f"{agreement['n_noadr_with_spans']} of them have gold ADR spans there "
        f"({agreement['false_spans_per_1000_noadr']:.1f} spans per 1,000)"
    )
    if bands:
        msg.table([(row["variant"], row["n_spans"], f"{row['relaxed_p']:.3f}") for row in bands],
                  header=("span score band (gate off)", "spans", "relaxed P at the natural rate"))
    msg.good(f"Wrote {output}")


# The span scores tune-gate tries besides every threshold at 0.01, when the spans are scored
MIN_SPAN_SCORES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)


@app.command("tune-gate")
def tune_gate_cli(
    model: Path = typer.Argument(..., help="Pipeline folder with an adr_span_gate, changed in place.", exists=True, file_okay=False),
    spans: Path = typer.Option(Path("corpus/task3/dev.spacy"), "--spans", help=SPANS_HELP),
    noadr: Path = typer.Option(Path("corpus/task2/en/dev.spacy"), "--noadr", help=NOADR_HELP),
    exclude: List[Path] = typer.Option([], "--exclude", help=EXCLUDE_HELP),
    max_task3_drop: Optional[float] = typer.Option(0.01, "--max-task3-drop", help="Only gates that lose at most this much relaxed F1 on the span tweets alone (Task 3 dev, the paper's setting) against no gate; a negative value allows any loss."),
    min_span_scores: List[float] = typer.Option([], "--min-span-score", help=f"Minimum span scores to try; repeatable (default, when the gate scores spans: {', '.join(map(str, MIN_SPAN_SCORES))})."),
    curve: Optional[Path] = typer.Option(None, "--curve", help="Also write the scores at every 0.05 of the threshold, at the chosen span score (task 'stream', one row each), to this metrics file."),
) -> None:
    """Choose the gate (threshold, minimum span score) with the best relaxed span F1 on the
    stream at the natural ADR rate, among those that keep Task 3 dev's relaxed F1 within
    --max-task3-drop of no gate, and store it in the pipeline's config."""
    import spacy

    from spacy_adr.metrics import write_rows
    from ..evaluation.stream import (
        best_by_setting, find_gate, natural_rate, predict_stream, save_gate_rule, stream_scores, tune_gate,
    )

    nlp = spacy.load(model)
    name = find_gate(nlp)
    if name is None:
        msg.fail(f"{model}: no adr_span_gate in the pipeline {nlp.pipe_names}", exits=1)
    own = nlp.get_pipe(name)
    min_span_scores = min_span_scores or (MIN_SPAN_SCORES if own.score_spans else [0.0])
    tweets = _load_stream(spans, noadr, exclude)
    natural = natural_rate(noadr)
    predictions = predict_stream(nlp, (tweet.text for tweet in tweets))
    try:
        gate, scored = tune_gate(tweets, predictions, rate=natural,
                                 max_task3_drop=None if max_task3_drop < 0 else max_task3_drop,
                                 min_span_scores=min_span_scores)
    except ValueError as error:
        msg.fail(f"{spans} + {noadr}: {error}", exits=1)
    save_gate_rule(model, gate)
    best = next(row for row in scored if all(row[key] == value for key, value in gate.row().items()))
    ungated = stream_scores(tweets, predictions, rate=None, gate=None)
    msg.good(
        f"{model}: {name}.threshold = {gate.threshold:.2f}, "
        f"min_span_score = {gate.min_span_score:g} (stream relaxed F1 {best['relaxed_f']:.3f} at the "
        f"natural ADR rate {natural:.3f}; {best['false_spans_per_1000_noadr']:.1f} false spans per 1,000 "
        f"NoADR tweets; Task 3 dev relaxed recall {best['task3_relaxed_r']:.3f}, F1 {best['task3_relaxed_f']:.3f} "
        f"against {ungated['relaxed_f']:.3f} without the gate)"
    )
    # The best allowed threshold at each span score: what holding back doubtful spans adds
    by_setting = best_by_setting(scored)
    msg.table(
        [(f"{row['min_span_score']:g}", f"{row['gate_threshold']:.2f}", f"{row['relaxed_f']:.3f}",
          f"{row['false_spans_per_1000_noadr']:.1f}", f"{row['task3_relaxed_r']:.3f}", f"{row['task3_relaxed_f']:.3f}")
         for row in by_setting],
        header=("min span score", "threshold", "stream relaxed F1", "false spans / 1,000 NoADR",
                "Task 3 relaxed R", "Task 3 relaxed F1"),
    )
    if curve is not None:
        rows = [
            {"task": "stream", "variant": f"{model.name} gate {row['gate_threshold']:.2f}",
             "split": "en_dev_stream_natural", **row}
            for row in scored
            if round(row["gate_threshold"] * 100) % 5 == 0 and row["min_span_score"] == gate.min_span_score
        ] + [
            {"task": "stream", "variant": f"{model.name} best gate at min span score {row['min_span_score']:g}",
             "split": "en_dev_stream_natural", **row}
            for row in by_setting
        ]
        write_rows(curve, rows, command=command_line())
        msg.good(f"Wrote {curve}")

