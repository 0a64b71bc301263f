"""The HTML report renders in a real browser: headless Chromium, no server, no network."""

from __future__ import annotations

from pathlib import Path

import pytest

from cocreation_nlp.pipeline import run_score
from cocreation_nlp.report.build import write_report

pytestmark = pytest.mark.browser

PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    corpus = root / "corpus"
    corpus.mkdir()
    body = (
        "Residents told us in workshops that the forms were too long, and the council changed them with their help.\n\n"
        "Nurses and social workers will be trained to work with patients as partners.\n\n"
        "The tenants' association will co-design the repairs service and sit on its board.\n\n"
        "Interpreters make the sessions accessible to recent migrants.\n\n"
    )
    (corpus / "plan.txt").write_text("Plan\n\n" + body * 2, encoding="utf-8")
    (corpus / "hostile.txt").write_text(
        "Hostile\n\n" + body + f"Residents were surveyed about {PAYLOAD} and the results published.\n",
        encoding="utf-8",
    )
    out = root / "out"
    run_score([corpus], out, workers=1)
    html = root / "report.html"
    write_report(out, html)
    return html


def test_report_is_self_contained(report_file: Path) -> None:
    html = report_file.read_text(encoding="utf-8")
    assert "data:image/png;base64," in html
    assert "http://" not in html and "https://" not in html  # nothing to fetch
    assert "&lt;script&gt;" in html and "<script>window.__pwned" not in html


def test_report_renders_in_headless_chromium(report_file: Path, browser) -> None:  # noqa: ANN001
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    failed: list[str] = []
    page.on("requestfailed", lambda req: failed.append(req.url))
    page.goto(report_file.as_uri())
    page.wait_for_load_state("load")
    assert page.title() == "Co-creation blind spots: corpus report"
    # Every chart decoded to a real bitmap.
    sizes = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth])")
    assert len(sizes) >= 3 and all(done and width > 100 for done, width in sizes)
    assert page.locator("h2#rankings").is_visible()
    assert page.locator("details").count() == 2
    # The payload shows as text and never runs.
    assert page.evaluate("window.__pwned") is None
    page.locator("details").nth(0).locator("summary").click()
    page.locator("details").nth(1).locator("summary").click()
    assert PAYLOAD in page.locator("main").inner_text()
    assert not errors and not failed, (errors, failed)
    page.close()
