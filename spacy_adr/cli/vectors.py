"""`spacy-adr prepare-vectors {floret,navec} OUTPUT_DIR`: static vectors for the CNN classifier."""
from enum import Enum
from pathlib import Path
from typing import List

import typer
from wasabi import msg

from . import app


class Source(str, Enum):
    floret = "floret"
    navec = "navec"


@app.command("prepare-vectors")
def prepare_vectors_cli(
    source: Source = typer.Argument(..., help="floret: train on --corpus; navec: Russian navec from natasha."),
    output_dir: Path = typer.Argument(..., help="Pipeline folder to write; name it in [initialize] vectors."),
    corpus: List[Path] = typer.Option(..., "--corpus", "-c", help="Converted corpus (.spacy): floret trains on it, navec keeps its words. Repeatable.", exists=True),
    lang: str = typer.Option("en", "--lang", help="Language of the corpora and the pipeline."),
    dim: int = typer.Option(100, "--dim", help="floret: vector width."),
    epochs: int = typer.Option(10, "--epochs", help="floret: training epochs."),
) -> None:
    """Write static word vectors (keyed by token.norm_) as a blank pipeline folder."""
    from ..training.vectors import floret_vectors, navec_vectors, normalised_texts

    if source == Source.floret:
        nlp = floret_vectors(lang, normalised_texts(lang, corpus), dim=dim, epochs=epochs)
    else:
        words = {word for words in normalised_texts(lang, corpus) for word in words}
        nlp = navec_vectors(lang, keep_words=words)
    nlp.to_disk(output_dir)
    rows, width = nlp.vocab.vectors.shape
    msg.good(f"Wrote {output_dir}: {source.value} vectors, {rows} rows x {width}")
