"""The labelling queue: which passage an annotator gets next, leases, progress and model predictions.

Ranking is :mod:`.sampling`'s job (pure functions over candidates); this
module fetches the candidates with SQL and holds the chosen passage for its
annotator. For strategies whose order SQL can reproduce
(:data:`.sampling.ORDER_TERMS`) the query sorts by the same named terms
(:data:`SQL_TERMS` says what each is in SQL) and returns only the first
rows; the order itself is declared once, in :mod:`.sampling`. Only labelling
units are handed out: headings, tables and passages under the project's
``min_words`` stay in the project but out of the queue (:mod:`.units`).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import AnnotationError, InputError
from ..tables import read_rows
from . import sampling
from .provenance import format_time, normalize_annotator, utc_now
from .units import unit_params, unit_sql

_MAX_HANDOUT_ATTEMPTS = 50

SQL_TERMS: Mapping[str, str] = {
    "order": "p.rand_key",
    "passage_id": "p.passage_id",
    "margin": "margin IS NULL, margin",
    "doc_share": "CAST(ds.coded AS REAL) / ds.total",
    "doc_coded": "ds.coded",
    "doc_key": "ds.doc_key",
}
"""Each sort term of :data:`.sampling.ORDER_TERMS` as SQL over the candidate query."""


def sql_order(strategy: str) -> str | None:
    """The ``ORDER BY`` list of ``strategy``, or ``None`` when SQL cannot reproduce its order.

    Example:
        >>> sql_order("random")
        'p.rand_key, p.passage_id'
        >>> sql_order("rare_label") is None
        True
    """
    terms = sampling.ORDER_TERMS.get(strategy)
    return None if terms is None else ", ".join(SQL_TERMS[t] for t in terms)


class QueueMixin:
    """Handing out passages (part of :class:`~.store.AnnotationStore`)."""

    def next_passage(self, annotator: str, *, strategy: str | None = None) -> tuple[str | None, str]:
        """Hand the annotator the next passage to label and hold it for them.

        The annotator gets back a passage they already hold (a reload shows
        the same passage), or a new one chosen by the strategy among the
        passages they have not decided and that still need a coder.

        The choice is made on a read snapshot, without holding the write
        lock; the lease is then taken in a short write transaction that
        checks again that the passage is still free. If a colleague took it
        in between, the choice is made again. Two annotators asking at once
        therefore never get the same single-coded passage, and hand-out does
        not serialise on the ranking work.

        Returns:
            ``(passage_id, strategy_used)``; ``passage_id`` is ``None`` when
            nothing is left for this annotator.
        """
        settings = self.get_settings()
        strategy = strategy or settings["strategy"]
        if strategy not in sampling.STRATEGIES:
            raise AnnotationError(
                f"Unknown strategy {strategy!r}. Available: {', '.join(sampling.STRATEGIES)}."
            )
        name = normalize_annotator(annotator)
        for _ in range(_MAX_HANDOUT_ATTEMPTS):
            now_dt = datetime.now(UTC)
            now = format_time(now_dt)
            expires = format_time(now_dt + timedelta(minutes=int(settings["lease_minutes"])))
            held = self._held(name, now, expires)
            if held is not None:
                return held, strategy
            with self.read() as conn:  # type: ignore[attr-defined]
                cands = self._candidates(conn, name, settings, now, strategy=strategy)
                ctx = self._queue_context(conn, settings, strategy) if cands else sampling.QueueContext()
            chosen, used = sampling.choose(cands, ctx, strategy)
            if chosen is None:
                return None, strategy
            with self.write() as conn:  # type: ignore[attr-defined]
                if self._still_free(conn, chosen.passage_id, name, settings, now):
                    conn.execute(
                        "INSERT INTO leases (passage_id, annotator, expires_at) VALUES (?, ?, ?) "
                        "ON CONFLICT (passage_id, annotator) DO UPDATE SET expires_at = excluded.expires_at",
                        (chosen.passage_id, name, expires),
                    )
                    return chosen.passage_id, used
        raise AnnotationError(  # pragma: no cover - needs a colleague to win every race in a row
            "Could not hand out a passage: colleagues took every choice first. Try again."
        )

    def _held(self, name: str, now: str, expires: str) -> str | None:
        """Extend and return a passage the annotator holds and has not decided, if any."""
        with self.write() as conn:  # type: ignore[attr-defined]
            conn.execute("DELETE FROM leases WHERE expires_at < ?", (now,))
            held = conn.execute(
                "SELECT l.passage_id FROM leases l WHERE l.annotator = ? AND NOT EXISTS "
                "(SELECT 1 FROM decisions d WHERE d.passage_id = l.passage_id AND d.annotator = l.annotator) "
                "ORDER BY l.expires_at LIMIT 1",
                (name,),
            ).fetchone()
            if held is None:
                return None
            conn.execute(
                "UPDATE leases SET expires_at = ? WHERE passage_id = ? AND annotator = ?",
                (expires, held[0], name),
            )
            return str(held[0])

    def release(self, annotator: str) -> None:
        """Give back the passages the annotator holds (on sign-out)."""
        with self.write() as conn:  # type: ignore[attr-defined]
            conn.execute("DELETE FROM leases WHERE annotator = ?", (annotator,))

    # Leases other annotators hold now, per passage (few rows: one per active annotator).
    _LEASES_SQL = (
        "(SELECT passage_id, COUNT(*) AS n FROM leases WHERE annotator <> :name AND expires_at >= :now "
        "GROUP BY passage_id)"
    )
    # Coders a passage has besides this annotator: non-skipped decisions (passages this annotator
    # decided are excluded by _OPEN_SQL, so the counter holds only others') plus live leases.
    _N_CODED_SQL = "(p.n_decided + COALESCE(l.n, 0))"
    # How many coders the passage needs: the overlap share (by its stable key) needs more than one.
    _TARGET_SQL = "(CASE WHEN p.overlap_key < :share THEN :coders ELSE 1 END)"
    # Headings, tables and passages under the minimum length are not served (see .units).
    _OPEN_SQL = (
        f"NOT EXISTS (SELECT 1 FROM decisions d WHERE d.passage_id = p.passage_id AND d.annotator = :name) "
        f"AND {_N_CODED_SQL} < {_TARGET_SQL} AND {unit_sql('p')}"
    )
    _FROM_SQL = f"FROM passages p LEFT JOIN {_LEASES_SQL} l ON l.passage_id = p.passage_id"
    _DOC_STATS_SQL = (
        "(SELECT doc_id, COUNT(*) AS total, SUM(n_decided > 0) AS coded, MIN(rand_key) AS doc_key "
        f"FROM passages u WHERE {unit_sql('u')} GROUP BY doc_id)"
    )
    _SQL_LIMIT = 32

    @staticmethod
    def _queue_params(name: str, settings: dict[str, Any], now: str) -> dict[str, Any]:
        return {
            "name": name,
            "now": now,
            "share": float(settings["overlap"]),
            "coders": max(2, int(settings["overlap_coders"])),
            **unit_params(settings),
        }

    def _candidates(
        self,
        conn: sqlite3.Connection,
        name: str,
        settings: dict[str, Any],
        now: str,
        *,
        strategy: str = "random",
    ) -> list[sampling.Candidate]:
        """Passages the annotator may get: not decided by them, and still short of coders.

        For the strategies in :data:`.sampling.ORDER_TERMS` the query already sorts in the
        strategy's own order (started overlap passages first) and returns
        only the first rows, so that choosing stays cheap on large projects;
        :func:`sampling.choose` then picks among them by the same key.
        """
        margin = (
            "(SELECT MIN(ABS(pr.prob - pr.threshold)) FROM predictions pr WHERE pr.passage_id = p.passage_id)"
            if strategy == "uncertainty"
            else "NULL"
        )
        sql = (
            f"SELECT p.passage_id, p.doc_id, p.idx, {self._N_CODED_SQL} AS n_coded, {margin} AS margin, p.rand_key "
            f"{self._FROM_SQL}"
        )
        order = sql_order(strategy)
        if strategy == "coverage":
            sql += f" JOIN {self._DOC_STATS_SQL} ds ON ds.doc_id = p.doc_id"
        sql += f" WHERE {self._OPEN_SQL}"
        if order is not None:
            sql += f" ORDER BY ({self._N_CODED_SQL} = 0), {order} LIMIT {self._SQL_LIMIT}"
        rows = conn.execute(sql, self._queue_params(name, settings, now)).fetchall()
        probs: dict[str, dict[str, float]] = defaultdict(dict)
        if strategy == "rare_label":
            for r in conn.execute("SELECT passage_id, label, prob FROM predictions"):
                probs[r[0]][r[1]] = float(r[2])
        return [
            sampling.Candidate(
                passage_id=r[0],
                doc_id=r[1],
                index=int(r[2]),
                n_coded=int(r[3]),
                margin=None if r[4] is None else float(r[4]),
                probs=probs.get(r[0], {}),
                order_key=float(r[5]),
            )
            for r in rows
        ]

    def _still_free(
        self, conn: sqlite3.Connection, passage_id: str, name: str, settings: dict[str, Any], now: str
    ) -> bool:
        row = conn.execute(
            f"SELECT 1 {self._FROM_SQL} WHERE p.passage_id = :pid AND {self._OPEN_SQL}",
            {**self._queue_params(name, settings, now), "pid": passage_id},
        ).fetchone()
        return row is not None

    def _queue_context(
        self, conn: sqlite3.Connection, settings: dict[str, Any], strategy: str
    ) -> sampling.QueueContext:
        """What the strategy needs to know about the project (only what it needs)."""
        if strategy not in {"coverage", "rare_label"}:
            return sampling.QueueContext(seed=int(settings["seed"]), labels=self.codebook.label_names)
        doc_total: dict[str, int] = {}
        doc_coded: dict[str, int] = {}
        doc_keys: dict[str, float] = {}
        stats = conn.execute(
            f"SELECT doc_id, total, coded, doc_key FROM {self._DOC_STATS_SQL}", unit_params(settings)
        )
        for r in stats:
            doc_total[r[0]], doc_coded[r[0]], doc_keys[r[0]] = int(r[1]), int(r[2]), float(r[3])
        label_counts: Counter[str] = Counter()
        labelled: dict[str, list[tuple[int, frozenset[str]]]] = defaultdict(list)
        n_decided = 0
        if strategy == "rare_label":
            for r in conn.execute(
                "SELECT p.doc_id, p.idx, d.labels FROM decisions d JOIN passages p ON p.passage_id = d.passage_id "
                "WHERE d.skipped = 0"
            ):
                applied = frozenset(json.loads(r[2]))
                label_counts.update(applied)
                n_decided += 1
                if applied:
                    labelled[r[0]].append((int(r[1]), applied))
        return sampling.QueueContext(
            seed=int(settings["seed"]),
            doc_total=doc_total,
            doc_coded=doc_coded,
            label_counts=dict(label_counts),
            n_decided=n_decided,
            labelled=dict(labelled),
            labels=self.codebook.label_names,
            doc_keys=doc_keys,
        )

    def progress(self, annotator: str) -> dict[str, Any]:
        """The annotator's progress: decided, skipped, flagged and what is left for them.

        ``remaining`` counts passages that still need this annotator now; it
        can shrink as colleagues label, so the bar is ``done / (done + remaining)``.
        """
        settings = self.get_settings()
        name = normalize_annotator(annotator)
        with self.read() as conn:  # type: ignore[attr-defined]
            mine = conn.execute(
                "SELECT COALESCE(SUM(skipped = 0), 0), COALESCE(SUM(skipped = 1), 0), COALESCE(SUM(flagged = 1), 0) "
                "FROM decisions WHERE annotator = ?",
                (name,),
            ).fetchone()
            remaining = int(
                conn.execute(
                    f"SELECT COUNT(*) {self._FROM_SQL} WHERE {self._OPEN_SQL}",
                    self._queue_params(name, settings, utc_now()),
                ).fetchone()[0]
            )
            # Project totals count the passages that are served (labelling units).
            units = unit_params(settings)
            total = int(
                conn.execute(f"SELECT COUNT(*) FROM passages p WHERE {unit_sql('p')}", units).fetchone()[0]
            )
            labelled = int(
                conn.execute(
                    f"SELECT COUNT(*) FROM passages p WHERE p.n_decided > 0 AND {unit_sql('p')}", units
                ).fetchone()[0]
            )
        done, skipped = int(mine[0]), int(mine[1])
        return {
            "annotator": name,
            "done": done,
            "skipped": skipped,
            "flagged": int(mine[2]),
            "remaining": remaining,
            "share": (done + skipped) / (done + skipped + remaining) if done + skipped + remaining else 1.0,
            "project_passages": total,
            "project_labelled": labelled,
        }

    def add_predictions(
        self, rows: Iterable[tuple[str, str, float, float] | tuple[str, str, float, float, str]]
    ) -> int:
        """Store model probabilities ``(passage_id, label, prob, threshold[, model_id])``; replaces old ones.

        Raises:
            AnnotationError: for an unknown label or a probability outside [0, 1].
        """
        n = 0
        with self.write() as conn:  # type: ignore[attr-defined]
            for row in rows:
                passage_id, label, prob, threshold = row[:4]
                model_id = row[4] if len(row) > 4 else ""  # type: ignore[misc]
                self.codebook.label(label)
                if not (0.0 <= float(prob) <= 1.0 and 0.0 <= float(threshold) <= 1.0):
                    raise AnnotationError(
                        f"Prediction for {passage_id!r}/{label}: probability and threshold must be in [0, 1]; "
                        f"got {prob} and {threshold}."
                    )
                conn.execute(
                    "INSERT INTO predictions (passage_id, label, prob, threshold, model_id) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (passage_id, label) DO UPDATE SET prob = excluded.prob, "
                    "threshold = excluded.threshold, model_id = excluded.model_id",
                    (passage_id, label, float(prob), float(threshold), str(model_id)),
                )
                n += 1
        return n

    def load_predictions(self, path: Path, *, default_threshold: float = 0.5) -> int:
        """Load a predictions table (CSV or JSONL) with passage_id, label, prob (or score) and optional threshold.

        Accepts a long table (``passage_id, label, prob``) and the wide
        ``passages.csv`` of ``cocreation score`` (``passage_id`` plus one
        ``L_prob`` column per label).

        Raises:
            InputError: when the file lacks the needed columns.
        """
        rows = list(read_rows(path))
        labels = self.codebook.label_names
        if rows and "label" not in rows[0] and all(f"{lab}_prob" in rows[0] for lab in labels):
            # The wide tables of `cocreation score` (passages.csv) and `cocreation classify`:
            # one column L_prob per label; rows without a prediction (out of scope) are skipped.
            rows = [
                {
                    "passage_id": r.get("passage_id"),
                    "label": lab,
                    "prob": r[f"{lab}_prob"],
                    "model_id": r.get("model_id", ""),
                }
                for r in rows
                for lab in labels
                if r.get(f"{lab}_prob") not in (None, "")
            ]
        out = []
        for n, row in enumerate(rows, start=1):
            prob = row.get("prob", row.get("score", row.get("probability")))
            if row.get("passage_id") in (None, "") or row.get("label") in (None, "") or prob in (None, ""):
                raise InputError(
                    str(path),
                    f"row {n} lacks passage_id, label or prob/score. A predictions file needs columns "
                    "passage_id, label, prob (or score) and optionally threshold and model_id.",
                    kind="bad-columns",
                )
            threshold = row.get("threshold")
            try:
                out.append(
                    (
                        str(row["passage_id"]),
                        str(row["label"]),
                        float(prob),
                        float(threshold) if threshold not in (None, "") else default_threshold,
                        str(row.get("model_id") or ""),
                    )
                )
            except (TypeError, ValueError) as err:
                raise InputError(str(path), f"row {n}: prob and threshold must be numbers ({err})") from err
        return self.add_predictions(out)
