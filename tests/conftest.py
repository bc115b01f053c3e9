"""Shared pytest fixtures: the fixtures folder and the licensed data folder."""
import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The folder of the tiny hand-written test fixtures (tests/fixtures)."""
    return FIXTURES


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The licensed data folder named by SPACY_ADR_DATA; skips the test when it is not set."""
    data = os.environ.get("SPACY_ADR_DATA")
    if not data or not Path(data).is_dir():
        pytest.skip("SPACY_ADR_DATA is not set")
    return Path(data)
