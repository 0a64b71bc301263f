"""Search and filter the passages of an annotation project (text, document, label, annotator, flagged).

What an annotator finds: every passage, but only their own decisions. A
filter on a label, an annotator or a flag looks at their own decisions
only, so that searching never reveals how a colleague coded a passage that
both label independently (the agreement sample stays blind). A reviewer
sees and filters on everyone's decisions and the gold labels.

By default the search covers the passages the queue serves (labelling units,
see :mod:`.units`); ``units_only=False`` adds headings, tables and short
fragments.

Text matching is case- and accent-insensitive by Unicode case folding and
NFKD, done in Python through an SQLite function: SQLite's own ``LIKE`` folds
ASCII only, and "Bürger" must find "BÜRGER".
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..errors import AnnotationError
from .units import unit_params, unit_sql

__all__ = ["PassageQuery", "SearchMixin", "fold"]

MAX_LIMIT = 200


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Text folded for matching: case-folded, accents removed, spaces collapsed.

    Example:
        >>> fold("Bürger  BETEILIGUNG") == fold("burger beteiligung")
        True
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


def _contains(text: str | None, needle: str) -> int:
    return int(bool(text) and needle in fold(text))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class PassageQuery:
    """A passage search; every given filter must hold (AND).

    Attributes:
        text: words the passage text contains (folded match; empty: any).
        doc_id: only this document.
        label: only passages where a (visible) decision applies this label.
        annotator: only passages this annotator decided (for a non-reviewer:
            only their own name is accepted).
        flagged: only passages with a (visible) flagged decision.
        units_only: leave out what the queue does not serve (headings,
            tables, passages under ``min_words``).
        limit: at most this many items (1-200).
        offset: skip this many items (paging).
    """

    text: str = ""
    doc_id: str = ""
    label: str = ""
    annotator: str = ""
    flagged: bool = False
    units_only: bool = True
    limit: int = 50
    offset: int = 0


class SearchMixin:
    """Searching and filtering passages (part of :class:`~.store.AnnotationStore`)."""

    def search_passages(self, query: PassageQuery, *, viewer: str, reviewer: bool) -> dict[str, Any]:
        """Passages matching ``query``, as ``viewer`` may see them.

        Returns:
            ``{"total": int, "items": [...], "documents": [...], "annotators":
            [...]}``; each item is the passage (id, document, title, heading,
            page, position, kind, word count, text), ``decisions`` (the viewer's
            own, or everyone's for a reviewer), ``n_coders`` (how many annotators
            decided it; skips left out) and, for a reviewer, ``gold``.
            ``documents`` and ``annotators`` list the choices for the filters.

        Raises:
            AnnotationError: for an unknown label, a negative offset, or a
                non-reviewer filtering on another annotator.
        """
        if query.label:
            self.codebook.label(query.label)  # type: ignore[attr-defined]
        if query.offset < 0:
            raise AnnotationError("offset must be >= 0.")
        if query.annotator and not reviewer and query.annotator != viewer:
            raise AnnotationError(
                "Only reviewers can filter on another annotator's decisions; you can filter on your own."
            )
        limit = max(1, min(MAX_LIMIT, int(query.limit)))
        settings = self.get_settings()  # type: ignore[attr-defined]
        where = ["1"]
        params: dict[str, Any] = {**unit_params(settings)}
        if query.units_only:
            where.append(unit_sql("p"))
        if query.doc_id:
            where.append("p.doc_id = :doc_id")
            params["doc_id"] = query.doc_id
        needle = fold(query.text) if query.text.strip() else ""
        if needle:
            where.append("cc_contains(p.text, :needle)")
            params["needle"] = needle
        # Decision filters apply to one decision each: "annotator X applied label Y".
        decision_where = ["d.passage_id = p.passage_id"]
        if not reviewer:
            decision_where.append("d.annotator = :viewer")
            params["viewer"] = viewer
        if query.annotator:
            decision_where.append("d.annotator = :annotator")
            params["annotator"] = query.annotator
        if query.label:
            decision_where.append(
                "d.skipped = 0 AND EXISTS (SELECT 1 FROM json_each(d.labels) j WHERE j.value = :label)"
            )
            params["label"] = query.label
        if query.flagged:
            decision_where.append("d.flagged = 1")
        if query.annotator or query.label or query.flagged:
            where.append(f"EXISTS (SELECT 1 FROM decisions d WHERE {' AND '.join(decision_where)})")
        condition = " AND ".join(where)
        with self.read() as conn:  # type: ignore[attr-defined]
            conn.create_function("cc_contains", 2, _contains, deterministic=True)
            total = int(
                conn.execute(f"SELECT COUNT(*) FROM passages p WHERE {condition}", params).fetchone()[0]
            )
            rows = conn.execute(
                "SELECT p.passage_id, p.doc_id, p.idx, p.title, p.heading, p.page, p.kind, p.n_words, p.text, "
                f"p.n_decided FROM passages p WHERE {condition} "
                "ORDER BY p.doc_id, p.idx, COALESCE(p.start_char, 0), p.seq LIMIT :limit OFFSET :offset",
                {**params, "limit": limit, "offset": query.offset},
            ).fetchall()
            ids = [r["passage_id"] for r in rows]
            decisions, gold = _decisions_for(conn, ids, viewer=viewer, reviewer=reviewer)
            documents = [
                {"doc_id": r[0], "title": r[1], "n_passages": int(r[2])}
                for r in conn.execute(
                    "SELECT doc_id, MAX(title), COUNT(*) FROM passages GROUP BY doc_id ORDER BY doc_id"
                )
            ]
            annotators = (
                [r[0] for r in conn.execute("SELECT name FROM annotators ORDER BY name")]
                if reviewer
                else [viewer]
            )
        items = [
            {
                "passage_id": r["passage_id"],
                "doc_id": r["doc_id"],
                "index": r["idx"],
                "title": r["title"],
                "heading": r["heading"],
                "page": r["page"],
                "kind": r["kind"],
                "n_words": r["n_words"],
                "text": r["text"],
                "n_coders": r["n_decided"],
                "decisions": decisions.get(r["passage_id"], []),
                **({"gold": gold.get(r["passage_id"])} if reviewer else {}),
            }
            for r in rows
        ]
        return {
            "total": total,
            "offset": query.offset,
            "limit": limit,
            "items": items,
            "documents": documents,
            "annotators": annotators,
        }


def _decisions_for(
    conn: sqlite3.Connection, ids: list[str], *, viewer: str, reviewer: bool
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]:
    """The visible decisions (and, for a reviewer, gold labels) of the listed passages."""
    decisions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    gold: dict[str, dict[str, Any]] = {}
    if not ids:
        return decisions, gold
    marks = ", ".join("?" * len(ids))
    sql = (
        "SELECT passage_id, annotator, labels, flagged, skipped, comment, lead_time, updated_at "
        f"FROM decisions WHERE passage_id IN ({marks})"
    )
    args: list[Any] = list(ids)
    if not reviewer:
        sql += " AND annotator = ?"
        args.append(viewer)
    for r in conn.execute(sql + " ORDER BY annotator", args):
        decisions[r["passage_id"]].append(
            {
                "annotator": r["annotator"],
                "labels": json.loads(r["labels"]),
                "flagged": bool(r["flagged"]),
                "skipped": bool(r["skipped"]),
                "comment": r["comment"],
                "lead_time": r["lead_time"],
                "updated_at": r["updated_at"],
            }
        )
    if reviewer:
        for r in conn.execute(
            f"SELECT passage_id, labels, reviewer FROM gold WHERE passage_id IN ({marks})", ids
        ):
            gold[r["passage_id"]] = {"labels": json.loads(r["labels"]), "reviewer": r["reviewer"]}
    return decisions, gold
