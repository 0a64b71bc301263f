"""Repair of end-of-line hyphenation without merging real hyphenated compounds."""

from __future__ import annotations

import re
from functools import lru_cache

_TAIL = re.compile(r"(\w+) ?[-\u2010\u00ad]$")
_HEAD = re.compile(r"^([a-zà-ÿ]\w*)")

# Prefixes that form hyphenated compounds in policy English: kept when in doubt.
COMPOUND_PREFIXES = frozenset(
    "co non self well long short cross multi front inter pre post re anti e sub semi cost evidence user "
    "citizen community place person people data low high mid full part one two three".split()
)


@lru_cache(maxsize=1)
def _english_words() -> frozenset[str]:
    """Lower-cased English word forms from spaCy's lookup lemma table (offline, shipped on PyPI)."""
    try:
        from spacy.lookups import load_lookups

        table = load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")
        words = set()
        for key in table.keys():  # keys are hashes in newer spaCy; fall back to items()
            if isinstance(key, str):
                words.add(key.lower())
        if not words:
            for k, v in table.items():
                if isinstance(k, str):
                    words.add(k.lower())
                if isinstance(v, str):
                    words.add(v.lower())
        return frozenset(words)
    except Exception:  # no lookups data: fall back to document-internal evidence only
        return frozenset()


_WORD = re.compile(r"\w+")
_COMPOUND = re.compile(r"\w+(?:-\w+)+")


@lru_cache(maxsize=4)
def _document_words(doc_lower: str) -> tuple[frozenset[str], frozenset[str]]:
    """The words and the hyphenated pairs ("co-design") a document uses, computed once per document.

    Looking a joined word up in these sets instead of searching the whole
    text for it keeps hyphen repair linear in the document's length.
    """
    words = set(_WORD.findall(doc_lower))
    compounds: set[str] = set()
    for tok in _COMPOUND.findall(doc_lower):
        parts = tok.split("-")
        compounds.update(f"{x}-{y}" for x, y in zip(parts, parts[1:], strict=False))
    return frozenset(words), frozenset(compounds)


def join_hyphenated(left: str, right: str, doc_lower: str = "") -> str:
    """Join two consecutive lines, repairing a line-end hyphen where it splits one word.

    ``doc_lower`` is the lower-cased text of the whole document with lines
    joined by newlines, used as evidence of how the author spells a word
    elsewhere. The hyphen is dropped when the joined word is attested (in the document
    itself or in the English word list) and kept when the hyphenated form is
    attested, when both halves are words on their own ("evidence-based"), or
    when the first half is a compound prefix ("co-design").

    Example:
        >>> join_hyphenated("more partici-", "pation in design")
        'more participation in design'
        >>> join_hyphenated("through co-", "design with residents")
        'through co-design with residents'
    """
    left = left.rstrip()
    if not left.endswith(("-", "\u2010", "\u00ad")):
        return f"{left} {right.lstrip()}"
    # Only the last word matters: searching the whole accumulated paragraph would
    # make joining a paragraph's lines quadratic in its length.
    cut = max(0, len(left) - 80)
    tail = _TAIL.search(left, cut)
    head = _HEAD.match(right)
    if not tail or not head:
        return f"{left} {right.lstrip()}"
    a, b = tail.group(1), head.group(1)
    joined, hyphenated = (a + b).lower(), f"{a}-{b}".lower()
    words, compounds = _document_words(doc_lower)
    keep: bool
    if hyphenated in compounds:
        keep = True
    elif joined in words:
        keep = False
    else:
        words = _english_words()
        if a.lower() in COMPOUND_PREFIXES:
            keep = True
        elif len(a) > 2 and a.lower() in words and b.lower() in words:
            # Both halves are words ("follow-up", "evidence-based"): a compound
            # is the safer reading; a wrong hyphen stays readable, a wrong
            # merge ("followup") does not.
            keep = True
        else:
            keep = False
    if keep:
        return left + right.lstrip()
    return left[: tail.end(1)] + right.lstrip()
