"""`spacy-adr serve`: a local web app to try a pipeline in a browser, with a JSON API."""
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from . import app


@app.command("serve")
def serve_cli(
    model: str = typer.Argument(..., help="Pipeline: installed package name or path."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (0.0.0.0 exposes the app to the network)."),
    port: int = typer.Option(8000, "--port", "-p", help="Port to bind."),
    max_chars: int = typer.Option(5000, "--max-chars", help="Longest tweet accepted, in characters."),
    max_tweets: int = typer.Option(100, "--max-tweets", help="Most tweets in one request."),
    max_body_bytes: int = typer.Option(1 << 20, "--max-body-bytes", help="Largest request body accepted."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Threshold of adr_label, the tweet classifier's decision (default: the classifier's own). The spans follow the span gate (gate_open), which this does not change."),
    code: Optional[Path] = typer.Option(None, "--code", "-c", help="Python file with registered components to import."),
) -> None:
    """Serve a page where tweets typed in a box come back rendered with displaCy (ADR spans,
    MedDRA term and code, link method and score, tweet probability), and POST /annotate, which
    returns the records of `spacy-adr annotate`."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as error:
        msg.fail(f"{error}: pip install 'spacy_adr[serve]'", exits=1)
    from ..serve import serve

    msg.info(f"Serving {model} on http://{host}:{port}/")
    serve(
        model, host=host, port=port, code=None if code is None else str(code), max_chars=max_chars,
        max_tweets=max_tweets, max_body_bytes=max_body_bytes, threshold=threshold,
    )
