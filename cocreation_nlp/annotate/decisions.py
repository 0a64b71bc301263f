"""Decisions and gold labels, and their history: every version is kept, by one rule.

Annotators' decisions (``decisions``) and reviewers' gold labels (``gold``)
are versioned the same way, described once by a :class:`VersionedTable`: a
change makes the new values current (``revision`` + 1, ``updated_at`` = now)
and copies the replaced version into the history table, stamped with when it
was replaced; saving the same values again changes nothing. A version also
carries how long it took (``lead_time``), which is stored with it but is not
part of what makes a version new.
:func:`record_version` applies the rule to one change; importing records
(:mod:`.interchange`) rebuilds a key's whole history through the same
:func:`write_current` and :func:`insert_history`.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..agreement import agreement_summary, per_label_agreement
from ..errors import AnnotationError
from .adjudication import preselect
from .provenance import format_time, normalize_annotator, utc_now
from .records import HistoryEntry


@dataclass(frozen=True, slots=True)
class VersionedTable:
    """A table of current versions and its history table.

    Attributes:
        current: the table of current versions.
        history: the table of replaced versions.
        key: the columns that identify one versioned thing.
        fields: the versioned columns (a change in any of them is a new version).
        carried: columns stored with each version that do not make a new one
            (``lead_time``: saving the same answer again is no new version,
            however long it took).
    """

    current: str
    history: str
    key: tuple[str, ...]
    fields: tuple[str, ...]
    carried: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column a version has: the versioned ones, then the carried ones."""
        return (*self.fields, *self.carried)

    @property
    def where(self) -> str:
        """SQL condition selecting one key."""
        return " AND ".join(f"{k} = ?" for k in self.key)


DECISIONS = VersionedTable(
    "decisions",
    "decision_history",
    ("passage_id", "annotator"),
    ("labels", "comment", "flagged", "skipped", "codebook_version"),
    ("lead_time",),
)
GOLD = VersionedTable(
    "gold",
    "gold_history",
    ("passage_id",),
    ("labels", "reviewer", "comment", "flagged", "codebook_version"),
    ("lead_time",),
)


@dataclass(frozen=True, slots=True)
class Version:
    """One version of a decision or gold label, as merged on import (sortable by time).

    ``lead_time`` is carried along but is not part of a version's identity:
    the same version read from a file made before lead times were recorded
    is the same version, and a merge keeps the time where one side has it.
    """

    created_at: str
    labels: tuple[str, ...]
    comment: str
    flagged: bool
    skipped: bool
    codebook_version: str
    reviewer: str | None = None
    lead_time: float | None = field(default=None, compare=False)

    def values(self, table: VersionedTable) -> dict[str, Any]:
        """The version's values as stored in ``table``'s columns."""
        stored = {
            "labels": json.dumps(list(self.labels)),
            "comment": self.comment,
            "flagged": int(self.flagged),
            "skipped": int(self.skipped),
            "codebook_version": self.codebook_version,
            "reviewer": self.reviewer,
            "lead_time": self.lead_time,
        }
        return {f: stored[f] for f in table.columns}


def check_lead_time(value: float | None, where: str) -> float | None:
    """A lead time in seconds (finite, >= 0), or ``None`` when it was not measured.

    Example:
        >>> check_lead_time(2, "here"), check_lead_time(None, "here")
        (2.0, None)
    """
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise AnnotationError(f"{where}: lead_time must be a number of seconds >= 0, got {value!r}.")
    return seconds


def after(stamp: str) -> str:
    """The canonical timestamp one microsecond after ``stamp``.

    Example:
        >>> after("2024-05-01T10:00:00.000000Z")
        '2024-05-01T10:00:00.000001Z'
    """
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return format_time(moment + timedelta(microseconds=1))


def current_row(conn: sqlite3.Connection, table: VersionedTable, key: Sequence[Any]) -> sqlite3.Row | None:
    """The current version of ``key``, or ``None``."""
    return conn.execute(f"SELECT * FROM {table.current} WHERE {table.where}", tuple(key)).fetchone()


def insert_history(
    conn: sqlite3.Connection,
    table: VersionedTable,
    key: Sequence[Any],
    values: Mapping[str, Any],
    created_at: str,
    replaced_at: str,
) -> None:
    """Keep a replaced version of ``key`` (``values`` holds at least the table's version columns)."""
    cols = [*table.key, *table.columns, "created_at", "replaced_at"]
    conn.execute(
        f"INSERT INTO {table.history} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        [*key, *(values[f] for f in table.columns), created_at, replaced_at],
    )


def write_current(
    conn: sqlite3.Connection,
    table: VersionedTable,
    key: Sequence[Any],
    values: Mapping[str, Any],
    *,
    revision: int,
    created_at: str,
    updated_at: str,
    exists: bool,
) -> None:
    """Insert or overwrite the current version of ``key``."""
    data = {**{f: values[f] for f in table.columns}, "revision": revision, "created_at": created_at}
    data["updated_at"] = updated_at
    if exists:
        assignments = ", ".join(f"{c} = ?" for c in data)
        conn.execute(f"UPDATE {table.current} SET {assignments} WHERE {table.where}", [*data.values(), *key])
    else:
        cols = [*table.key, *data]
        conn.execute(
            f"INSERT INTO {table.current} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [*key, *data.values()],
        )


def record_version(
    conn: sqlite3.Connection, table: VersionedTable, key: Sequence[Any], values: Mapping[str, Any], now: str
) -> bool:
    """Make ``values`` the current version of ``key``, keeping the one it replaces; return whether anything changed."""
    old = current_row(conn, table, key)
    if old is None:
        write_current(conn, table, key, values, revision=1, created_at=now, updated_at=now, exists=False)
        return True
    if all(old[f] == values[f] for f in table.fields):
        return False
    # Keep versions in strict time order even when two saves fall in the same microsecond.
    stamp = max(now, after(old["updated_at"]))
    insert_history(conn, table, key, old, old["updated_at"], stamp)
    write_current(
        conn,
        table,
        key,
        values,
        revision=int(old["revision"]) + 1,
        created_at=old["created_at"],
        updated_at=stamp,
        exists=True,
    )
    return True


def count_decided(conn: sqlite3.Connection, passage_id: str) -> None:
    """Refresh the passage's count of non-skipped decisions, which the queue reads instead of counting."""
    conn.execute(
        "UPDATE passages SET n_decided = (SELECT COUNT(*) FROM decisions d WHERE d.passage_id = ? AND d.skipped = 0) "
        "WHERE passage_id = ?",
        (passage_id, passage_id),
    )


class DecisionsMixin:
    """Recording and reading decisions and gold labels (part of :class:`~.store.AnnotationStore`)."""

    def save_decision(
        self,
        passage_id: str,
        annotator: str,
        labels: Sequence[str],
        *,
        comment: str = "",
        flagged: bool = False,
        skipped: bool = False,
        lead_time: float | None = None,
    ) -> dict[str, Any]:
        """Record an annotator's decision on a passage; a second call corrects it.

        Saving the same decision twice (a double click, a retried request)
        changes nothing. A different decision replaces the current one and
        moves the earlier version into the history, stamped with when it was
        replaced.

        Args:
            passage_id: the passage.
            annotator: who decided.
            labels: the labels that apply (``[]``: none applies).
            comment: an optional note, e.g. why the case was hard.
            flagged: mark the passage for discussion with the reviewer.
            skipped: the annotator declines to decide; labels are ignored.
            lead_time: seconds this version took (measured by the browser,
                as Label Studio's ``lead_time``); kept with the version, so a
                correction's time does not overwrite the first answer's.
                Not part of what makes a decision "the same": saving the
                same answer again changes nothing, whatever the time.

        Returns:
            The current decision as a dict, with ``changed`` (whether anything
            was written) and ``revision`` (1 for a first decision).

        Raises:
            AnnotationError: for an unknown passage or label.
        """
        codebook = self.codebook  # type: ignore[attr-defined]
        clean_labels = list(codebook.validate_labels(list(labels), source=f"decision on {passage_id}"))
        name = normalize_annotator(annotator)
        now = utc_now()
        values = Version(
            now,
            tuple([] if skipped else clean_labels),
            comment.strip(),
            flagged,
            skipped,
            codebook.version,
            lead_time=check_lead_time(lead_time, f"decision on {passage_id}"),
        ).values(DECISIONS)
        with self.write() as conn:  # type: ignore[attr-defined]
            _require_passage(conn, passage_id)
            conn.execute(
                "INSERT INTO annotators (name, created_at, last_seen_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET last_seen_at = excluded.last_seen_at",
                (name, now, now),
            )
            changed = record_version(conn, DECISIONS, (passage_id, name), values, now)
            conn.execute("DELETE FROM leases WHERE passage_id = ? AND annotator = ?", (passage_id, name))
            if changed:
                count_decided(conn, passage_id)
            row = current_row(conn, DECISIONS, (passage_id, name))
        out = decision_dict(row)
        out["changed"] = changed
        return out

    def get_decision(self, passage_id: str, annotator: str) -> dict[str, Any] | None:
        """The annotator's current decision on the passage, with its history, or ``None``."""
        with self.read() as conn:  # type: ignore[attr-defined]
            row = conn.execute(
                "SELECT * FROM decisions WHERE passage_id = ? AND annotator = ?", (passage_id, annotator)
            ).fetchone()
            if row is None:
                return None
            out = decision_dict(row)
            out["history"] = [
                decision_dict(h)
                for h in conn.execute(
                    "SELECT * FROM decision_history WHERE passage_id = ? AND annotator = ? ORDER BY created_at, id",
                    (passage_id, annotator),
                )
            ]
        return out

    def recent_decisions(self, annotator: str, *, limit: int = 50) -> list[dict[str, Any]]:
        """The annotator's decisions, most recently changed first (for undo and back/forward)."""
        with self.read() as conn:  # type: ignore[attr-defined]
            rows = conn.execute(
                "SELECT * FROM decisions WHERE annotator = ? ORDER BY updated_at DESC, id DESC LIMIT ?",
                (annotator, limit),
            ).fetchall()
        return [decision_dict(r) for r in rows]

    def current_decisions(self, *, include_skipped: bool = False) -> list[dict[str, Any]]:
        """Every current decision (skips left out unless asked), ordered by passage and annotator."""
        where = "" if include_skipped else "WHERE skipped = 0"
        with self.read() as conn:  # type: ignore[attr-defined]
            rows = conn.execute(f"SELECT * FROM decisions {where} ORDER BY passage_id, annotator").fetchall()
        return [decision_dict(r) for r in rows]

    def set_gold(
        self,
        passage_id: str,
        labels: Sequence[str],
        reviewer: str,
        *,
        comment: str = "",
        flagged: bool = False,
        lead_time: float | None = None,
    ) -> dict[str, Any]:
        """Record the reviewer's adjudicated labels for a passage; a correction keeps the earlier one.

        ``lead_time`` is the seconds the reviewer spent on it (see :meth:`save_decision`).

        Raises:
            AnnotationError: for an unknown passage or label.
        """
        codebook = self.codebook  # type: ignore[attr-defined]
        clean_labels = list(codebook.validate_labels(list(labels), source=f"gold label for {passage_id}"))
        name = normalize_annotator(reviewer)
        now = utc_now()
        values = Version(
            now,
            tuple(clean_labels),
            comment.strip(),
            flagged,
            False,
            codebook.version,
            reviewer=name,
            lead_time=check_lead_time(lead_time, f"gold label for {passage_id}"),
        ).values(GOLD)
        with self.write() as conn:  # type: ignore[attr-defined]
            _require_passage(conn, passage_id)
            record_version(conn, GOLD, (passage_id,), values, now)
            row = current_row(conn, GOLD, (passage_id,))
        return gold_dict(row)

    def gold_labels(self) -> dict[str, dict[str, Any]]:
        """Every gold label by passage id."""
        with self.read() as conn:  # type: ignore[attr-defined]
            return {
                r["passage_id"]: gold_dict(r) for r in conn.execute("SELECT * FROM gold ORDER BY passage_id")
            }

    def agreement(self, *, n_boot: int = 1000, seed: int = 0, ci: float = 0.95) -> dict[str, Any]:
        """Per-label agreement over current, non-skipped decisions (see :mod:`cocreation_nlp.agreement`)."""
        decisions = [(d["passage_id"], d["annotator"], d["labels"]) for d in self.current_decisions()]
        rows = per_label_agreement(
            decisions, labels=self.codebook.label_names, n_boot=n_boot, seed=seed, ci=ci
        )
        per_item = Counter(d[0] for d in decisions)
        return {
            "codebook_version": self.codebook.version,
            "n_decisions": len(decisions),
            "n_shared_items": sum(1 for c in per_item.values() if c >= 2),
            "labels": rows,
            "summary": agreement_summary(rows),
            "n_boot": n_boot,
            "seed": seed,
            "ci": ci,
        }

    def disagreements(
        self, *, include_resolved: bool = False, include_flagged: bool = True
    ) -> list[dict[str, Any]]:
        """Passages whose annotators disagree (or that someone flagged), for the reviewer.

        Each item holds the passage, every annotator's decision and comment,
        the labels in dispute, the preselected labels (``suggestion``, by
        :func:`.adjudication.preselect`) and the gold label if one was set.
        Unresolved items come first.
        """
        with self.read() as conn:  # type: ignore[attr-defined]
            rows = conn.execute(
                "SELECT * FROM decisions WHERE skipped = 0 ORDER BY passage_id, annotator"
            ).fetchall()
            gold = {r["passage_id"]: gold_dict(r) for r in conn.execute("SELECT * FROM gold")}
        by_passage: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            by_passage[r["passage_id"]].append(decision_dict(r))
        out = []
        for passage_id, decisions in by_passage.items():
            label_sets = [frozenset(d["labels"]) for d in decisions]
            disputed = len(decisions) >= 2 and len(set(label_sets)) > 1
            flagged = any(d["flagged"] for d in decisions)
            if not (disputed or (include_flagged and flagged)):
                continue
            if passage_id in gold and not include_resolved:
                continue
            union = set().union(*label_sets)
            common = set.intersection(*map(set, label_sets))
            out.append(
                {
                    "passage": self.get_passage(passage_id),
                    "decisions": decisions,
                    "disputed_labels": [n for n in self.codebook.label_names if n in union - common],
                    "suggestion": preselect(label_sets, self.codebook.label_names),
                    "flagged": flagged,
                    "gold": gold.get(passage_id),
                }
            )
        out.sort(
            key=lambda item: (item["gold"] is not None, item["passage"]["doc_id"], item["passage"]["index"])
        )
        return out


def _require_passage(conn: sqlite3.Connection, passage_id: str) -> None:
    if conn.execute("SELECT 1 FROM passages WHERE passage_id = ?", (passage_id,)).fetchone() is None:
        raise AnnotationError(f"No passage {passage_id!r} in this project.")


def decision_dict(row: sqlite3.Row) -> dict[str, Any]:
    """A decision (current or history) row as a dict."""
    keys = row.keys()
    out = {
        "passage_id": row["passage_id"],
        "annotator": row["annotator"],
        "labels": json.loads(row["labels"]),
        "comment": row["comment"],
        "flagged": bool(row["flagged"]),
        "skipped": bool(row["skipped"]),
        "codebook_version": row["codebook_version"],
        "created_at": row["created_at"],
        "lead_time": row["lead_time"],
    }
    if "updated_at" in keys:
        out["updated_at"] = row["updated_at"]
        out["revision"] = row["revision"]
    if "replaced_at" in keys:
        out["replaced_at"] = row["replaced_at"]
    return out


def gold_dict(row: sqlite3.Row) -> dict[str, Any]:
    """A gold row as a dict."""
    return {
        "passage_id": row["passage_id"],
        "labels": json.loads(row["labels"]),
        "reviewer": row["reviewer"],
        "comment": row["comment"],
        "flagged": bool(row["flagged"]),
        "codebook_version": row["codebook_version"],
        "revision": row["revision"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "lead_time": row["lead_time"],
    }


def history_entry(row: sqlite3.Row) -> HistoryEntry:
    """A history row (decision or gold) as the record format's history entry."""
    keys = row.keys()
    return HistoryEntry(
        labels=json.loads(row["labels"]),
        created_at=row["created_at"],
        codebook_version=row["codebook_version"],
        comment=row["comment"],
        flagged=bool(row["flagged"]),
        skipped=bool(row["skipped"]) if "skipped" in keys else False,
        reviewer=row["reviewer"] if "reviewer" in keys else None,
        lead_time=row["lead_time"],
    )


def row_version(row: sqlite3.Row, *, current: bool = False) -> Version:
    """One stored version (a current row, or a history row) as a :class:`Version`."""
    keys = row.keys()
    return Version(
        created_at=row["updated_at"] if current else row["created_at"],
        labels=tuple(json.loads(row["labels"])),
        comment=row["comment"],
        flagged=bool(row["flagged"]),
        skipped=bool(row["skipped"]) if "skipped" in keys else False,
        codebook_version=row["codebook_version"],
        reviewer=row["reviewer"] if "reviewer" in keys else None,
        lead_time=row["lead_time"],
    )


# ---------------------------------------------------------------------- loading passages
