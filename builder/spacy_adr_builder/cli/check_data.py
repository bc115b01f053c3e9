"""`spacy-adr-builder check-data`: is the licensed data folder complete and intact?"""
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from . import app


@app.command("check-data")
def check_data_cli(
    data_dir: Optional[Path] = typer.Argument(
        None, help="Data folder; defaults to the SPACY_ADR_DATA environment variable."
    ),
) -> None:
    """Check every expected data file against its SHA-256 checksum."""
    from ..data_check import check_data, data_dir_from_env

    if data_dir is None or str(data_dir) in ("", "."):
        try:
            data_dir = data_dir_from_env()
        except EnvironmentError as err:
            msg.fail(str(err), exits=1)
    try:
        result = check_data(data_dir)
    except FileNotFoundError as err:
        msg.fail(str(err), exits=1)
    for problem in result.messages():
        msg.fail(problem)
    if not result.ok:
        msg.fail(result.summary(), exits=1)
    msg.good(result.summary())
