"""The `spacy-adr` command line: each command parses arguments and calls a plain function."""
import typer

app = typer.Typer(
    name="spacy-adr",
    help="Find adverse drug reactions in tweets with spaCy: data preparation and tools.",
    no_args_is_help=True,
    add_completion=False,
)

# Commands register themselves on `app` when their modules are imported.
from . import annotate, check_data, convert, evaluate  # noqa: E402,F401
from . import encoders  # noqa: E402,F401
from . import linker  # noqa: E402,F401
from . import benchmark, stream, textcat  # noqa: E402,F401
from . import inference, release  # noqa: E402,F401
from . import report, serve  # noqa: E402,F401
