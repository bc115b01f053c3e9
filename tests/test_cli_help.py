"""Every `spacy-adr` command prints its help: a help text that rich cannot render (e.g. square
brackets read as markup) fails only when a user asks for it."""
import pytest
from typer.main import get_command
from typer.testing import CliRunner

from spacy_adr.cli import app

COMMANDS = sorted(get_command(app).commands)


def test_the_commands_are_found():
    assert {"benchmark", "annotate", "tune-gate", "label-soft", "set-inference"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_renders(command):
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=100)
    assert result.exit_code == 0, f"{command} --help: {result.exception!r}\n{result.output[-2000:]}"
    assert "Usage" in result.output
