"""The annotation store of record: one SQLite database (WAL mode) per annotation project.

Several annotators write at once through the web app. SQLite in WAL mode lets
readers go on while one writer commits; every write here runs in a
``BEGIN IMMEDIATE`` transaction, which takes the write lock up front so two
writers queue on the busy timeout instead of failing half-way with
"database is locked"; and a ``UNIQUE (passage_id, annotator)`` constraint
means a double click or a retried request can never make two current
decisions. A correction updates the current row and copies the earlier
version into ``decision_history``: nothing an annotator decided is ever lost.

Each thread gets its own connection (``sqlite3`` connections must not be
shared between threads), so the store can be used from the web server's
thread pool as well as from scripts.

Tables:

``passages``
    what is labelled: ids, offsets, fingerprint, text and the context the
    labelling view shows (document title, heading, page).
``annotators``
    who signed in, and when.
``decisions``
    one current row per passage x annotator: labels (JSON list in codebook
    order), comment, flagged, skipped, codebook version, created/updated.
``decision_history``
    earlier versions of corrected decisions.
``gold`` / ``gold_history``
    adjudicated labels with the reviewer who decided.
``predictions``
    model probabilities and thresholds, for the uncertainty queue.
``leases``
    which passage the queue has just handed to whom, so that two annotators
    asking at once are not given the same single-coded passage.
``settings``
    project settings (:data:`SETTINGS`), as JSON values.
``meta``
    schema version and the secret that signs session cookies.
"""

from __future__ import annotations

import csv
import json
import logging
import secrets
import sqlite3
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..codebook import load_codebook
from ..errors import AnnotationError, InputError
from ..types import fingerprint as text_fingerprint
from . import sampling
from .records import AnnotationRecord, HistoryEntry, clean_name, format_time, read_records, utc_now

__all__ = [
    "SETTINGS",
    "AddResult",
    "AnnotationRecord",
    "AnnotationStore",
    "ImportResult",
    "PassageRow",
    "Setting",
]

log = logging.getLogger(__name__)

STORE_SCHEMA_VERSION = 1
_MAX_HANDOUT_ATTEMPTS = 50

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS passages (
    seq INTEGER PRIMARY KEY,
    passage_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL,
    idx INTEGER NOT NULL DEFAULT 0,
    start_char INTEGER,
    end_char INTEGER,
    text TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    heading TEXT NOT NULL DEFAULT '',
    page INTEGER,
    context TEXT NOT NULL DEFAULT '',
    overlap_key REAL NOT NULL,
    rand_key REAL NOT NULL,
    n_decided INTEGER NOT NULL DEFAULT 0,
    added_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages (doc_id, idx);
CREATE TABLE IF NOT EXISTS annotators (
    name TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY,
    passage_id TEXT NOT NULL REFERENCES passages (passage_id),
    annotator TEXT NOT NULL REFERENCES annotators (name),
    labels TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    flagged INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    codebook_version TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (passage_id, annotator)
);
CREATE INDEX IF NOT EXISTS decisions_annotator ON decisions (annotator, updated_at);
CREATE TABLE IF NOT EXISTS decision_history (
    id INTEGER PRIMARY KEY,
    passage_id TEXT NOT NULL,
    annotator TEXT NOT NULL,
    labels TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    flagged INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    codebook_version TEXT NOT NULL,
    created_at TEXT NOT NULL,
    replaced_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decision_history_key ON decision_history (passage_id, annotator, created_at);
CREATE TABLE IF NOT EXISTS gold (
    passage_id TEXT PRIMARY KEY REFERENCES passages (passage_id),
    labels TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    flagged INTEGER NOT NULL DEFAULT 0,
    codebook_version TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS gold_history (
    id INTEGER PRIMARY KEY,
    passage_id TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    labels TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    flagged INTEGER NOT NULL DEFAULT 0,
    codebook_version TEXT NOT NULL,
    created_at TEXT NOT NULL,
    replaced_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS predictions (
    passage_id TEXT NOT NULL,
    label TEXT NOT NULL,
    prob REAL NOT NULL,
    threshold REAL NOT NULL DEFAULT 0.5,
    model_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (passage_id, label)
);
CREATE TABLE IF NOT EXISTS leases (
    passage_id TEXT NOT NULL,
    annotator TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (passage_id, annotator)
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Setting:
    """A project setting: its name, default and the help text shown in the app and CLI."""

    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("strategy", "random", "Queue strategy: random, coverage, uncertainty or rare_label."),
    Setting("overlap", 0.2, "Share of passages (0-1) that a second annotator also labels, for agreement."),
    Setting("overlap_coders", 2, "How many annotators label each passage in the overlap share."),
    Setting("seed", 0, "Seed of the stable random order, so a queue can be reproduced."),
    Setting(
        "lease_minutes",
        30,
        "How long a handed-out passage is held for its annotator before others may get it.",
    ),
    Setting("reviewers", [], "Names allowed to adjudicate; empty means every signed-in annotator may."),
)
"""The declared project settings (datasette-style ``(name, default, help)``)."""

_SETTING_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True, slots=True)
class PassageRow:
    """A passage as the store keeps it, with the context the labelling view shows."""

    passage_id: str
    doc_id: str
    text: str
    index: int = 0
    start_char: int | None = None
    end_char: int | None = None
    fingerprint: str = ""
    title: str = ""
    heading: str = ""
    page: int | None = None
    context: str = ""


@dataclass(slots=True)
class AddResult:
    """What :meth:`AnnotationStore.add_passages` did."""

    added: int = 0
    unchanged: int = 0
    conflicts: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ImportResult:
    """What :meth:`AnnotationStore.import_records` did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    passages_added: int = 0
    gold: int = 0


@dataclass(frozen=True, slots=True)
class _Version:
    """One version of a decision, as merged on import (sortable by time)."""

    created_at: str
    labels: tuple[str, ...]
    comment: str
    flagged: bool
    skipped: bool
    codebook_version: str
    reviewer: str | None = None


def normalize_annotator(name: str) -> str:
    """Return a clean annotator name (see :func:`.records.clean_name`), or raise :class:`AnnotationError`.

    Example:
        >>> normalize_annotator("  Ada ")
        'Ada'
    """
    try:
        return clean_name(name)
    except ValueError as err:
        raise AnnotationError(f"Annotator {err}.") from None


class AnnotationStore:
    """A SQLite annotation project, safe to use from many threads at once.

    Args:
        path: the database file; created with its tables if missing.
        busy_timeout_s: how long a writer waits for the lock before failing.

    Example:
        >>> import tempfile, pathlib
        >>> store = AnnotationStore(pathlib.Path(tempfile.mkdtemp()) / "project.db")
        >>> store.add_passages([PassageRow("d:0-5", "d", "Hello")]).added
        1
        >>> store.save_decision("d:0-5", "ada", ["individual"])["labels"]
        ['individual']
    """

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self.codebook = load_codebook()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._write_lock = threading.RLock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.write() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(STORE_SCHEMA_VERSION),))
                conn.execute("INSERT INTO meta VALUES ('secret', ?)", (secrets.token_hex(32),))
                conn.execute("INSERT INTO meta VALUES ('created_at', ?)", (utc_now(),))
            elif int(row[0]) != STORE_SCHEMA_VERSION:
                raise AnnotationError(
                    f"{self.path}: annotation database schema version {row[0]} is not supported; "
                    f"this release reads version {STORE_SCHEMA_VERSION}. Export it with the release that made it."
                )

    # ------------------------------------------------------------------ connections

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # isolation_level=None: we issue BEGIN ourselves, so each write can be
            # BEGIN IMMEDIATE (take the write lock first, then read and write).
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL is durable across application crashes in WAL mode; only an
            # OS crash or power cut can roll back the last transactions.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the database write lock from its start.

        Readers in other threads keep reading the last committed state (WAL);
        other writers wait up to ``busy_timeout_s``.
        """
        conn = self._conn()
        # Writers of this process queue on a lock and are woken at once; only
        # writers from other processes wait on SQLite's busy handler, whose
        # sleeps (up to 100 ms each) would otherwise throttle a busy server.
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot for several queries."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection this store opened (from any thread)."""
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.ProgrammingError:  # opened in a thread that is gone
                    pass
            self._all.clear()
        self._local = threading.local()

    def secret(self) -> str:
        """The per-project secret that signs session cookies."""
        with self.read() as conn:
            return str(conn.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()[0])

    # ------------------------------------------------------------------ settings

    def get_settings(self) -> dict[str, Any]:
        """All settings, defaults filled in."""
        with self.read() as conn:
            stored = {
                r["key"]: json.loads(r["value"]) for r in conn.execute("SELECT key, value FROM settings")
            }
        return {s.name: stored.get(s.name, s.default) for s in SETTINGS}

    def get_setting(self, name: str) -> Any:
        """One setting's value."""
        return self.get_settings()[self._setting(name).name]

    def set_settings(self, **values: Any) -> dict[str, Any]:
        """Validate and store settings; return all settings.

        Raises:
            AnnotationError: for an unknown name or a value out of range.
        """
        clean = {name: self._validate_setting(name, value) for name, value in values.items()}
        with self.write() as conn:
            if "seed" in clean and clean["seed"] != _seed(conn):
                # The stable random order depends on the seed: re-key every passage.
                ids = [r[0] for r in conn.execute("SELECT passage_id FROM passages")]
                conn.executemany(
                    "UPDATE passages SET rand_key = ? WHERE passage_id = ?",
                    [(sampling.stable_unit(clean["seed"], pid), pid) for pid in ids],
                )
            for name, value in clean.items():
                conn.execute(
                    "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (name, json.dumps(value)),
                )
        return self.get_settings()

    @staticmethod
    def _setting(name: str) -> Setting:
        try:
            return _SETTING_BY_NAME[name]
        except KeyError:
            raise AnnotationError(
                f"Unknown setting {name!r}. Available: {', '.join(_SETTING_BY_NAME)}."
            ) from None

    def _validate_setting(self, name: str, value: Any) -> Any:
        self._setting(name)
        if name == "strategy":
            if value not in sampling.STRATEGIES:
                raise AnnotationError(
                    f"Unknown strategy {value!r}. Available: {', '.join(sampling.STRATEGIES)}."
                )
            return value
        if name == "overlap":
            try:
                share = float(value)
            except (TypeError, ValueError):
                share = -1.0
            if not 0.0 <= share <= 1.0:
                raise AnnotationError(
                    f"The 'overlap' setting must be a share between 0 and 1. Got {value!r} instead."
                )
            return share
        if name in {"overlap_coders", "seed", "lease_minutes"}:
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise AnnotationError(
                    f"The {name!r} setting must be an integer. Got {value!r} instead."
                ) from None
            low = {"overlap_coders": 2, "seed": 0, "lease_minutes": 1}[name]
            if number < low:
                raise AnnotationError(f"The {name!r} setting must be >= {low}. Got {number} instead.")
            return number
        if name == "reviewers":
            if isinstance(value, str):
                value = [v for v in value.split(",") if v.strip()]
            if not isinstance(value, list):
                raise AnnotationError(
                    f"The 'reviewers' setting must be a list of names. Got {value!r} instead."
                )
            return sorted({normalize_annotator(str(v)) for v in value})
        return value  # pragma: no cover - every declared setting is handled above

    def is_reviewer(self, name: str) -> bool:
        """Whether ``name`` may adjudicate (everyone, when no reviewers are set)."""
        reviewers = self.get_setting("reviewers")
        return not reviewers or name in reviewers

    # ------------------------------------------------------------------ passages

    def add_passages(self, passages: Iterable[PassageRow]) -> AddResult:
        """Add passages; a passage already present with the same text is left alone.

        A passage id that is present with *different* text is a conflict: the
        earlier text may already have decisions, so it is reported, not
        overwritten.
        """
        result = AddResult()
        now = utc_now()
        with self.write() as conn:
            seed = _seed(conn)
            for p in passages:
                if not p.text.strip():
                    result.failures.append(f"{p.passage_id}: empty text")
                    continue
                fp = p.fingerprint or text_fingerprint(p.text)
                row = conn.execute(
                    "SELECT fingerprint FROM passages WHERE passage_id = ?", (p.passage_id,)
                ).fetchone()
                if row is not None:
                    if row["fingerprint"] == fp:
                        result.unchanged += 1
                    else:
                        result.conflicts.append(p.passage_id)
                    continue
                conn.execute(
                    "INSERT INTO passages (passage_id, doc_id, idx, start_char, end_char, text, fingerprint, "
                    "title, heading, page, context, overlap_key, rand_key, added_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        p.passage_id,
                        p.doc_id,
                        p.index,
                        p.start_char,
                        p.end_char,
                        p.text,
                        fp,
                        p.title,
                        p.heading,
                        p.page,
                        p.context,
                        sampling.overlap_key(p.passage_id),
                        sampling.stable_unit(seed, p.passage_id),
                        now,
                    ),
                )
                result.added += 1
        return result

    def count_passages(self) -> int:
        """Number of passages in the project."""
        with self.read() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0])

    def passage_ids(self) -> list[str]:
        """All passage ids in insertion order."""
        with self.read() as conn:
            return [r[0] for r in conn.execute("SELECT passage_id FROM passages ORDER BY seq")]

    def get_passage(self, passage_id: str, *, with_neighbours: bool = True) -> dict[str, Any]:
        """A passage as a dict, with the text of the passages before and after it in its document.

        Raises:
            AnnotationError: when the passage does not exist.
        """
        with self.read() as conn:
            row = conn.execute("SELECT * FROM passages WHERE passage_id = ?", (passage_id,)).fetchone()
            if row is None:
                raise AnnotationError(f"No passage {passage_id!r} in this project.")
            out = _passage_dict(row)
            if with_neighbours:
                order = "idx, COALESCE(start_char, 0), seq"
                siblings = conn.execute(
                    f"SELECT passage_id, text, heading FROM passages WHERE doc_id = ? ORDER BY {order}",
                    (row["doc_id"],),
                ).fetchall()
                ids = [s["passage_id"] for s in siblings]
                at = ids.index(passage_id)
                out["before"] = siblings[at - 1]["text"] if at > 0 else None
                out["after"] = siblings[at + 1]["text"] if at + 1 < len(siblings) else None
                out["doc_position"] = at + 1
                out["doc_passages"] = len(siblings)
        return out

    # ------------------------------------------------------------------ annotators

    def touch_annotator(self, name: str) -> str:
        """Register ``name`` (or update when it was last seen); return the clean name."""
        clean = normalize_annotator(name)
        now = utc_now()
        with self.write() as conn:
            conn.execute(
                "INSERT INTO annotators (name, created_at, last_seen_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET last_seen_at = excluded.last_seen_at",
                (clean, now, now),
            )
        return clean

    def annotators(self) -> list[dict[str, Any]]:
        """Every annotator with their number of decisions."""
        with self.read() as conn:
            rows = conn.execute(
                "SELECT a.name, a.created_at, a.last_seen_at, "
                "(SELECT COUNT(*) FROM decisions d WHERE d.annotator = a.name AND d.skipped = 0) AS n_decisions, "
                "(SELECT COUNT(*) FROM decisions d WHERE d.annotator = a.name AND d.skipped = 1) AS n_skipped "
                "FROM annotators a ORDER BY a.name"
            ).fetchall()
        return [dict(r) for r in rows]

    # ------------------------------------------------------------------ decisions

    def save_decision(
        self,
        passage_id: str,
        annotator: str,
        labels: Sequence[str],
        *,
        comment: str = "",
        flagged: bool = False,
        skipped: bool = False,
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

        Returns:
            The current decision as a dict, with ``changed`` (whether anything
            was written) and ``revision`` (1 for a first decision).

        Raises:
            AnnotationError: for an unknown passage or label.
        """
        clean_labels = list(self.codebook.validate_labels(list(labels), source=f"decision on {passage_id}"))
        if skipped:
            clean_labels = []
        name = normalize_annotator(annotator)
        comment = comment.strip()
        now = utc_now()
        version = self.codebook.version
        with self.write() as conn:
            if conn.execute("SELECT 1 FROM passages WHERE passage_id = ?", (passage_id,)).fetchone() is None:
                raise AnnotationError(f"No passage {passage_id!r} in this project.")
            conn.execute(
                "INSERT INTO annotators (name, created_at, last_seen_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET last_seen_at = excluded.last_seen_at",
                (name, now, now),
            )
            old = conn.execute(
                "SELECT * FROM decisions WHERE passage_id = ? AND annotator = ?", (passage_id, name)
            ).fetchone()
            changed = True
            if old is None:
                conn.execute(
                    "INSERT INTO decisions (passage_id, annotator, labels, comment, flagged, skipped, "
                    "codebook_version, revision, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                    (
                        passage_id,
                        name,
                        json.dumps(clean_labels),
                        comment,
                        int(flagged),
                        int(skipped),
                        version,
                        now,
                        now,
                    ),
                )
            elif (
                json.loads(old["labels"]),
                old["comment"],
                bool(old["flagged"]),
                bool(old["skipped"]),
                old["codebook_version"],
            ) == (
                clean_labels,
                comment,
                flagged,
                skipped,
                version,
            ):
                changed = False
            else:
                # Keep versions in strict time order even when two saves fall in the same microsecond.
                stamp = max(now, _after(old["updated_at"]))
                conn.execute(
                    "INSERT INTO decision_history (passage_id, annotator, labels, comment, flagged, skipped, "
                    "codebook_version, created_at, replaced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        passage_id,
                        name,
                        old["labels"],
                        old["comment"],
                        old["flagged"],
                        old["skipped"],
                        old["codebook_version"],
                        old["updated_at"],
                        stamp,
                    ),
                )
                conn.execute(
                    "UPDATE decisions SET labels = ?, comment = ?, flagged = ?, skipped = ?, codebook_version = ?, "
                    "revision = revision + 1, updated_at = ? WHERE id = ?",
                    (
                        json.dumps(clean_labels),
                        comment,
                        int(flagged),
                        int(skipped),
                        version,
                        stamp,
                        old["id"],
                    ),
                )
            conn.execute("DELETE FROM leases WHERE passage_id = ? AND annotator = ?", (passage_id, name))
            if changed:
                _count_decided(conn, passage_id)
            row = conn.execute(
                "SELECT * FROM decisions WHERE passage_id = ? AND annotator = ?", (passage_id, name)
            ).fetchone()
        out = _decision_dict(row)
        out["changed"] = changed
        return out

    def get_decision(self, passage_id: str, annotator: str) -> dict[str, Any] | None:
        """The annotator's current decision on the passage, with its history, or ``None``."""
        with self.read() as conn:
            row = conn.execute(
                "SELECT * FROM decisions WHERE passage_id = ? AND annotator = ?", (passage_id, annotator)
            ).fetchone()
            if row is None:
                return None
            out = _decision_dict(row)
            out["history"] = [
                _decision_dict(h)
                for h in conn.execute(
                    "SELECT * FROM decision_history WHERE passage_id = ? AND annotator = ? ORDER BY created_at, id",
                    (passage_id, annotator),
                )
            ]
        return out

    def recent_decisions(self, annotator: str, *, limit: int = 50) -> list[dict[str, Any]]:
        """The annotator's decisions, most recently changed first (for undo and back/forward)."""
        with self.read() as conn:
            rows = conn.execute(
                "SELECT * FROM decisions WHERE annotator = ? ORDER BY updated_at DESC, id DESC LIMIT ?",
                (annotator, limit),
            ).fetchall()
        return [_decision_dict(r) for r in rows]

    def current_decisions(self, *, include_skipped: bool = False) -> list[dict[str, Any]]:
        """Every current decision (skips left out unless asked), ordered by passage and annotator."""
        where = "" if include_skipped else "WHERE skipped = 0"
        with self.read() as conn:
            rows = conn.execute(f"SELECT * FROM decisions {where} ORDER BY passage_id, annotator").fetchall()
        return [_decision_dict(r) for r in rows]

    def count_decisions(self) -> dict[str, int]:
        """Counts of current decisions, history rows, gold labels and passages."""
        with self.read() as conn:
            one = conn.execute

            def n(sql: str) -> int:
                return int(one(sql).fetchone()[0])

            return {
                "passages": n("SELECT COUNT(*) FROM passages"),
                "decisions": n("SELECT COUNT(*) FROM decisions WHERE skipped = 0"),
                "skipped": n("SELECT COUNT(*) FROM decisions WHERE skipped = 1"),
                "flagged": n("SELECT COUNT(*) FROM decisions WHERE flagged = 1"),
                "history": n("SELECT COUNT(*) FROM decision_history"),
                "gold": n("SELECT COUNT(*) FROM gold"),
                "annotators": n("SELECT COUNT(*) FROM annotators"),
                "labelled_passages": n("SELECT COUNT(DISTINCT passage_id) FROM decisions WHERE skipped = 0"),
            }

    # ------------------------------------------------------------------ queue

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
            with self.read() as conn:
                cands = self._candidates(conn, name, settings, now, strategy=strategy)
                ctx = self._queue_context(conn, settings, strategy) if cands else sampling.QueueContext()
            chosen, used = sampling.choose(cands, ctx, strategy)
            if chosen is None:
                return None, strategy
            with self.write() as conn:
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
        with self.write() as conn:
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
        with self.write() as conn:
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
    _OPEN_SQL = (
        f"NOT EXISTS (SELECT 1 FROM decisions d WHERE d.passage_id = p.passage_id AND d.annotator = :name) "
        f"AND {_N_CODED_SQL} < {_TARGET_SQL}"
    )
    _FROM_SQL = f"FROM passages p LEFT JOIN {_LEASES_SQL} l ON l.passage_id = p.passage_id"
    # Strategies whose order SQL reproduces exactly: only the first rows need to reach Python.
    _SQL_ORDER = {
        "random": "p.rand_key, p.passage_id",
        "uncertainty": "margin IS NULL, margin, p.rand_key, p.passage_id",
        "coverage": "CAST(ds.coded AS REAL) / ds.total, ds.coded, ds.doc_key, p.rand_key, p.passage_id",
    }
    _DOC_STATS_SQL = (
        "(SELECT doc_id, COUNT(*) AS total, SUM(n_decided > 0) AS coded, MIN(rand_key) AS doc_key "
        "FROM passages GROUP BY doc_id)"
    )
    _SQL_LIMIT = 32

    @staticmethod
    def _queue_params(name: str, settings: dict[str, Any], now: str) -> dict[str, Any]:
        return {
            "name": name,
            "now": now,
            "share": float(settings["overlap"]),
            "coders": max(2, int(settings["overlap_coders"])),
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

        For the strategies in ``_SQL_ORDER`` the query already sorts in the
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
        order = self._SQL_ORDER.get(strategy)
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
        for r in conn.execute(f"SELECT doc_id, total, coded, doc_key FROM {self._DOC_STATS_SQL}"):
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
        with self.read() as conn:
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
            total = int(conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0])
            labelled = int(
                conn.execute("SELECT COUNT(DISTINCT passage_id) FROM decisions WHERE skipped = 0").fetchone()[
                    0
                ]
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

    # ------------------------------------------------------------------ predictions

    def add_predictions(
        self, rows: Iterable[tuple[str, str, float, float] | tuple[str, str, float, float, str]]
    ) -> int:
        """Store model probabilities ``(passage_id, label, prob, threshold[, model_id])``; replaces old ones.

        Raises:
            AnnotationError: for an unknown label or a probability outside [0, 1].
        """
        n = 0
        with self.write() as conn:
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
        rows = list(_read_table(path))
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

    # ------------------------------------------------------------------ agreement and adjudication

    def agreement(self, *, n_boot: int = 1000, seed: int = 0, ci: float = 0.95) -> dict[str, Any]:
        """Per-label agreement over current, non-skipped decisions (see :mod:`cocreation_nlp.agreement`)."""
        from ..agreement import agreement_summary, per_label_agreement

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
        the labels in dispute, a majority suggestion and the gold label if one
        was set. Unresolved items come first.
        """
        with self.read() as conn:
            rows = conn.execute(
                "SELECT * FROM decisions WHERE skipped = 0 ORDER BY passage_id, annotator"
            ).fetchall()
            gold = {r["passage_id"]: _gold_dict(r) for r in conn.execute("SELECT * FROM gold")}
        by_passage: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            by_passage[r["passage_id"]].append(_decision_dict(r))
        out = []
        for passage_id, decisions in by_passage.items():
            label_sets = [frozenset(d["labels"]) for d in decisions]
            disputed = len(decisions) >= 2 and len(set(label_sets)) > 1
            flagged = any(d["flagged"] for d in decisions)
            if not (disputed or (include_flagged and flagged)):
                continue
            if passage_id in gold and not include_resolved:
                continue
            counts = Counter(label for s in label_sets for label in s)
            union = set().union(*label_sets)
            common = set.intersection(*map(set, label_sets))
            out.append(
                {
                    "passage": self.get_passage(passage_id),
                    "decisions": decisions,
                    "disputed_labels": [n for n in self.codebook.label_names if n in union - common],
                    "suggestion": [n for n in self.codebook.label_names if counts[n] * 2 > len(decisions)],
                    "flagged": flagged,
                    "gold": gold.get(passage_id),
                }
            )
        out.sort(
            key=lambda item: (item["gold"] is not None, item["passage"]["doc_id"], item["passage"]["index"])
        )
        return out

    def set_gold(
        self,
        passage_id: str,
        labels: Sequence[str],
        reviewer: str,
        *,
        comment: str = "",
        flagged: bool = False,
    ) -> dict[str, Any]:
        """Record the reviewer's adjudicated labels for a passage; a correction keeps the earlier one.

        Raises:
            AnnotationError: for an unknown passage or label.
        """
        clean_labels = list(
            self.codebook.validate_labels(list(labels), source=f"gold label for {passage_id}")
        )
        name = normalize_annotator(reviewer)
        comment = comment.strip()
        now = utc_now()
        version = self.codebook.version
        with self.write() as conn:
            if conn.execute("SELECT 1 FROM passages WHERE passage_id = ?", (passage_id,)).fetchone() is None:
                raise AnnotationError(f"No passage {passage_id!r} in this project.")
            old = conn.execute("SELECT * FROM gold WHERE passage_id = ?", (passage_id,)).fetchone()
            if old is None:
                conn.execute(
                    "INSERT INTO gold (passage_id, labels, reviewer, comment, flagged, codebook_version, revision, "
                    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)",
                    (passage_id, json.dumps(clean_labels), name, comment, int(flagged), version, now, now),
                )
            elif (
                json.loads(old["labels"]),
                old["reviewer"],
                old["comment"],
                bool(old["flagged"]),
                old["codebook_version"],
            ) != (
                clean_labels,
                name,
                comment,
                flagged,
                version,
            ):
                stamp = max(now, _after(old["updated_at"]))
                conn.execute(
                    "INSERT INTO gold_history (passage_id, reviewer, labels, comment, flagged, codebook_version, "
                    "created_at, replaced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        passage_id,
                        old["reviewer"],
                        old["labels"],
                        old["comment"],
                        old["flagged"],
                        old["codebook_version"],
                        old["updated_at"],
                        stamp,
                    ),
                )
                conn.execute(
                    "UPDATE gold SET labels = ?, reviewer = ?, comment = ?, flagged = ?, codebook_version = ?, "
                    "revision = revision + 1, updated_at = ? WHERE passage_id = ?",
                    (json.dumps(clean_labels), name, comment, int(flagged), version, stamp, passage_id),
                )
            row = conn.execute("SELECT * FROM gold WHERE passage_id = ?", (passage_id,)).fetchone()
        return _gold_dict(row)

    def gold_labels(self) -> dict[str, dict[str, Any]]:
        """Every gold label by passage id."""
        with self.read() as conn:
            return {
                r["passage_id"]: _gold_dict(r) for r in conn.execute("SELECT * FROM gold ORDER BY passage_id")
            }

    # ------------------------------------------------------------------ export and import

    def export_records(
        self, *, decisions: bool = True, gold: bool = True, include_text: bool = True
    ) -> list[AnnotationRecord]:
        """Every current decision and/or gold label as records, with their history.

        Sorted by document, passage position, gold last, then annotator, so
        an export of the same data is byte-identical.
        """
        records: list[tuple[tuple[Any, ...], AnnotationRecord]] = []
        with self.read() as conn:
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
                    history[(h["passage_id"], h["annotator"])].append(_history_entry(h))
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
                        history=history.get((d["passage_id"], d["annotator"]), []),
                    )
                    records.append((sort_key(d["passage_id"], False, d["annotator"]), rec))
            if gold:
                ghistory: dict[str, list[HistoryEntry]] = defaultdict(list)
                for h in conn.execute("SELECT * FROM gold_history ORDER BY created_at, id"):
                    ghistory[h["passage_id"]].append(_history_entry(h))
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
        with self.write() as conn:
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
                        "overlap_key, rand_key, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            rec.passage_id,
                            rec.doc_id,
                            rec.start_char or 0,
                            rec.start_char,
                            rec.end_char,
                            rec.text,
                            fp,
                            sampling.overlap_key(rec.passage_id),
                            sampling.stable_unit(_seed(conn), rec.passage_id),
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
                outcome = self._merge(conn, rec, name)
                if outcome != "unchanged" and not rec.gold:
                    _count_decided(conn, rec.passage_id)
                setattr(result, outcome, getattr(result, outcome) + 1)
                if rec.gold:
                    result.gold += 1
        return result

    def _merge(self, conn: sqlite3.Connection, rec: AnnotationRecord, name: str) -> str:
        """Merge one record's versions with the store's; return 'added', 'updated' or 'unchanged'."""
        reviewer = name if rec.gold else None
        incoming = [
            *(
                _Version(
                    h.created_at,
                    tuple(h.labels),
                    h.comment,
                    h.flagged,
                    h.skipped,
                    h.codebook_version,
                    (h.reviewer or reviewer) if rec.gold else None,
                )
                for h in rec.history
            ),
            _Version(
                rec.created_at,
                tuple(rec.labels),
                rec.comment,
                rec.flagged,
                rec.skipped,
                rec.codebook_version,
                reviewer,
            ),
        ]
        if rec.gold:
            table, hist, who, key_sql, key = (
                "gold",
                "gold_history",
                "reviewer",
                "passage_id = ?",
                (rec.passage_id,),
            )
            cur = conn.execute(f"SELECT * FROM {table} WHERE {key_sql}", key).fetchone()
            old_hist = conn.execute(
                f"SELECT * FROM {hist} WHERE {key_sql} ORDER BY created_at, id", key
            ).fetchall()
        else:
            table, hist, who = "decisions", "decision_history", "annotator"
            key_sql, key = "passage_id = ? AND annotator = ?", (rec.passage_id, name)
            cur = conn.execute(f"SELECT * FROM {table} WHERE {key_sql}", key).fetchone()
            old_hist = conn.execute(
                f"SELECT * FROM {hist} WHERE {key_sql} ORDER BY created_at, id", key
            ).fetchall()
        existing = [_row_version(h) for h in old_hist] + (
            [_row_version(cur, current=True)] if cur is not None else []
        )
        merged = sorted(
            set(existing) | set(incoming),
            key=lambda v: (v.created_at, v.labels, v.comment, v.flagged, v.skipped, v.reviewer or ""),
        )
        if cur is not None and merged == existing:
            return "unchanged"
        current, earlier = merged[-1], merged[:-1]
        conn.execute(f"DELETE FROM {hist} WHERE {key_sql}", key)
        for i, v in enumerate(earlier):
            replaced = merged[i + 1].created_at
            if rec.gold:
                conn.execute(
                    "INSERT INTO gold_history (passage_id, reviewer, labels, comment, flagged, codebook_version, "
                    "created_at, replaced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        rec.passage_id,
                        v.reviewer,
                        json.dumps(list(v.labels)),
                        v.comment,
                        int(v.flagged),
                        v.codebook_version,
                        v.created_at,
                        replaced,
                    ),
                )
            else:
                conn.execute(
                    "INSERT INTO decision_history (passage_id, annotator, labels, comment, flagged, skipped, "
                    "codebook_version, created_at, replaced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        rec.passage_id,
                        name,
                        json.dumps(list(v.labels)),
                        v.comment,
                        int(v.flagged),
                        int(v.skipped),
                        v.codebook_version,
                        v.created_at,
                        replaced,
                    ),
                )
        values = {
            "labels": json.dumps(list(current.labels)),
            "comment": current.comment,
            "flagged": int(current.flagged),
            "codebook_version": current.codebook_version,
            "revision": len(merged),
            "created_at": merged[0].created_at,
            "updated_at": current.created_at,
        }
        if rec.gold:
            values["reviewer"] = current.reviewer or name
        else:
            values["skipped"] = int(current.skipped)
        if cur is None:
            columns = ["passage_id", *([] if rec.gold else [who]), *values]
            params = [rec.passage_id, *([] if rec.gold else [name]), *values.values()]
            conn.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", params
            )
            return "added"
        assignments = ", ".join(f"{c} = ?" for c in values)
        conn.execute(f"UPDATE {table} SET {assignments} WHERE {key_sql}", [*values.values(), *key])
        return "updated"


# ---------------------------------------------------------------------- row helpers


def _seed(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM settings WHERE key = 'seed'").fetchone()
    return int(json.loads(row[0])) if row else int(_SETTING_BY_NAME["seed"].default)


def _count_decided(conn: sqlite3.Connection, passage_id: str) -> None:
    """Refresh the passage's count of non-skipped decisions, which the queue reads instead of counting."""
    conn.execute(
        "UPDATE passages SET n_decided = (SELECT COUNT(*) FROM decisions d WHERE d.passage_id = ? AND d.skipped = 0) "
        "WHERE passage_id = ?",
        (passage_id, passage_id),
    )


def _after(stamp: str) -> str:
    """The canonical timestamp one microsecond after ``stamp``."""
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return format_time(moment + timedelta(microseconds=1))


def _passage_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "passage_id": row["passage_id"],
        "doc_id": row["doc_id"],
        "index": row["idx"],
        "start_char": row["start_char"],
        "end_char": row["end_char"],
        "text": row["text"],
        "fingerprint": row["fingerprint"],
        "title": row["title"],
        "heading": row["heading"],
        "page": row["page"],
        "context": row["context"],
    }


def _decision_dict(row: sqlite3.Row) -> dict[str, Any]:
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
    }
    if "updated_at" in keys:
        out["updated_at"] = row["updated_at"]
        out["revision"] = row["revision"]
    if "replaced_at" in keys:
        out["replaced_at"] = row["replaced_at"]
    return out


def _gold_dict(row: sqlite3.Row) -> dict[str, Any]:
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
    }


def _history_entry(row: sqlite3.Row) -> HistoryEntry:
    keys = row.keys()
    return HistoryEntry(
        labels=json.loads(row["labels"]),
        created_at=row["created_at"],
        codebook_version=row["codebook_version"],
        comment=row["comment"],
        flagged=bool(row["flagged"]),
        skipped=bool(row["skipped"]) if "skipped" in keys else False,
        reviewer=row["reviewer"] if "reviewer" in keys else None,
    )


def _row_version(row: sqlite3.Row, *, current: bool = False) -> _Version:
    keys = row.keys()
    return _Version(
        created_at=row["updated_at"] if current else row["created_at"],
        labels=tuple(json.loads(row["labels"])),
        comment=row["comment"],
        flagged=bool(row["flagged"]),
        skipped=bool(row["skipped"]) if "skipped" in keys else False,
        codebook_version=row["codebook_version"],
        reviewer=row["reviewer"] if "reviewer" in keys else None,
    )


# ---------------------------------------------------------------------- loading passages


def _read_table(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a CSV or JSONL file as dicts.

    Raises:
        InputError: for another suffix or malformed JSON.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            yield from csv.DictReader(fh)
    elif suffix in {".jsonl", ".ndjson"}:
        with path.open(encoding="utf-8-sig") as fh:
            for lineno, line in enumerate(fh, start=1):
                if line.strip():
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as err:
                        raise InputError(
                            f"{path}:{lineno}", f"not valid JSON ({err.msg})", kind="bad-json"
                        ) from err
                    if not isinstance(row, dict):
                        raise InputError(
                            f"{path}:{lineno}", "expected a JSON object per line", kind="bad-json"
                        )
                    yield row
    else:
        raise InputError(str(path), f"expected a .csv or .jsonl table, got {suffix!r}", kind="unsupported")


def _opt_int(value: Any, column: str, where: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputError(
            where, f"column {column!r} must be an integer, got {value!r}", kind="bad-columns"
        ) from None


def read_passage_table(path: Path) -> list[PassageRow]:
    """Read passages from a CSV or JSONL table with at least a ``text`` column.

    Optional columns: ``passage_id``, ``doc_id``, ``index``, ``start_char``,
    ``end_char``, ``fingerprint``, ``title``, ``heading``, ``page``,
    ``context``. Without ``doc_id`` the file's stem is used; without
    ``passage_id``, ``{doc_id}:{start}-{end}`` when offsets are given (the
    toolkit's id convention), else ``{doc_id}:p{index}``. Ids are
    deterministic, so adding the same file twice adds nothing.

    Raises:
        InputError: naming the file and line of a row without text or with a bad number.
    """
    from ..ingest import slugify

    out: list[PassageRow] = []
    per_doc: Counter[str] = Counter()
    offset = 2 if path.suffix.lower() == ".csv" else 1
    for n, row in enumerate(_read_table(path)):
        where = f"{path}:{n + offset}"
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InputError(
                where, "row has no 'text'. A passage table needs a text column.", kind="bad-columns"
            )
        doc_id = str(row.get("doc_id") or slugify(path.stem))
        index = _opt_int(row.get("index", row.get("idx")), "index", where)
        if index is None:
            index = per_doc[doc_id]
        per_doc[doc_id] += 1
        start = _opt_int(row.get("start_char"), "start_char", where)
        end = _opt_int(row.get("end_char"), "end_char", where)
        passage_id = row.get("passage_id") or (
            f"{doc_id}:{start}-{end}" if start is not None and end is not None else f"{doc_id}:p{index}"
        )
        out.append(
            PassageRow(
                passage_id=str(passage_id),
                doc_id=doc_id,
                text=text,
                index=index,
                start_char=start,
                end_char=end,
                fingerprint=str(row.get("fingerprint") or text_fingerprint(text)),
                title=str(row.get("title") or ""),
                heading=str(row.get("heading") or ""),
                page=_opt_int(row.get("page"), "page", where),
                context=str(row.get("context") or ""),
            )
        )
    return out


def read_corpus_passages(
    paths: Sequence[Path], *, splits: Sequence[str] = ()
) -> tuple[list[PassageRow], list[str]]:
    """Read and segment documents with the toolkit's own ingest and segment stages.

    Args:
        paths: corpus folders, ``manifest.csv`` files or document files.
        splits: keep only documents whose manifest ``split`` is one of these
            (e.g. ``train``), so held-out documents stay unseen.

    Returns:
        The passages, and one message per document that could not be read.
    """
    # Imported here: ingest pulls in PDF/DOCX parsers and segment pulls in spaCy,
    # which the web app and the passage-table path do not need.
    from ..ingest import read_documents
    from ..segment import segment_document
    from ..types import ParseFailure, is_labelling_unit

    passages: list[PassageRow] = []
    failures: list[str] = []
    for doc in read_documents(paths):
        if isinstance(doc, ParseFailure):
            failures.append(f"{doc.source}: {doc.error_type}: {doc.message}")
            continue
        if splits and doc.meta.get("split", "") not in splits:
            continue
        title = str(doc.meta.get("title") or doc.meta.get("file") or doc.source)
        for p in segment_document(doc):
            if not is_labelling_unit(p.kind):
                continue  # headings and tables are context, not labelling units
            passages.append(
                PassageRow(
                    passage_id=p.passage_id,
                    doc_id=p.doc_id,
                    text=p.text,
                    index=p.index,
                    start_char=p.start_char,
                    end_char=p.end_char,
                    fingerprint=p.fingerprint or text_fingerprint(p.text),
                    title=title,
                    heading=p.heading,
                    page=p.page,
                    context=p.context,
                )
            )
    return passages, failures


def add_source(store: AnnotationStore, sources: Sequence[Path], *, splits: Sequence[str] = ()) -> AddResult:
    """Add passages from passage tables (CSV/JSONL with ``text``) and/or corpus paths.

    A ``.jsonl`` file, or a ``.csv`` with a ``text`` column, is a passage
    table; anything else (a folder, a ``manifest.csv``, a PDF/DOCX/HTML/text
    file) goes through ingest and segment.
    """
    tables: list[Path] = []
    corpus: list[Path] = []
    for path in sources:
        if not path.exists():
            raise InputError(str(path), "no such file or folder", kind="missing")
        if path.is_file() and path.suffix.lower() in {".jsonl", ".ndjson"}:
            tables.append(path)
        elif path.is_file() and path.suffix.lower() == ".csv" and _has_text_column(path):
            tables.append(path)
        else:
            corpus.append(path)
    rows: list[PassageRow] = []
    for table in tables:
        rows.extend(read_passage_table(table))
    failures: list[str] = []
    if corpus:
        more, failures = read_corpus_passages(corpus, splits=splits)
        rows.extend(more)
    result = store.add_passages(rows)
    result.failures.extend(failures)
    return result


def _has_text_column(path: Path) -> bool:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh), [])
    return "text" in [h.strip() for h in header]
