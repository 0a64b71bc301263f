"""The labelling app in a real browser: keyboard-only labelling, and markup in documents stays text.

Drives Debian's Chromium through Playwright (never a downloaded browser):

    apt-get install -y chromium

The tests fail, rather than skip, when Chromium is missing: CI installs it, so
a missing browser is a broken set-up, not an optional feature.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from cocreation_nlp.annotate.app import LOOPBACK_HOSTS, create_app
from cocreation_nlp.annotate.store import AnnotationStore, PassageRow

pytestmark = pytest.mark.browser

PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'


@contextmanager
def serve(db: Path) -> Iterator[str]:
    """Run the real app with uvicorn on 127.0.0.1 and a free port, in a background thread."""
    app = create_app(db, allowed_hosts=LOOPBACK_HOSTS, n_boot=100)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


@contextmanager
def open_page(browser, *, bypass_csp: bool = False):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=bypass_csp)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        yield page, errors
    finally:
        context.close()


def idle(page) -> None:
    """Wait until every queued action of the labelling page has finished."""
    page.wait_for_selector("body[data-pending='0']", state="attached")


def shown(page) -> str:
    return page.locator("#passage-card").get_attribute("data-passage-id") or ""


def pressed(page) -> list[str]:
    return page.locator("#toggles .toggle[aria-pressed='true']").evaluate_all(
        "els => els.map(e => e.dataset.label)"
    )


def sign_in_with_keyboard(page, base_url: str, name: str) -> None:
    page.goto(base_url + "/")
    page.wait_for_url("**/login")
    page.keyboard.type(name)  # the name field has focus
    page.keyboard.press("Enter")
    page.wait_for_url("**/label")
    page.wait_for_selector("body[data-ready='true']")
    idle(page)


def test_annotate_browser_keyboard_only_labelling(browser, tmp_path: Path):
    db = tmp_path / "project.db"
    store = AnnotationStore(db)
    store.add_passages(
        [
            PassageRow(
                f"plan:{i}",
                "plan",
                f"Passage {i}: residents and the voluntary sector.",
                index=i,
                title="Plan",
            )
            for i in range(5)
        ]
    )
    store.set_settings(overlap=0.0, min_words=0)  # short synthetic passages
    started = time.perf_counter()
    with serve(db) as base_url, open_page(browser) as (page, errors):
        sign_in_with_keyboard(page, base_url, "ada")
        kb = page.keyboard
        order: list[str] = []

        p1 = shown(page)
        order.append(p1)
        kb.press("1")
        kb.press("6")
        idle(page)
        assert pressed(page) == ["individual", "equity"]
        kb.press("Enter")
        idle(page)

        p2 = shown(page)
        assert p2 not in order
        order.append(p2)
        kb.press("2")
        kb.press("Enter")
        idle(page)

        p3 = shown(page)
        order.append(p3)
        kb.press("s")  # skip
        idle(page)

        p4 = shown(page)
        order.append(p4)
        kb.press("f")
        kb.press("3")
        kb.press("c")  # into the comment box
        kb.type("hard: ward nurses?")
        kb.press("Enter")  # Enter in the comment saves too
        idle(page)

        p5 = shown(page)
        order.append(p5)
        assert len(set(order)) == 5
        # Undo reopens the last answer with its labels, flag and comment.
        kb.press("u")
        idle(page)
        assert shown(page) == p4 and pressed(page) == ["professionals"]
        assert page.locator("#btn-flag").get_attribute("aria-pressed") == "true"
        assert page.locator("#comment").input_value() == "hard: ward nurses?"
        kb.press("3")
        kb.press("7")
        kb.press("f")
        kb.press("Enter")  # the correction; moves on to the queue's passage
        idle(page)
        assert shown(page) == p5
        # Arrow keys walk back through earlier answers and forward again.
        for expected in [p4, p3, p2]:
            kb.press("ArrowLeft")
            idle(page)
            assert shown(page) == expected
        assert pressed(page) == ["collective"]
        for expected in [p3, p4, p5]:
            kb.press("ArrowRight")
            idle(page)
            assert shown(page) == expected
        kb.press("Backspace")  # undo, the other key
        idle(page)
        assert shown(page) == p4 and pressed(page) == ["systemic"]
        kb.press("ArrowRight")
        idle(page)
        assert shown(page) == p5
        kb.press("Enter")  # nothing toggled: none of the labels applies
        idle(page)
        assert page.locator("#done").is_visible()
        assert "5 labelled" not in page.locator("#progress-text").text_content()  # one was a skip
        assert "4 labelled · 1 skipped · 0 left" in page.locator("#progress-text").text_content()
        assert errors == []
    elapsed = time.perf_counter() - started
    print(f"\nkeyboard-only labelling in Chromium: {elapsed:.1f} s")

    got = {d["passage_id"]: d for d in store.current_decisions(include_skipped=True)}
    assert got[p1]["labels"] == ["individual", "equity"] and got[p1]["annotator"] == "ada"
    assert got[p2]["labels"] == ["collective"]
    assert got[p3]["skipped"] is True and got[p3]["labels"] == []
    assert got[p4]["labels"] == ["systemic"] and got[p4]["flagged"] is False
    assert got[p4]["comment"] == "hard: ward nurses?" and got[p4]["revision"] == 2
    history = store.get_decision(p4, "ada")["history"]
    assert [(h["labels"], h["flagged"]) for h in history] == [(["professionals"], True)]
    assert got[p5]["labels"] == [] and got[p5]["skipped"] is False
    store.close()


def test_annotate_browser_script_payload_is_shown_not_run(browser, tmp_path: Path):
    db = tmp_path / "project.db"
    store = AnnotationStore(db)
    store.add_passages(
        [
            PassageRow(
                "evil:0", "evil", "An ordinary first passage.", index=0, title=PAYLOAD, heading=PAYLOAD
            ),
            PassageRow("evil:1", "evil", PAYLOAD, index=1, title=PAYLOAD, heading=PAYLOAD),
        ]
    )
    store.set_settings(overlap=0.0, min_words=0)  # the payload is 3 "words"
    # The CSP would block inline script anyway; switch it off so that this test
    # fails if the page ever parses passage text as HTML.
    with serve(db) as base_url, open_page(browser, bypass_csp=True) as (page, errors):
        sign_in_with_keyboard(page, base_url, "ada")
        seen = set()
        for _ in range(2):
            pid = shown(page)
            seen.add(pid)
            assert page.locator("#doc-title").text_content() == PAYLOAD
            assert page.locator("#heading").text_content() == "§ " + PAYLOAD
            if pid == "evil:1":
                assert page.locator("#passage-text").text_content() == PAYLOAD
                assert page.locator("#before").text_content() == "An ordinary first passage."
            else:
                assert page.locator("#after").text_content() == PAYLOAD  # as context, too
            assert page.locator("#passage-card img, #passage-card script").count() == 0
            assert page.evaluate("typeof window.__pwned") == "undefined"
            page.keyboard.press("4")
            page.keyboard.press("Enter")
            idle(page)
        assert seen == {"evil:0", "evil:1"}
        # The reviewer's view of a disagreement shows the payload as text as well.
        store.save_decision("evil:1", "bob", ["collective"], comment=PAYLOAD)
        page.goto(base_url + "/adjudicate")
        page.wait_for_selector("body[data-ready='true']")
        card = page.locator("article.adj-card[data-passage-id='evil:1']")
        assert card.locator("p.passage").text_content() == PAYLOAD
        assert PAYLOAD in card.locator("ul.comments .comment").all_text_contents()  # bob's comment
        assert page.locator("#items img, #items script").count() == 0
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert errors == []
    store.close()


def test_annotate_browser_adjudication_and_agreement_pages(browser, tmp_path: Path):
    db = tmp_path / "project.db"
    store = AnnotationStore(db)
    store.add_passages([PassageRow(f"d:{i}", "d", f"Passage {i}.", index=i, title="Doc") for i in range(4)])
    for i in range(4):
        store.save_decision(f"d:{i}", "ada", ["equity"] if i % 2 else [])
        store.save_decision(f"d:{i}", "bob", ["equity"] if i < 2 else [])
    with serve(db) as base_url, open_page(browser) as (page, errors):
        sign_in_with_keyboard(page, base_url, "rev")
        page.goto(base_url + "/agreement")
        page.wait_for_selector("body[data-ready='true']")
        rows = page.locator("#agreement-table tbody tr")
        assert rows.count() == 7
        assert "ada × bob" in page.locator("#kappa-table").text_content()
        page.goto(base_url + "/adjudicate")
        page.wait_for_selector("body[data-ready='true']")
        cards = page.locator("article.adj-card")
        assert cards.count() == 2  # d:0 and d:3 disagree on equity
        first = cards.first
        pid = first.get_attribute("data-passage-id")
        first.locator(".gold .toggle", has_text="equity").click()
        first.locator(".gold button.primary").click()
        # A resolved card leaves the list without a reload; the other one takes focus.
        page.wait_for_selector(f"article.adj-card[data-passage-id='{pid}']", state="detached")
        assert cards.count() == 1
        assert page.locator("article.adj-card.current").get_attribute("data-passage-id") != pid
        assert "1 passage(s) to resolve" in page.locator("#adj-count").text_content()
        page.locator("#show-resolved").check()
        page.wait_for_selector(f"article.adj-card.resolved[data-passage-id='{pid}']")
        assert (
            "Resolved by rev"
            in page.locator(f"article.adj-card[data-passage-id='{pid}'] .gold").text_content()
        )
        assert errors == []
    gold = store.gold_labels()
    assert set(gold) == {pid} and gold[pid]["reviewer"] == "rev"
    store.close()


def test_annotate_browser_settings_form_saves_every_declared_setting(browser, tmp_path: Path):
    from cocreation_nlp.annotate.settings import SETTINGS

    db = tmp_path / "project.db"
    store = AnnotationStore(db)
    store.add_passages([PassageRow("plan:0", "plan", "Residents decide.", title="Plan")])
    store.close()
    with serve(db) as base_url, open_page(browser) as (page, errors):
        sign_in_with_keyboard(page, base_url, "rev")
        page.goto(base_url + "/agreement")
        page.wait_for_selector("body[data-ready='true']")
        # The form is built from the declared settings, a menu where a setting has choices.
        assert page.locator("#settings-form [name]").evaluate_all("els => els.map(e => e.name)") == [
            s.name for s in SETTINGS
        ]
        assert page.locator("#set-strategy option").all_inner_texts() == list(SETTINGS[0].choices)
        page.select_option("#set-strategy", "coverage")
        page.fill("#set-overlap", "0.35")
        page.fill("#set-lease_minutes", "45")
        page.fill("#set-reviewers", "rev, Ada ")
        page.click("#settings-form button[type=submit]")
        page.wait_for_selector(".toast:has-text('Settings saved')")
        assert errors == []
    store = AnnotationStore(db)
    saved = store.get_settings()
    store.close()
    assert saved["strategy"] == "coverage" and saved["overlap"] == 0.35 and saved["lease_minutes"] == 45
    assert saved["reviewers"] == ["Ada", "rev"] and saved["seed"] == 0
