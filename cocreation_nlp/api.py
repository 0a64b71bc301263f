"""The Python API for notebooks and scripts: score a corpus, classify texts.

Both functions are re-exported by the package, so ``import cocreation_nlp as
cc`` then ``cc.score_corpus(...)`` and ``cc.classify_texts(...)`` is all a
notebook needs. They do what ``cocreation score`` and ``cocreation classify``
do (the CLI calls the same library functions), take ``str`` or
:class:`~pathlib.Path` alike, and are silent: progress goes to an optional
callback, problems are raised as :class:`~cocreation_nlp.errors.CocreationError`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .classify import PassagePrediction
from .config import RunConfig, ScoreConfig, load_config
from .pipeline import Corpus, RunSummary, run_score
from .predict import predict


def score_corpus(
    source: Corpus,
    out_dir: str | os.PathLike[str],
    *,
    model: str | os.PathLike[str] | None = None,
    config: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    parquet: bool = False,
    progress: Callable[[int, int], None] | None = None,
    raw_csv: bool = False,
    **settings: Any,
) -> RunSummary:
    """Score every document of a corpus and write the tables into ``out_dir``.

    The same as ``cocreation score SOURCE -o OUT_DIR``: ``passages.csv``,
    ``documents.csv``, ``evidence.csv``, ``errors.csv`` and ``run.json``
    (see the README). Re-runs are incremental (``OUT_DIR/.cache``).

    Args:
        source: A corpus folder (with or without ``manifest.csv``), a document
            file, a manifest, or a list of them; ``str`` or ``Path``.
        out_dir: Output folder (created).
        model: ``"rules"`` or a model folder; default: the shipped model.
        config: A TOML settings file (as ``--config``).
        workers: Worker processes (default: the usable cores; 1 runs inline).
        scheduler: Address of a Dask scheduler to run on (needs the ``dask`` extra).
        parquet: Also write Parquet copies of the tables.
        progress: Called with ``(done, total)`` after each document.
        raw_csv: Write CSV cells exactly, without neutralising text a spreadsheet
            would run as a formula (see :mod:`cocreation_nlp.tables`).
        **settings: Any setting of :class:`~cocreation_nlp.config.ScoreConfig`
            (``min_denominator=1``, ``basis="decisions"``, ...) or of
            :class:`~cocreation_nlp.config.RunConfig` (``max_words=200``, ``ocr="never"``);
            they override ``config``.

    Returns:
        A :class:`~cocreation_nlp.pipeline.RunSummary`: counts, the model that
        ran (``model``, ``model_id``), timings and ``out_dir``.

    Raises:
        ConfigError: for an unknown setting or a value out of range.
        ModelLoadError: when the model cannot be loaded.

    Example:
        >>> import pandas as pd, pathlib, tempfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "plan.txt").write_text(
        ...     "Tenants' associations and residents co-designed the repairs service with the council.\\n\\n"
        ...     "Housing officers were trained to work with tenants as partners.\\n",
        ...     encoding="utf-8",
        ... )
        >>> run = score_corpus(folder, folder / "out", workers=1, n_bootstrap=0)
        >>> run.n_documents, run.n_failed, run.n_passages, Path(run.model).name
        (1, 0, 2, 'default')
        >>> docs = pd.read_csv(folder / "out" / "documents.csv")
        >>> docs.loc[0, "doc_id"], bool(docs.loc[0, "participation"] > 0.5)
        ('plan', True)
    """
    cfg = _config(config, settings)
    return run_score(
        source,
        out_dir,
        model=model,
        config=cfg,
        workers=workers,
        scheduler=scheduler,
        formats=("csv", "parquet") if parquet else ("csv",),
        progress=progress,
        raw_csv=raw_csv,
    )


def _config(path: str | os.PathLike[str] | None, settings: dict[str, Any]) -> RunConfig:
    """The run settings: the TOML file, then keyword settings (score settings by their bare name)."""
    score_fields = set(ScoreConfig.model_fields)
    overrides = {(f"score.{k}" if k in score_fields else k): v for k, v in settings.items()}
    return load_config(Path(path) if path is not None else None, **overrides)


def classify_texts(
    texts: str | Sequence[str],
    model: str | os.PathLike[str] | None = None,
    *,
    languages: Sequence[str] | None = None,
    contexts: Sequence[str] | None = None,
) -> list[PassagePrediction]:
    """Classify passage texts against the codebook's seven labels.

    Args:
        texts: The passages (a single string is one passage).
        model: ``"rules"`` or a model folder; default: the shipped model.
        languages: Each text's language code; detected when not given.
        contexts: Each passage's heading (and a list's lead-in), read by
            models trained with context (``finetuned``); others ignore it.

    Returns:
        One :class:`~cocreation_nlp.classify.PassagePrediction` per text, in
        order: ``probs`` and ``decisions`` per label (``None`` for an empty
        text, with the ``reason``), ``applied`` labels and the rule ``evidence``.

    Raises:
        ModelLoadError: when the model cannot be loaded.

    Example:
        >>> [p] = classify_texts("Tenants' associations sit on the board of the repairs service.", "rules")
        >>> p.applied, p.evidence["collective"]
        (('individual', 'collective'), ("Tenants' associations",))
        >>> [p.reason for p in classify_texts(["", "Residents were surveyed."], "rules")]
        ['empty text', '']
        >>> [q] = classify_texts("Residents voted on how the budget is spent.")  # the shipped model
        >>> 0.0 <= q.probability("individual") <= 1.0
        True
    """
    items = [texts] if isinstance(texts, str) else list(texts)
    predictions, _ = predict(items, model=model, languages=languages, contexts=contexts)
    return predictions


__all__ = ["classify_texts", "score_corpus"]
