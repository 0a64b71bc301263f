"""The annotation database: its schema, connections and transactions (one SQLite file, WAL mode, per project).

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

The store's other responsibilities each have a module (:mod:`.settings`,
:mod:`.passages`, :mod:`.decisions`, :mod:`.queue`, :mod:`.interchange`);
:class:`~cocreation_nlp.annotate.store.AnnotationStore` combines them.

Tables:

``passages``
    what is labelled: ids, offsets, fingerprint, text, the context the
    labelling view shows (document title, heading, page), and the passage's
    kind, word count and language, which decide whether it is served
    (:mod:`.units`) and which rule lexicon highlights its evidence.
``annotators``
    who signed in, and when.
``decisions``
    one current row per passage x annotator: labels (JSON list in codebook
    order), comment, flagged, skipped, codebook version, created/updated,
    and ``lead_time``: the seconds this version took in the browser.
``decision_history``
    earlier versions of corrected decisions.
``gold`` / ``gold_history``
    adjudicated labels with the reviewer who decided (and their ``lead_time``).
``predictions``
    model probabilities and thresholds, for the uncertainty queue.
``leases``
    which passage the queue has just handed to whom, so that two annotators
    asking at once are not given the same single-coded passage.
``settings``
    project settings (:data:`.settings.SETTINGS`), as JSON values.
``meta``
    schema version and the secret that signs session cookies.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..codebook import load_codebook
from ..errors import AnnotationError
from .provenance import utc_now
from .units import count_words

STORE_SCHEMA_VERSION = 2

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
    kind TEXT NOT NULL DEFAULT 'paragraph',
    n_words INTEGER NOT NULL DEFAULT 0,
    language TEXT NOT NULL DEFAULT '',
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
    lead_time REAL,
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
    replaced_at TEXT NOT NULL,
    lead_time REAL
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
    updated_at TEXT NOT NULL,
    lead_time REAL
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
    replaced_at TEXT NOT NULL,
    lead_time REAL
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


def upgrade(conn: sqlite3.Connection, version: int) -> None:
    """Bring a database made by an earlier release up to :data:`STORE_SCHEMA_VERSION`, in place.

    Version 2 added the passages' kind, word count and language (which
    passages are served, which lexicon highlights them) and the
    ``lead_time`` of each decision and gold label. Passages from version 1
    become paragraphs with their words counted now; earlier decisions have no
    lead time (``NULL``).
    """
    if version == 1:
        for table, column in (
            ("passages", "kind TEXT NOT NULL DEFAULT 'paragraph'"),
            ("passages", "n_words INTEGER NOT NULL DEFAULT 0"),
            ("passages", "language TEXT NOT NULL DEFAULT ''"),
            ("decisions", "lead_time REAL"),
            ("decision_history", "lead_time REAL"),
            ("gold", "lead_time REAL"),
            ("gold_history", "lead_time REAL"),
        ):
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
        rows = conn.execute("SELECT passage_id, text FROM passages").fetchall()
        conn.executemany(
            "UPDATE passages SET n_words = ? WHERE passage_id = ?", [(count_words(r[1]), r[0]) for r in rows]
        )
        version = 2
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))


class Database:
    """A SQLite annotation project, safe to use from many threads at once.

    Args:
        path: the database file; created with its tables if missing.
        busy_timeout_s: how long a writer waits for the lock before failing.
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
            elif int(row[0]) < STORE_SCHEMA_VERSION:
                upgrade(conn, int(row[0]))
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
