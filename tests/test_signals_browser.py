"""A real browser on the page of `spacy-adr signals`: headless Chromium (as in test_browser.py)
opens index.html from disk and finds the signal table and every plot drawn."""
import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs Playwright (web extra)")
pytest.importorskip("matplotlib", reason="the page's plots need matplotlib (report extra)")

from test_browser import find_chromium  # noqa: E402
from test_signals import write_outputs  # noqa: E402

from spacy_adr.signals import make_signals  # noqa: E402


def test_browser_renders_the_signal_page(tmp_path):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium binary: install Debian's chromium (apt-get install chromium) or set SPACY_ADR_CHROMIUM")
    folder = write_outputs(tmp_path / "outputs")
    make_signals([folder], tmp_path / "signals", meddra=None)
    page_path = tmp_path / "signals" / "index.html"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 700})
            page.goto(page_path.as_uri())
            assert page.title() == "spacy_adr signals"
            assert page.locator("h1").inner_text() == "Drug-event signals"
            signals = page.locator("#signals table").first.inner_text()
            assert "Event A" in signals and "Event B" in signals
            images = page.locator("img")
            assert images.count() == 3  # the volcano plot and one per drug with a row (x, y)
            # every plot loaded: an image that failed to load has no natural width
            assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
            assert "not a JSON line" in page.locator("#read").inner_text()
        finally:
            browser.close()
