"""Moving annotations in and out of a project: export to records, import (merge) records.

The file formats themselves (JSONL, CSV, Label Studio JSON) are
:mod:`.records`; this module turns the store's rows into
:class:`~.records.AnnotationRecord` objects and merges records back in.
Merging pools the versions of a decision already in the store with those a
record carries, so importing is order-independent and idempotent; the
history is rewritten through the same helpers :mod:`.decisions` uses for a
single change.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AnnotationError
from ..types import fingerprint as text_fingerprint
from . import sampling
from .decisions import (
    DECISIONS,
    GOLD,
    Version,
    count_decided,
    current_row,
    history_entry,
    insert_history,
    row_version,
    write_current,
)
from .provenance import normalize_annotator, utc_now
from .records import AnnotationRecord, HistoryEntry, read_records
from .settings import stored_seed
from .units import count_words


@dataclass(slots=True)
class ImportResult:
    """What :meth:`AnnotationStore.import_records` did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    passages_added: int = 0
    gold: int = 0


class InterchangeMixin:
    """Exporting and importing records (part of :class:`~.store.AnnotationStore`)."""

    def export_records(
        self, *, decisions: bool = True, gold: bool = True, include_text: bool = True
    ) -> list[AnnotationRecord]:
        """Every current decision and/or gold label as records, with their history.

        Sorted by document, passage position, gold last, then annotator, so
        an export of the same data is byte-identical.
        """
        records: list[tuple[tuple[Any, ...], AnnotationRecord]] = []
        with self.read() as conn:  # type: ignore[attr-defined]
            passages = {r["passage_id"]: r for r in conn.execute("SELECT * FROM passages")}

            def base(pid: str) -> dict[str, Any]:
                p = passages[pid]
                return {
                    "doc_id": p["doc_id"],
                    "passage_id": pid,
                    "fingerprint": p["fingerprint"],
                    "start_char": p["start_char"],
                    "end_char": p["end_char"],
                    "text": p["text"] if include_text else None,
                }

            def sort_key(pid: str, is_gold: bool, who: str) -> tuple[Any, ...]:
                p = passages[pid]
                return (p["doc_id"], p["idx"], p["start_char"] or 0, p["seq"], is_gold, who)

            if decisions:
                history: dict[tuple[str, str], list[HistoryEntry]] = defaultdict(list)
                for h in conn.execute("SELECT * FROM decision_history ORDER BY created_at, id"):
                    history[(h["passage_id"], h["annotator"])].append(history_entry(h))
                for d in conn.execute("SELECT * FROM decisions"):
                    rec = AnnotationRecord(
                        **base(d["passage_id"]),
                        labels=json.loads(d["labels"]),
                        annotator=d["annotator"],
                        created_at=d["updated_at"],
                        codebook_version=d["codebook_version"],
                        comment=d["comment"],
                        flagged=bool(d["flagged"]),
                        skipped=bool(d["skipped"]),
                        lead_time=d["lead_time"],
                        history=history.get((d["passage_id"], d["annotator"]), []),
                    )
                    records.append((sort_key(d["passage_id"], False, d["annotator"]), rec))
            if gold:
                ghistory: dict[str, list[HistoryEntry]] = defaultdict(list)
                for h in conn.execute("SELECT * FROM gold_history ORDER BY created_at, id"):
                    ghistory[h["passage_id"]].append(history_entry(h))
                for g in conn.execute("SELECT * FROM gold"):
                    rec = AnnotationRecord(
                        **base(g["passage_id"]),
                        labels=json.loads(g["labels"]),
                        annotator=g["reviewer"],
                        created_at=g["updated_at"],
                        codebook_version=g["codebook_version"],
                        comment=g["comment"],
                        flagged=bool(g["flagged"]),
                        gold=True,
                        lead_time=g["lead_time"],
                        history=ghistory.get(g["passage_id"], []),
                    )
                    records.append((sort_key(g["passage_id"], True, g["reviewer"]), rec))
        records.sort(key=lambda item: item[0])
        return [rec for _, rec in records]

    def import_file(self, path: Path, *, fmt: str | None = None) -> ImportResult:
        """Read an annotation file (JSONL, CSV or Label Studio JSON) and merge it into the store."""
        records = read_records(path, fmt=fmt)  # type: ignore[arg-type]
        return self.import_records(records, source=str(path))

    def import_records(self, records: Iterable[AnnotationRecord], *, source: str = "records") -> ImportResult:
        """Merge records into the store in one transaction (all or nothing).

        Merging is order-independent and idempotent: the versions of a
        decision already in the store and those in the record (its history
        and itself) are pooled, de-duplicated and sorted by time; the latest
        becomes current and the rest its history. Importing the same file
        twice therefore changes nothing, and importing two annotators' files
        in either order gives the same database.

        A record for a passage the store lacks creates the passage when the
        record carries its text; otherwise it is refused.

        Raises:
            AnnotationError: naming the source and record number of a record
                whose passage is missing or whose text changed (fingerprint
                mismatch, e.g. after re-segmentation).
        """
        result = ImportResult()
        now = utc_now()
        with self.write() as conn:  # type: ignore[attr-defined]
            for n, rec in enumerate(records, start=1):
                where = f"{source}: record {n} ({rec.passage_id}, {rec.annotator})"
                row = conn.execute(
                    "SELECT fingerprint FROM passages WHERE passage_id = ?", (rec.passage_id,)
                ).fetchone()
                if row is None:
                    if rec.text is None:
                        raise AnnotationError(
                            f"{where}: passage not in this project and the record carries no text. "
                            "Add the corpus first (`cocreation annotate add`) or export with text."
                        )
                    fp = rec.fingerprint or text_fingerprint(rec.text)
                    conn.execute(
                        "INSERT INTO passages (passage_id, doc_id, idx, start_char, end_char, text, fingerprint, "
                        "n_words, overlap_key, rand_key, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            rec.passage_id,
                            rec.doc_id,
                            rec.start_char or 0,
                            rec.start_char,
                            rec.end_char,
                            rec.text,
                            fp,
                            count_words(rec.text),
                            sampling.overlap_key(rec.passage_id),
                            sampling.stable_unit(stored_seed(conn), rec.passage_id),
                            now,
                        ),
                    )
                    result.passages_added += 1
                elif rec.fingerprint and rec.fingerprint != row["fingerprint"]:
                    raise AnnotationError(
                        f"{where}: the passage text changed since this record was made "
                        f"(fingerprint {rec.fingerprint} in the record, {row['fingerprint']} in the project). "
                        "Re-segmentation moved it; re-label it rather than importing the old decision."
                    )
                name = normalize_annotator(rec.annotator)
                conn.execute(
                    "INSERT INTO annotators (name, created_at, last_seen_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (name) DO NOTHING",
                    (name, now, now),
                )
                outcome = _merge(conn, rec, name)
                if outcome != "unchanged" and not rec.gold:
                    count_decided(conn, rec.passage_id)
                setattr(result, outcome, getattr(result, outcome) + 1)
                if rec.gold:
                    result.gold += 1
        return result


def _merge(conn: sqlite3.Connection, rec: AnnotationRecord, name: str) -> str:
    """Merge one record's versions with the store's; return 'added', 'updated' or 'unchanged'."""
    reviewer = name if rec.gold else None
    incoming = [
        *(
            Version(
                h.created_at,
                tuple(h.labels),
                h.comment,
                h.flagged,
                h.skipped,
                h.codebook_version,
                (h.reviewer or reviewer) if rec.gold else None,
                h.lead_time,
            )
            for h in rec.history
        ),
        Version(
            rec.created_at,
            tuple(rec.labels),
            rec.comment,
            rec.flagged,
            rec.skipped,
            rec.codebook_version,
            reviewer,
            rec.lead_time,
        ),
    ]
    table = GOLD if rec.gold else DECISIONS
    key = (rec.passage_id,) if rec.gold else (rec.passage_id, name)
    cur = current_row(conn, table, key)
    old_hist = conn.execute(
        f"SELECT * FROM {table.history} WHERE {table.where} ORDER BY created_at, id", key
    ).fetchall()
    existing = [row_version(h) for h in old_hist] + (
        [row_version(cur, current=True)] if cur is not None else []
    )
    pooled: dict[Version, Version] = {}
    for v in [*existing, *incoming]:
        # Versions equal but for lead_time are one version; keep the time where one side has it.
        if pooled.get(v) is None or pooled[v].lead_time is None:
            pooled[v] = v
    merged = sorted(
        pooled.values(),
        key=lambda v: (v.created_at, v.labels, v.comment, v.flagged, v.skipped, v.reviewer or ""),
    )
    if cur is not None and [(v, v.lead_time) for v in merged] == [(v, v.lead_time) for v in existing]:
        return "unchanged"
    current, earlier = merged[-1], merged[:-1]
    conn.execute(f"DELETE FROM {table.history} WHERE {table.where}", key)
    for i, v in enumerate(earlier):
        insert_history(conn, table, key, v.values(table), v.created_at, merged[i + 1].created_at)
    values = current.values(table)
    if rec.gold:
        values["reviewer"] = current.reviewer or name
    write_current(
        conn,
        table,
        key,
        values,
        revision=len(merged),
        created_at=merged[0].created_at,
        updated_at=current.created_at,
        exists=cur is not None,
    )
    return "added" if cur is None else "updated"
