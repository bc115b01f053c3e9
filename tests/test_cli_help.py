"""Every command of `spacy-adr` (what a user of a built pipeline runs) and of
`spacy-adr-builder` (what the project runs) prints its help: a help text that rich cannot
render (e.g. square brackets read as markup) fails only when a user asks for it."""
import pytest
from typer.main import get_command
from typer.testing import CliRunner

from spacy_adr.cli import app
from spacy_adr_builder.cli import app as builder_app

USER_COMMANDS = sorted(get_command(app).commands)
BUILD_COMMANDS = sorted(get_command(builder_app).commands)


def test_users_see_only_the_commands_of_a_built_pipeline():
    assert USER_COMMANDS == ["annotate", "annotate-distributed", "report", "serve", "set-inference", "signals"]
    assert {"convert", "train-linker", "tune-gate", "benchmark", "package-meta"} <= set(BUILD_COMMANDS)
    assert not set(USER_COMMANDS) & set(BUILD_COMMANDS)


@pytest.mark.parametrize("which,command", [("user", c) for c in USER_COMMANDS] + [("build", c) for c in BUILD_COMMANDS])
def test_help_renders(which, command):
    result = CliRunner().invoke(app if which == "user" else builder_app, [command, "--help"], terminal_width=100)
    assert result.exit_code == 0, f"{command} --help: {result.exception!r}\n{result.output[-2000:]}"
    assert "Usage" in result.output
