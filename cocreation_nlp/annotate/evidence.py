"""Rule evidence for the labelling view: which lexicon terms occur in a passage, and where.

The annotation queue does not choose passages by rule hits, but a passage's
rule terms are what an annotator most often wants to check first ("does
'patients' here mean the people, or the ward?"), and they are why a rule or
a model built on the rule features would label it. The web app highlights
them inside the passage, the way Prodigy highlights pattern matches.

Offsets are character offsets into the passage text exactly as stored, so
the browser can split the text at them without any tokenising of its own.

The spaCy tokenizer behind :class:`~cocreation_nlp.rules.RuleMatcher` takes
seconds to import, so the app fetches evidence in a request of its own,
after the passage is on screen: labelling never waits for it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["evidence_language", "rule_evidence"]

FALLBACK_LANGUAGE = "en"


def evidence_language(language: str | None) -> tuple[str | None, str]:
    """The lexicon language to use for a passage, and a note for the annotator.

    A passage whose language is unknown (``und``, empty) is matched with the
    English lexicon, the corpus's main language, and the note says so. A
    language without a lexicon gets no evidence (``None``) rather than
    English terms on foreign text.

    Example:
        >>> evidence_language("fr-FR")
        ('fr', '')
        >>> evidence_language("und")[0]
        'en'
        >>> evidence_language("pt")[0] is None
        True
    """
    from ..rules import supported_languages

    code = (language or "").strip().lower().replace("_", "-").split("-")[0]
    if code in ("", "und", "unknown"):
        return FALLBACK_LANGUAGE, "language unknown: English lexicon used"
    if code in supported_languages():
        return code, ""
    return None, f"no rule lexicon for language {code!r}"


@lru_cache(maxsize=4096)
def _spans(text: str, language: str) -> tuple[tuple[str, int, int, str, str], ...]:
    from ..rules import RuleMatcher

    hits = RuleMatcher(language).match(text)
    out = [(h.label, h.start_char, h.end_char, h.text, h.term) for found in hits.values() for h in found]
    out.sort(key=lambda s: (s[1], s[2], s[0]))
    return tuple(out)


def rule_evidence(text: str, language: str | None = None) -> dict[str, Any]:
    """The rule lexicon's hits in ``text``, as JSON-ready spans.

    Returns:
        ``{"language": code or None, "note": str, "spans": [{"label",
        "start", "end", "text", "term"}, ...]}``, spans ordered by position.
        Spans of different labels may overlap ("user research" is evidence
        for ``individual`` and ``consultation``).

    Example:
        >>> ev = rule_evidence("Ward nurses met residents.", "en")
        >>> [(s["label"], s["text"]) for s in ev["spans"]]
        [('professionals', 'nurses'), ('individual', 'residents')]
        >>> all("Ward nurses met residents."[s["start"]:s["end"]] == s["text"] for s in ev["spans"])
        True
    """
    code, note = evidence_language(language)
    spans: tuple[tuple[str, int, int, str, str], ...] = _spans(text, code) if code else ()
    return {
        "language": code,
        "note": note,
        "spans": [
            {"label": label, "start": start, "end": end, "text": hit, "term": term}
            for label, start, end, hit, term in spans
        ],
    }
