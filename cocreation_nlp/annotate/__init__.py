"""Browser-based annotation: a SQLite store, queue strategies, a web app and exchange formats.

Importing this package is cheap: submodules (records and their pydantic
models, the store, the web stack) load on first use, so ``cocreation --help``
does not pay for them.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AnnotationRecord",
    "AnnotationStore",
    "HistoryEntry",
    "PassageRow",
    "read_records",
    "write_records",
]

_WHERE = {
    "AnnotationRecord": "records",
    "HistoryEntry": "records",
    "read_records": "records",
    "write_records": "records",
    "AnnotationStore": "store",
    "PassageRow": "store",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        from importlib import import_module

        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
