"""The `spacy-adr-builder` command line that the spaCy project (project.yml) calls: data
conversion, encoders, training helpers, evaluation and packaging. Each command parses
arguments and calls a plain function."""
import sys

import typer

app = typer.Typer(
    name="spacy-adr-builder",
    help="Build the spacy_adr pipelines: convert data, prepare encoders, train, evaluate, package.",
    no_args_is_help=True,
    add_completion=False,
)



def command_line() -> str:
    """RETURNS (str): The command being run, as metrics rows record it (rerunnable)."""
    return "spacy-adr-builder " + " ".join(sys.argv[1:])


# Commands register themselves on `app` when their modules are imported.
from . import check_data, convert, encoders  # noqa: E402,F401
from . import evaluate, linker, stream, textcat  # noqa: E402,F401
from . import benchmark, cross_validation, drugs, release  # noqa: E402,F401
