"""The labelling app over a long session, in Debian's Chromium: what an annotator sees and presses.

* the label bar (all seven toggles and Save) stays inside the window for a
  400-word passage on a 1366x768 laptop and a 1920x1080 screen;
* the codebook panel shows the label in focus in full, keeps the rest
  collapsed, and searches;
* the rule lexicon's evidence spans are highlighted inside the passage
  without changing its text, and a double-coded passage says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cocreation_nlp.annotate import sampling
from cocreation_nlp.annotate.evidence import rule_evidence
from cocreation_nlp.annotate.store import AnnotationStore, PassageRow
from cocreation_nlp.codebook import load_codebook
from tests.annotate.test_browser import idle, serve, shown, sign_in_with_keyboard

pytestmark = pytest.mark.browser

SENTENCES = (
    "The borough's community health plan was drawn up over eighteen months with residents of the three estates.",
    "Tenants' associations and a disability charity sat on the steering group from the first meeting.",
    "District nurses and social workers described how referrals were lost between the two services.",
    "A survey of carers found that many could not attend evening workshops held in the town hall.",
    "The council paid for childcare and interpreters so that more parents could take part.",
    "Staff said the new routines would only last if managers kept time free for joint case reviews.",
    "People who use the service redesigned the discharge letter together with the ward team.",
    "The board agreed to publish its minutes and to answer every comment received online.",
)


def words_passage(n_words: int) -> str:
    """A realistic paragraph of exactly ``n_words`` words, cycling through SENTENCES."""
    words: list[str] = []
    while len(words) < n_words:
        for sentence in SENTENCES:
            words.extend(sentence.split())
    return " ".join(words[:n_words])


def fully_visible(page, selector: str) -> dict[str, object]:
    """Where the element is, and whether it lies inside the window and is the element on top there."""
    return page.locator(selector).evaluate(
        """el => {
            const r = el.getBoundingClientRect();
            const inside = r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth;
            const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return {inside, onTop: Boolean(hit) && el.contains(hit), top: r.top, bottom: r.bottom};
        }"""
    )


SIZES = [(1366, 768), (1920, 1080)]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_label_bar_and_save_stay_in_view_for_a_400_word_passage(browser, tmp_path: Path, size):
    width, height = size
    long_text = words_passage(400)
    assert len(long_text.split()) == 400
    store = AnnotationStore(tmp_path / "project.db")
    store.add_passages(
        [
            PassageRow("plan:0", "plan", "Introduction to the plan and who wrote it.", index=0, title="Plan"),
            PassageRow("plan:1", "plan", long_text, index=1, title="Plan", heading="Working with residents"),
            PassageRow("plan:2", "plan", "Annex: the members of the steering group.", index=2, title="Plan"),
        ]
    )
    store.set_settings(overlap=0.0)
    # The neighbours are done by a colleague: the long passage is the one served, with context around it.
    store.save_decision("plan:0", "bob", [])
    store.save_decision("plan:2", "bob", [])
    selectors = ["#btn-save", *[f"#toggles .toggle[data-label='{n}']" for n in load_codebook().label_names]]
    assert len(selectors) == 8
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        with serve(tmp_path / "project.db") as base_url:
            sign_in_with_keyboard(page, base_url, "ada")
            assert shown(page) == "plan:1"
            assert page.locator("#passage-text").text_content() == long_text
            passage = page.locator("#passage-text").bounding_box()
            if (width, height) == (1366, 768):
                # The passage alone runs past the bottom of the window: without the
                # sticky bar the toggles and Save would sit below the edge.
                assert passage["y"] + passage["height"] > height
            where = {}
            for position in ("top", "middle", "space"):
                if position == "middle":
                    page.evaluate(
                        "window.scrollTo(0, (document.documentElement.scrollHeight - innerHeight) / 2)"
                    )
                elif position == "space":
                    page.evaluate("window.scrollTo(0, 0)")
                    page.keyboard.press("Space")  # scrolls the passage, toggles nothing
                    idle(page)
                for sel in selectors:
                    where[(position, sel)] = fully_visible(page, sel)
            bad = {k: v for k, v in where.items() if not (v["inside"] and v["onTop"])}
            assert bad == {}, f"controls outside the {width}x{height} window or covered: {bad}"
            if (width, height) == (1366, 768):
                assert page.evaluate("window.scrollY") > 0  # Space scrolled the long passage
            assert page.locator("#toggles .toggle[aria-pressed='true']").count() == 0
            # The bar is usable where it is: label with the keyboard and save.
            page.keyboard.press("3")
            page.keyboard.press("Enter")
            idle(page)
            assert page.locator("#done").is_visible()
            assert errors == []
    finally:
        context.close()
    assert store.get_decision("plan:1", "ada")["labels"] == ["professionals"]
    store.close()


def test_codebook_panel_focus_collapse_and_search(browser, tmp_path: Path):
    codebook = load_codebook()
    store = AnnotationStore(tmp_path / "project.db")
    store.add_passages([PassageRow("d:0", "d", words_passage(120), index=0, title="Doc")])
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        with serve(tmp_path / "project.db") as base_url:
            sign_in_with_keyboard(page, base_url, "ada")
            focus = page.locator("#cb-focus")
            # Collapsed by default: only the focus card shows a definition.
            assert page.locator("#cb-list details.def[open]").count() == 0
            for label in codebook.labels:
                page.locator(f"#toggles .toggle[data-label='{label.name}']").hover()
                assert focus.get_attribute("data-label") == label.name
                text = " ".join(focus.text_content().split())
                assert " ".join(label.definition.split()) in text
                if label.exclude:
                    assert " ".join(label.exclude.split()) in text
                # Definition and exclusions are visible at once: the card is inside
                # the window and needs no scrolling of its own.
                box = focus.evaluate(
                    "el => { const r = el.getBoundingClientRect();"
                    " return {bottom: r.bottom, clipped: el.scrollHeight > el.clientHeight + 1}; }"
                )
                assert box["bottom"] <= 768 and not box["clipped"], (label.name, box)
            # A key press pins the label: it stays in focus when the pointer leaves.
            page.mouse.move(5, 760)
            page.keyboard.press("5")
            idle(page)
            page.mouse.move(5, 700)
            assert focus.get_attribute("data-label") == "consultation"
            assert (
                page.locator("#toggles .toggle[data-label='consultation']").get_attribute("aria-pressed")
                == "true"
            )

            # Search: "/" jumps to the box; only the matching definitions stay, opened and marked.
            word = "stakeholders"
            expected = sorted(
                lab.name
                for lab in codebook.labels
                if word in " ".join([lab.title, lab.name, lab.definition, lab.exclude, *lab.examples]).lower()
            )
            assert 0 < len(expected) < len(codebook.labels)  # a search that can fail both ways
            page.keyboard.press("/")
            page.keyboard.type(word)
            visible = page.locator("#cb-list details.def:not([hidden])").evaluate_all(
                "els => els.map(e => e.dataset.label).sort()"
            )
            assert visible == expected
            assert page.locator("#cb-list details.def[open]:not([hidden])").count() == len(expected)
            assert page.locator("#cb-list mark.cb-hit").count() >= len(expected)
            assert all(m.lower() == word for m in page.locator("#cb-list mark.cb-hit").all_text_contents())
            page.keyboard.type("zzzz")
            assert page.locator("#cb-nohits").is_visible()
            page.keyboard.press("Escape")  # clears the search and leaves the box
            assert page.locator("#cb-list details.def[hidden]").count() == 0
            assert page.locator("#cb-list mark.cb-hit").count() == 0
            # The keys label again once the search box is left.
            page.keyboard.press("1")
            idle(page)
            assert (
                page.locator("#toggles .toggle[data-label='individual']").get_attribute("aria-pressed")
                == "true"
            )
            assert errors == []
    finally:
        context.close()
    store.close()


def test_rule_evidence_is_highlighted_in_the_passage_and_double_coding_is_shown(browser, tmp_path: Path):
    text = (
        "Ward nurses and GPs met residents and the tenants' association;\n"
        "a survey of carers followed. Nothing else here."
    )
    plain = "The annex lists the dates of the meetings and the rooms booked for them."
    store = AnnotationStore(tmp_path / "project.db")
    store.add_passages(
        [
            PassageRow("d:0", "d", text, index=0, title="Doc"),
            PassageRow("d:1", "d", plain, index=1, title="Doc"),
        ]
    )
    store.set_settings(overlap=0.5)
    coders = {pid: sampling.target_coders(pid, 0.5, 2) for pid in ("d:0", "d:1")}
    expected = rule_evidence(text, "en")["spans"]
    assert {s["label"] for s in expected} >= {"professionals", "individual", "collective", "consultation"}
    assert rule_evidence(plain, "en")["spans"] == []
    with serve(tmp_path / "project.db") as base_url:
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        try:
            sign_in_with_keyboard(page, base_url, "ada")
            seen = set()
            for _ in range(2):
                pid = shown(page)
                seen.add(pid)
                page.wait_for_selector("#passage-card:not([data-evidence='pending'])", timeout=60_000)
                body = page.locator("#passage-text")
                badge = page.locator("#badge-overlap")
                assert badge.is_visible() == (coders[pid] > 1)
                if coders[pid] > 1:
                    assert f"{coders[pid]} annotators" in badge.text_content()
                if pid == "d:0":
                    # Highlighting changes no character of the passage.
                    assert body.text_content() == text
                    marks = body.locator("mark.ev").evaluate_all(
                        """els => els.map(m => {
                            let start = 0, n = m.parentNode.firstChild;
                            for (; n !== m; n = n.nextSibling) start += n.textContent.length;
                            return {start, end: start + m.textContent.length, labels: m.dataset.labels.split(' ')};
                        })"""
                    )
                    # Every evidence span is marked, character for character, and nothing else is.
                    marked = [(m["start"], m["end"], lab) for m in marks for lab in m["labels"]]
                    spans = [(s["start"], s["end"], s["label"]) for s in expected]
                    assert _coverage(len(text), marked) == _coverage(len(text), spans)
                    legend = page.locator("#evidence-legend").text_content()
                    for s in expected:
                        assert s["label"] in legend and s["text"].lower() in legend
                    # h hides the highlights (and the choice is remembered), h shows them again.
                    page.keyboard.press("h")
                    assert page.evaluate("document.body.classList.contains('hide-evidence')")
                    page.keyboard.press("h")
                    assert not page.evaluate("document.body.classList.contains('hide-evidence')")
                else:
                    assert body.locator("mark").count() == 0
                    assert "No rule terms" in page.locator("#evidence-legend").text_content()
                page.keyboard.press("Enter")
                idle(page)
            assert seen == {"d:0", "d:1"}
            assert errors == []
        finally:
            context.close()
    store.close()


def _coverage(n: int, spans: list[tuple[int, int, str]]) -> list[set[str]]:
    """For each character, the labels whose spans cover it."""
    out: list[set[str]] = [set() for _ in range(n)]
    for start, end, label in spans:
        for i in range(start, end):
            out[i].add(label)
    return out
