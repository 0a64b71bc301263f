"""cocreation_nlp: measure how public-policy documents treat citizen participation.

Stages: :mod:`.ingest` -> :mod:`.segment` -> :mod:`.classify` -> :mod:`.score` -> :mod:`.export`;
:mod:`.pipeline` composes them for ``cocreation score``.

The Python API (loaded on first use, so that ``import cocreation_nlp`` and
``cocreation --help`` stay fast):

* :func:`score_corpus` (``cocreation score``) and :func:`classify_texts`
  (``cocreation classify``), from :mod:`.api`;
* the records they return: :class:`RunSummary`, :class:`PassagePrediction`,
  and the typed records the stages pass, :class:`Document`, :class:`Passage`,
  :class:`ScoredPassage`, :class:`ScoredDocument`;
* the settings: :class:`RunConfig`, :class:`ScoreConfig`.

Example:
    >>> import cocreation_nlp as cc
    >>> [p] = cc.classify_texts("Frontline nurses co-designed the discharge process with patients.", "rules")
    >>> p.applied
    ('individual', 'professionals', 'cocreation')
"""

from __future__ import annotations

from typing import Any

from ._version import __version__

_EXPORTS: dict[str, str] = {
    "score_corpus": "api",
    "classify_texts": "api",
    "RunSummary": "pipeline",
    "PassagePrediction": "classify",
    "ScoredPassage": "scored",
    "ScoredDocument": "scored",
    "Document": "types",
    "Passage": "types",
    "RunConfig": "config",
    "ScoreConfig": "config",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        from importlib import import_module

        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
