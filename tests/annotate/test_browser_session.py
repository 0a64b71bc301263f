"""A labelling session in Debian's Chromium, keyboard only: what is served, how long it took, how it is adjudicated.

* a labelling run over a parsed corpus with headings, table rows and short
  fragments never serves one of them by default;
* the time each answer took (``lead_time``) is measured in the browser and
  stored with the decision;
* adjudication works from the keyboard alone, from the preselection to the
  resolved card leaving the list without a reload;
* the passage search finds a passage and opens it in the labelling view.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from cocreation_nlp.annotate.store import AnnotationStore, PassageRow, add_source
from tests.annotate.test_browser import idle, serve, shown, sign_in_with_keyboard

pytestmark = pytest.mark.browser

LONG = "Residents of the three estates and district nurses shaped the new walk-in service together."


def corpus(tmp_path: Path) -> list[Path]:
    """A Markdown plan (headings, a table, a one-word list item) and the heading and table rows a parser keeps."""
    plan = tmp_path / "plan.md"
    plan.write_text(
        "# Community health plan\n\n## Scheme\n\n"
        f"{LONG} It took eighteen months.\n\n"
        "| Scheme | Checklist | Owner |\n| --- | --- | --- |\n"
        "| Walk-in clinic | Opening hours agreed | Council |\n| Carers' café | Venue booked | Charity |\n\n"
        "## Next steps\n\n"
        "- Survey carers about evening sessions and childcare needs before the next round.\n- Budget.\n\n"
        "Contact us.\n",
        encoding="utf-8",
    )
    kept = tmp_path / "kept.jsonl"
    rows = [
        {
            "doc_id": "annex",
            "text": "Annex: how the steering group was chosen and who sat on it",
            "kind": "heading",
        },
        {
            "doc_id": "annex",
            "text": "Member | Role\nA. Jones | Chair, tenants' association\nB. Smith | District nurse",
            "kind": "table",
        },
        {
            "doc_id": "annex",
            "text": "The group met monthly and published its minutes on the council website.",
        },
    ]
    kept.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return [plan, kept]


def test_a_labelling_run_never_serves_headings_tables_or_fragments(browser, tmp_path: Path):
    db = tmp_path / "project.db"
    store = AnnotationStore(db)
    assert add_source(store, corpus(tmp_path)).failures == []
    store.set_settings(overlap=0.0)
    passages = [store.get_passage(pid, with_neighbours=False) for pid in store.passage_ids()]
    not_served = {p["passage_id"] for p in passages if p["kind"] in {"heading", "table"} or p["n_words"] < 8}
    units = {p["passage_id"] for p in passages} - not_served
    assert (
        len(not_served) >= 6 and len(units) == 3
    )  # short lines ("- Budget.", "Contact us.") join their paragraph
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    served: list[str] = []
    waits: dict[str, float] = {}
    try:
        with serve(db) as base_url:
            sign_in_with_keyboard(page, base_url, "ada")
            while not page.locator("#done").is_visible():
                pid = shown(page)
                assert pid not in served
                served.append(pid)
                # Read for a moment, then answer: the browser times it.
                waits[pid] = 0.4 + 0.3 * len(served)
                time.sleep(waits[pid])
                page.keyboard.press("Enter")
                idle(page)
            assert "3 labelled" in page.locator("#progress-text").text_content()
            assert "3/3 passages" in page.locator("#progress-text").text_content()
            assert errors == []
    finally:
        context.close()
    assert set(served) == units
    for pid in served:
        lead = store.get_decision(pid, "ada")["lead_time"]
        # At least the time we waited; far less than the whole test (no time leaks from one item to the next).
        assert waits[pid] <= lead < waits[pid] + 5, (pid, lead, waits[pid])
    store.close()


def test_adjudication_by_keyboard_only(browser, tmp_path: Path):
    db = tmp_path / "project.db"
    store = AnnotationStore(db)
    store.add_passages(
        [PassageRow(f"d:{i}", "d", f"{LONG} Case {i}.", index=i, title="Plan") for i in range(3)]
    )
    store.save_decision("d:0", "ada", ["individual"])
    store.save_decision("d:0", "bob", ["collective"])
    store.save_decision("d:1", "ada", ["equity", "consultation"])
    store.save_decision("d:1", "bob", ["equity"])
    store.save_decision("d:2", "ada", [])
    store.save_decision("d:2", "bob", ["systemic"])
    store.save_decision("d:2", "cy", [])
    store.set_settings(reviewers=["rev"])
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    kb = page.keyboard

    def current() -> str:
        return page.locator("article.adj-card.current").get_attribute("data-passage-id") or ""

    def gold_pressed(pid: str) -> list[str]:
        return page.locator(
            f"article.adj-card[data-passage-id='{pid}'] .gold .toggle[aria-pressed='true']"
        ).evaluate_all("els => els.map(e => e.dataset.label)")

    try:
        with serve(db) as base_url:
            sign_in_with_keyboard(page, base_url, "rev")
            page.goto(base_url + "/adjudicate")
            page.wait_for_selector("body[data-ready='true']")
            page.evaluate("window.__sameDocument = true")  # gone if the page reloads
            assert "at least half" in page.locator("#adj-rule").text_content()
            assert page.locator("article.adj-card").count() == 3 and current() == "d:0"
            # Two coders who disagree: both labels preselected, both outlined as disputed.
            assert gold_pressed("d:0") == ["individual", "collective"]
            assert page.locator("article.adj-card[data-passage-id='d:0'] .gold .toggle.disputed").count() == 2
            assert gold_pressed("d:1") == ["consultation", "equity"]
            assert gold_pressed("d:2") == []  # one of three coders
            # d:0: collective off (2), a reason (c ... Enter saves).
            kb.press("2")
            assert gold_pressed("d:0") == ["individual"]
            kb.press("c")
            kb.type("hard case 3: citizens, not staff")
            kb.press("Enter")
            idle(page)
            page.wait_for_selector("article.adj-card[data-passage-id='d:0']", state="detached")
            assert (
                current() == "d:1" and "2 passage(s) to resolve" in page.locator("#adj-count").text_content()
            )
            # j moves on, k back; 7 on d:2, Enter saves it.
            kb.press("j")
            assert current() == "d:2"
            kb.press("7")
            kb.press("Enter")
            idle(page)
            page.wait_for_selector("article.adj-card[data-passage-id='d:2']", state="detached")
            assert current() == "d:1"
            # d:1: change it, then r goes back to the preselection; Enter saves that.
            kb.press("6")
            kb.press("1")
            assert gold_pressed("d:1") == ["individual", "consultation"]
            kb.press("r")
            assert gold_pressed("d:1") == ["consultation", "equity"]
            kb.press("Enter")
            idle(page)
            page.wait_for_selector("article.adj-card", state="detached")
            assert page.locator("#adj-empty").is_visible()
            assert page.evaluate("window.__sameDocument") is True  # no reload at any point
            assert errors == []
    finally:
        context.close()
    gold = store.gold_labels()
    assert {pid: g["labels"] for pid, g in gold.items()} == {
        "d:0": ["individual"],
        "d:1": ["consultation", "equity"],
        "d:2": ["systemic"],
    }
    assert gold["d:0"]["comment"] == "hard case 3: citizens, not staff"
    assert all(g["reviewer"] == "rev" and g["lead_time"] is not None for g in gold.values())
    store.close()


def test_passage_search_page_opens_a_hit_in_the_labelling_view(browser, tmp_path: Path):
    db = tmp_path / "project.db"
    store = AnnotationStore(db)
    store.add_passages(
        [
            PassageRow(f"d:{i}", "d", f"{LONG} Paragraph number {i} of the plan.", index=i, title="Plan")
            for i in range(6)
        ]
        + [
            PassageRow(
                "d:x",
                "d",
                "Ward nurses asked for protected time with the patients they care for.",
                6,
                title="Plan",
            )
        ]
    )
    store.save_decision("d:3", "ada", ["individual"], comment="first pass")
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        with serve(db) as base_url:
            sign_in_with_keyboard(page, base_url, "ada")
            page.goto(base_url + "/passages")
            page.wait_for_selector("body[data-ready='true']")
            assert page.locator("li.result").count() == 7
            page.fill("#q", "WARD nurses")
            page.keyboard.press("Enter")
            expect(page.locator("li.result")).to_have_count(1)
            assert page.locator("li.result mark.hit").first.text_content() == "Ward nurses"
            page.select_option("#label", "individual")
            page.fill("#q", "")
            page.keyboard.press("Enter")
            expect(page.locator("li.result")).to_have_count(1)
            expect(page.locator("li.result")).to_have_attribute("data-passage-id", "d:3")
            page.locator("li.result a.r-open").click()
            page.wait_for_url("**/label")  # the ?passage= parameter is consumed
            page.wait_for_selector("body[data-ready='true']")
            idle(page)
            assert shown(page) == "d:3"
            assert page.locator("#badge-review").is_visible()  # an earlier answer, opened for correction
            page.keyboard.press("3")
            page.keyboard.press("Enter")
            idle(page)
            assert shown(page) != "d:3"
            assert errors == []
    finally:
        context.close()
    got = store.get_decision("d:3", "ada")
    assert got["labels"] == ["individual", "professionals"] and got["revision"] == 2
    store.close()
