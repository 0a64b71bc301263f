"""Which passages of a project are labelling units, and so are served to annotators.

The codebook labels what a passage *says*: "a heading alone, a table of
contents, a reference list, a page header or footer ... gets no label". The
parser keeps headings and tables as passages of their own kinds so that no
text is lost, and short fragments ("Scheme", "Checklist", a table cell)
slip through as paragraphs. Serving them wastes an annotator's time: in one
session 12 of 60 passages were such fragments. So by default the queue
leaves out

* passages of a kind that is not a labelling unit (:data:`NOT_UNIT_KINDS`),
* passages with fewer words than the project's ``min_words`` setting (8 by
  default: the minimum used when the project's own annotations were made,
  see ``annotations/README.md``).

A project can serve them anyway (setting ``include_headings_tables``, or
``min_words`` 0); they always stay in the project, in search results when
asked for, and in exports.

The rule is written once, here, as an SQL condition that the queue, the
progress counts and the passage search share.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_MIN_WORDS", "NOT_UNIT_KINDS", "count_words", "is_unit", "unit_params", "unit_sql"]

NOT_UNIT_KINDS: tuple[str, ...] = ("heading", "table", "table_row")
"""Passage kinds the codebook gives no label: kept for context, not served by default."""

DEFAULT_MIN_WORDS = 8
"""The codebook's minimum for a labelling unit in this project (``annotations/README.md``)."""


def count_words(text: str) -> int:
    """Words as the segmenter counts them (``Passage.n_words``): runs of non-space characters.

    Example:
        >>> count_words("Residents  decide,\\n together.")
        3
    """
    return len(text.split())


def is_unit(kind: str, n_words: int, settings: dict[str, Any]) -> bool:
    """Whether a passage is served under the project's settings (the Python twin of :func:`unit_sql`).

    Example:
        >>> s = {"min_words": 8, "include_headings_tables": False}
        >>> is_unit("paragraph", 12, s), is_unit("heading", 12, s), is_unit("paragraph", 3, s)
        (True, False, False)
        >>> is_unit("heading", 3, {"min_words": 0, "include_headings_tables": True})
        True
    """
    if kind in NOT_UNIT_KINDS and not settings["include_headings_tables"]:
        return False
    return n_words >= int(settings["min_words"])


def unit_sql(alias: str = "p") -> str:
    """An SQL condition on the passages table (as ``alias``) that keeps the served passages.

    It reads two named parameters, which :func:`unit_params` provides:
    ``:unit_all_kinds`` (1 to serve headings and tables too) and
    ``:unit_min_words``.
    """
    kinds = ", ".join(f"'{k}'" for k in NOT_UNIT_KINDS)
    return f"((:unit_all_kinds OR {alias}.kind NOT IN ({kinds})) AND {alias}.n_words >= :unit_min_words)"


def unit_params(settings: dict[str, Any]) -> dict[str, Any]:
    """The parameters :func:`unit_sql` needs, from the project settings."""
    return {
        "unit_all_kinds": int(bool(settings["include_headings_tables"])),
        "unit_min_words": int(settings["min_words"]),
    }
