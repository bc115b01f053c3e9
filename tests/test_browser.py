"""A real browser on `spacy-adr serve`: headless Chromium, driven by Playwright, types tweets
into the page served for the toy ADR pipeline, submits them and finds the highlighted span with
its MedDRA term and code.

Playwright drives the system's Chromium (Debian's `chromium` package; .ci/run installs it), not
a browser build of its own, which cannot be downloaded here. SPACY_ADR_CHROMIUM names another
binary; SPACY_ADR_SCREENSHOTS names a folder that gets a copy of the screenshot.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Optional

import pytest

pytest.importorskip("fastapi", reason="the app needs the web extra (fastapi, uvicorn)")
pytest.importorskip("uvicorn", reason="the app needs the web extra (fastapi, uvicorn)")
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs Playwright (web extra)")

from annotate_helpers import build_toy_pipeline  # noqa: E402

HELPERS = Path(__file__).parent / "annotate_helpers.py"
TWEETS = "cipro gave me a headache all day\nweight gain and dry mouth on seroquel, can't sleep either"
STARTUP_S = 180


def find_chromium() -> Optional[str]:
    """The Chromium binary to drive: $SPACY_ADR_CHROMIUM, else the system's."""
    candidates = [os.environ.get("SPACY_ADR_CHROMIUM"), "/usr/lib/chromium/chromium"]
    candidates += [shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """`spacy-adr serve` on the toy pipeline in a child process; yields its URL."""
    pipeline = build_toy_pipeline(tmp_path / "pipeline")
    port = free_port()
    log = open(tmp_path / "serve.log", "w+")
    command = [
        sys.executable, "-c", "from spacy_adr.cli import app; app(prog_name='spacy-adr')",
        "serve", str(pipeline), "--port", str(port), "--code", str(HELPERS),
    ]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if process.poll() is not None:
                log.seek(0)
                pytest.fail(f"spacy-adr serve exited with {process.returncode}:\n{log.read()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "health", timeout=10) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"spacy-adr serve did not answer within {STARTUP_S} s")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_browser_types_a_tweet_and_sees_the_linked_span(server, tmp_path):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium binary: install Debian's chromium (apt-get install chromium) or set SPACY_ADR_CHROMIUM")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 560})
            page.goto(server)
            # An empty submission is refused with the API's message.
            page.click("#submit")
            page.wait_for_function("document.getElementById('error').textContent.length > 0")
            assert "no tweets" in page.inner_text("#error")

            page.fill("#tweets", TWEETS)
            page.click("#submit")
            page.wait_for_selector("#spans")
            marks = page.locator("mark")
            assert marks.count() == 4
            first = marks.nth(0).inner_text()
            assert "headache" in first and "ADR: Headache" in first and "10019211" in first
            assert "ADR probability 0.90" in page.inner_text("#result")
            assert "Headache" in page.inner_text("#spans") and page.inner_text("#error") == ""
            screenshot = tmp_path / "serve.png"
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("SPACY_ADR_SCREENSHOTS"):
        target = Path(os.environ["SPACY_ADR_SCREENSHOTS"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, target / "serve.png")
