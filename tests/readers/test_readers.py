from __future__ import annotations

import pytest

from cocreation_nlp.ingest import detect_language, sniff_format
from cocreation_nlp.readers.html import parse_html
from cocreation_nlp.readers.hyphenation import join_hyphenated
from cocreation_nlp.readers.markdown import parse_markdown
from cocreation_nlp.readers.text import parse_plain_text


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("more partici-", "pation in design", "more participation in design"),
        ("the organis-", "ation will", "the organisation will"),
        ("through co-", "design with residents", "through co-design with residents"),
        ("a long-", "term plan", "a long-term plan"),
        ("front-", "line staff", "front-line staff"),
        ("an evidence-", "based approach", "an evidence-based approach"),
        ("stra -", "tegy in this area", "strategy in this area"),
        ("we will follow-", "up every report", "we will follow-up every report"),
        ("ends here", "next line", "ends here next line"),
        ("a dash -", "Then", "a dash - Then"),
    ],
)
def test_hyphenation_repair(left: str, right: str, expected: str) -> None:
    assert join_hyphenated(left, right) == expected


def test_hyphenation_uses_document_spelling() -> None:
    # The author writes "wellbeing" elsewhere: the break is a soft hyphen.
    assert join_hyphenated("their well-", "being", "our wellbeing plan") == "their wellbeing"
    # The author writes "co-operate" elsewhere: keep it.
    assert join_hyphenated("to co-", "operate", "we co-operate") == "to co-operate"


def test_markdown_front_matter_and_markup_removed() -> None:
    r = parse_markdown(
        "---\ntitle: Plan\ntags: [a]\n---\n# Aims\n\nWe **will** [co-design](x) it.\n\n| A | B |\n|---|---|\n| c | d |\n"
    )
    assert r.title == "Plan"
    assert [(b.kind, b.text) for b in r.blocks] == [
        ("heading", "Aims"),
        ("paragraph", "We will co-design it."),
        ("table", "A | B\nc | d"),
    ]


def test_html_boilerplate_removed() -> None:
    body = (
        "<p>"
        + "Residents and tenants' associations shaped the new housing repairs service together. " * 4
        + "</p>"
    )
    page = (
        "<html><head><title>Repairs</title></head><body>"
        "<div class='cookie-banner'>We use cookies. Accept all cookies</div>"
        "<nav><ul><li><a href='/'>Home</a></li><li><a href='/about'>About us</a></li></ul></nav>"
        f"<main><article><h1>Housing repairs plan</h1>{body}<ul><li>Fund the tenants' federation to run drop-in sessions.</li></ul></article></main>"
        "<footer>© Crown copyright. Contact us. Privacy policy.</footer></body></html>"
    )
    blocks = parse_html(page).blocks
    text = " ".join(b.text for b in blocks)
    assert "tenants' associations" in text
    assert "cookies" not in text and "Privacy policy" not in text and "About us" not in text
    assert ("list_item", "Fund the tenants' federation to run drop-in sessions.") in [
        (b.kind, b.text) for b in blocks
    ]


def test_plain_text_bullets_and_wrapped_lines() -> None:
    r = parse_plain_text(
        "INTRODUCTION\n\nThis strategy was written\nwith residents over a year.\n\n* first point\n  continues here\n* second\n"
    )
    assert [(b.kind, b.text) for b in r.blocks] == [
        ("heading", "INTRODUCTION"),
        ("paragraph", "This strategy was written with residents over a year."),
        ("list_item", "first point continues here"),
        ("list_item", "second"),
    ]


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"%PDF-1.4", "pdf"),
        (b"PK\x03\x04rest", "zip"),
        (b"<!DOCTYPE html><html>", "html"),
        (b"\x00\x01\x02", "binary"),
        (b"plain words", "text"),
    ],
)
def test_sniff_format(head: bytes, kind: str) -> None:
    assert sniff_format(head) == kind


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (
            "Les habitants participent à la conception des services publics avec les associations du quartier.",
            "fr",
        ),
        ("Die Bürgerinnen und Bürger gestalten die Verwaltungsleistungen gemeinsam mit den Verbänden.", "de"),
        ("Los vecinos y las asociaciones deciden juntos el presupuesto participativo de la ciudad.", "es"),
        (
            "De inwoners denken mee over de dienstverlening van de gemeente en de maatschappelijke organisaties.",
            "nl",
        ),
        ("I cittadini e le associazioni partecipano alla progettazione dei servizi pubblici locali.", "it"),
        ("Residents and community groups shape the design of local public services together.", "en"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang
