"""The `spacy-adr` command line for users of a built pipeline: each command parses arguments
and calls a plain function. The commands that build the pipelines are `spacy-adr-builder`'s."""
import typer

app = typer.Typer(
    name="spacy-adr",
    help="Find adverse drug reactions in tweets with a built spacy_adr pipeline.",
    no_args_is_help=True,
    add_completion=False,
)

# Commands register themselves on `app` when their modules are imported.
from . import annotate, inference, report, serve, signals  # noqa: E402,F401
