"""The annotation store of record: one SQLite database (WAL mode) per annotation project.

:class:`AnnotationStore` is the one object the web app, the CLI and scripts
use. Each of its responsibilities lives in a module of its own, so that each
rule is written once:

* :mod:`.db`: schema, connections, transactions (WAL, ``BEGIN IMMEDIATE``,
  one connection per thread);
* :mod:`.settings`: the declared project settings and their validation;
* :mod:`.passages`: adding passages (tables or a corpus) and reading them;
* :mod:`.decisions`: decisions and gold labels, and their history;
* :mod:`.queue`: which passage an annotator gets next, leases, progress,
  model predictions for the uncertainty queue;
* :mod:`.interchange`: exporting records and merging imported ones (the
  file formats are :mod:`.records`);
* :mod:`.search`: searching and filtering passages for the app's Passages page.

Which passages are labelling units (and so served) is :mod:`.units`; what a
reviewer starts from in adjudication is :mod:`.adjudication`.
"""

from __future__ import annotations

from pathlib import Path

from .db import STORE_SCHEMA_VERSION, Database
from .decisions import DecisionsMixin
from .interchange import ImportResult, InterchangeMixin
from .passages import (
    AddResult,
    PassageRow,
    PassagesMixin,
    add_source,
    read_corpus_passages,
    read_passage_table,
)
from .provenance import normalize_annotator
from .queue import QueueMixin
from .records import AnnotationRecord
from .search import PassageQuery, SearchMixin
from .settings import SETTINGS, Setting, SettingsMixin

__all__ = [
    "SETTINGS",
    "STORE_SCHEMA_VERSION",
    "AddResult",
    "AnnotationRecord",
    "AnnotationStore",
    "ImportResult",
    "PassageQuery",
    "PassageRow",
    "Setting",
    "add_source",
    "normalize_annotator",
    "read_corpus_passages",
    "read_passage_table",
]


class AnnotationStore(
    SettingsMixin, PassagesMixin, DecisionsMixin, QueueMixin, InterchangeMixin, SearchMixin, Database
):
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
        Database.__init__(self, path, busy_timeout_s=busy_timeout_s)
