"""Which passage an annotator sees next: queue strategies and the overlap rule.

The store hands this module the passages an annotator may still label
(:class:`Candidate`) and a snapshot of the project (:class:`QueueContext`);
the functions here only rank them. Keeping the ranking pure (no SQL, no
clock, no global random state) makes every strategy testable on a handful of
hand-built candidates and reproducible from a seed.

Strategies (``STRATEGIES``):

``random``
    A stable pseudo-random order (a hash of the seed and the passage id), so
    the sample is unbiased and the same seed gives the same queue.
``coverage``
    Spreads labelling over documents: the next passage comes from the
    document with the smallest share of passages labelled so far, so early
    annotations already cover every document type and publisher.
``uncertainty``
    Active learning: passages where the current model's probability for some
    label is nearest to that label's decision threshold come first. Needs
    predictions loaded into the store (``cocreation annotate predictions``);
    without them it falls back to ``random``.
``rare_label``
    Boosts passages likely to carry the labels annotators have applied least
    so far, weighting each label by its inverse frequency. The likelihood is
    the model's probability where predictions exist and otherwise the
    proximity to passages already labelled with the rare label in the same
    document (labels cluster by section). With nothing to go on, it falls
    back to ``coverage``.

Overlap: a share of passages (the ``overlap`` setting) is coded by more than
one annotator so that agreement can be measured. Which passages is decided by
a hash of the passage id, not by a coin flip at hand-out time: the set is
stable, and raising the share only adds passages. Passages that another
annotator has started and that still need a second coder come first in every
strategy, so agreement figures become available early.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = [
    "ORDER_TERMS",
    "STRATEGIES",
    "Candidate",
    "QueueContext",
    "choose",
    "needs_overlap",
    "overlap_key",
    "rank",
    "stable_unit",
    "target_coders",
    "term_key",
]


@lru_cache(maxsize=1 << 18)
def stable_unit(*parts: object) -> float:
    """Map ``parts`` to a number in [0, 1) that is the same on every run and machine.

    Python's ``hash`` is salted per process, so it cannot be used for an
    order that must survive a server restart.

    Example:
        >>> stable_unit("seed", "p1") == stable_unit("seed", "p1")
        True
    """
    digest = hashlib.blake2b(":".join(map(str, parts)).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def overlap_key(passage_id: str) -> float:
    """The passage's stable key in [0, 1): it is in the overlap share when the key is below the share.

    The store keeps this key in a column, so that the overlap rule can be
    applied inside SQL.
    """
    return stable_unit("overlap", passage_id)


def needs_overlap(passage_id: str, share: float) -> bool:
    """Whether ``passage_id`` belongs to the doubly coded share of the project.

    Example:
        >>> needs_overlap("any", 0.0), needs_overlap("any", 1.0)
        (False, True)
    """
    return overlap_key(passage_id) < share


def target_coders(passage_id: str, share: float, coders: int = 2) -> int:
    """How many annotators should code ``passage_id``: ``coders`` in the overlap share, else 1."""
    return max(1, coders) if needs_overlap(passage_id, share) else 1


@dataclass(frozen=True, slots=True)
class Candidate:
    """A passage the annotator may be given next.

    Attributes:
        passage_id: the passage.
        doc_id: its document.
        index: its position in the document.
        n_coded: annotators other than this one who have labelled it (skips
            excluded) or hold an active lease on it.
        margin: the smallest ``|prob - threshold|`` over labels from the
            current model, or ``None`` without predictions.
        probs: the model's probability per label, when the strategy needs them.
        order_key: the passage's key in the stable random order, when the
            caller has it at hand (the store keeps it in a column);
            ``None``: computed from the seed and the passage id.
    """

    passage_id: str
    doc_id: str
    index: int
    n_coded: int = 0
    margin: float | None = None
    probs: Mapping[str, float] = field(default_factory=dict)
    order_key: float | None = None


@dataclass(frozen=True, slots=True)
class QueueContext:
    """What the strategies may know about the project at hand-out time.

    Attributes:
        seed: seed of the stable random order.
        doc_total: passages per document.
        doc_coded: passages per document with at least one decision.
        label_counts: decisions applying each label so far (all annotators).
        n_decided: non-skipped decisions so far.
        labelled: per document, ``(index, labels)`` of passages already labelled.
        labels: the codebook's label names.
        doc_keys: a stable pseudo-random key per document, to break ties
            between equally covered documents (default: from the seed and
            the document id).
    """

    seed: int = 0
    doc_total: Mapping[str, int] = field(default_factory=dict)
    doc_coded: Mapping[str, int] = field(default_factory=dict)
    label_counts: Mapping[str, int] = field(default_factory=dict)
    n_decided: int = 0
    labelled: Mapping[str, Sequence[tuple[int, frozenset[str]]]] = field(default_factory=dict)
    labels: Sequence[str] = ()
    doc_keys: Mapping[str, float] = field(default_factory=dict)


PROXIMITY_WINDOW = 8
"""How many passages before and after a labelled one the rare-label heuristic looks."""

SortKey = Callable[[Candidate], tuple[Any, ...]]
KeyMaker = Callable[[Sequence[Candidate], QueueContext], tuple[SortKey, str]]
"""A strategy: given the candidates and the context, a sort key (smallest first) and the strategy used.

Strategies return keys rather than sorted lists so that picking the next
passage is one linear ``min`` over the candidates, not a sort, which keeps
hand-out fast on projects with tens of thousands of passages.
"""


def _order(c: Candidate, ctx: QueueContext) -> float:
    return stable_unit(ctx.seed, c.passage_id) if c.order_key is None else c.order_key


def _doc_key(doc_id: str, ctx: QueueContext) -> float:
    key = ctx.doc_keys.get(doc_id)
    return stable_unit(ctx.seed, "doc", doc_id) if key is None else key


ORDER_TERMS: dict[str, tuple[str, ...]] = {
    "random": ("order", "passage_id"),
    "uncertainty": ("margin", "order", "passage_id"),
    "coverage": ("doc_share", "doc_coded", "doc_key", "order", "passage_id"),
}
"""The sort order of each strategy that SQL can reproduce, as named terms (smallest first).

It is declared once: :func:`term_key` builds the Python sort key from it, and
the store (``queue.py``) builds its ``ORDER BY`` from the same names, so that
the rows SQL returns first are the ones this module would choose.
"""


def _term_values(ctx: QueueContext) -> dict[str, Callable[[Candidate], Any]]:
    def doc_coded(c: Candidate) -> int:
        return ctx.doc_coded.get(c.doc_id, 0)

    return {
        "order": lambda c: _order(c, ctx),
        "passage_id": lambda c: c.passage_id,
        # No prediction sorts last.
        "margin": lambda c: math.inf if c.margin is None else c.margin,
        "doc_share": lambda c: doc_coded(c) / max(ctx.doc_total.get(c.doc_id, 1), 1),
        "doc_coded": doc_coded,
        # The document's own random key breaks ties between equally covered
        # documents, so they are visited in a shuffled, not alphabetical, order.
        "doc_key": lambda c: _doc_key(c.doc_id, ctx),
    }


def term_key(strategy: str, ctx: QueueContext) -> SortKey:
    """The sort key of a strategy in :data:`ORDER_TERMS`.

    Example:
        >>> key = term_key("random", QueueContext())
        >>> key(Candidate("p", "d", 0, order_key=0.5))
        (0.5, 'p')
    """
    values = _term_values(ctx)
    getters = [values[t] for t in ORDER_TERMS[strategy]]
    return lambda c: tuple(g(c) for g in getters)


def key_random(cands: Sequence[Candidate], ctx: QueueContext) -> tuple[SortKey, str]:
    """Stable pseudo-random order."""
    return term_key("random", ctx), "random"


def key_coverage(cands: Sequence[Candidate], ctx: QueueContext) -> tuple[SortKey, str]:
    """Least-covered document first, then the stable random order within it."""
    return term_key("coverage", ctx), "coverage"


def key_uncertainty(cands: Sequence[Candidate], ctx: QueueContext) -> tuple[SortKey, str]:
    """Smallest margin to a threshold first; passages without predictions last."""
    if all(c.margin is None for c in cands):
        return key_random(cands, ctx)[0], "random"
    return term_key("uncertainty", ctx), "uncertainty"


def label_weights(ctx: QueueContext) -> dict[str, float]:
    """Inverse-frequency weight per label, add-one smoothed, normalised to sum to 1.

    Example:
        >>> w = label_weights(QueueContext(label_counts={"a": 9, "b": 0}, n_decided=10, labels=["a", "b"]))
        >>> w["b"] > w["a"]
        True
    """
    raw = {name: 1.0 / (1.0 + ctx.label_counts.get(name, 0)) for name in ctx.labels}
    total = sum(raw.values()) or 1.0
    return {name: value / total for name, value in raw.items()}


def key_rare_label(cands: Sequence[Candidate], ctx: QueueContext) -> tuple[SortKey, str]:
    """Highest expected weight of rare labels first (see the module docstring)."""
    weights = label_weights(ctx)
    # Labels of already labelled passages by (doc, index); beyond PROXIMITY_WINDOW
    # passages the 0.5 ** distance decay is negligible, so only a window is looked at.
    labelled = {(doc, index): applied for doc, rows in ctx.labelled.items() for index, applied in rows}

    def proximity(c: Candidate) -> dict[str, float]:
        near: dict[str, float] = {}
        for offset in range(-PROXIMITY_WINDOW, PROXIMITY_WINDOW + 1):
            applied = labelled.get((c.doc_id, c.index + offset))
            if applied:
                for name in applied:
                    near[name] = max(near.get(name, 0.0), 0.5 ** abs(offset))
        return near

    def score(c: Candidate) -> float:
        probs = c.probs or proximity(c)
        return sum(w * probs.get(name, 0.0) for name, w in weights.items())

    scores = {c.passage_id: score(c) for c in cands}
    coverage, _ = key_coverage(cands, ctx)
    if not any(scores.values()):
        return coverage, "coverage"
    return (lambda c: (-scores[c.passage_id], *coverage(c))), "rare_label"


STRATEGIES: dict[str, KeyMaker] = {
    "random": key_random,
    "coverage": key_coverage,
    "uncertainty": key_uncertainty,
    "rare_label": key_rare_label,
}
"""Queue strategies by name. Add a new name rather than changing what an existing one does."""


def _key(cands: Sequence[Candidate], ctx: QueueContext, strategy: str) -> tuple[SortKey, str]:
    try:
        maker = STRATEGIES[strategy]
    except KeyError:
        raise ValueError(
            f"Unknown queue strategy {strategy!r}. Available: {', '.join(STRATEGIES)}."
        ) from None
    key, used = maker(cands, ctx)
    # Passages others have started and that still need this coder (the overlap
    # share) come first, so agreement can be measured early.
    return (lambda c: (c.n_coded == 0, *key(c))), used


def rank(cands: Sequence[Candidate], ctx: QueueContext, strategy: str) -> tuple[list[Candidate], str]:
    """Order candidates best-first; return them and the strategy actually used.

    Candidates that others have started and that still need this coder (the
    overlap share) come first, in the strategy's order; then the rest.

    Raises:
        ValueError: for an unknown strategy name.

    Example:
        >>> cands = [Candidate("a:1", "a", 0), Candidate("b:1", "b", 0, n_coded=1)]
        >>> [c.passage_id for c in rank(cands, QueueContext(), "random")[0]]
        ['b:1', 'a:1']
    """
    key, used = _key(cands, ctx, strategy)
    return sorted(cands, key=key), used


def choose(cands: Sequence[Candidate], ctx: QueueContext, strategy: str) -> tuple[Candidate | None, str]:
    """Return the best candidate (or ``None`` when there is none) and the strategy used.

    Raises:
        ValueError: for an unknown strategy name.
    """
    if not cands:
        if strategy not in STRATEGIES:
            raise ValueError(f"Unknown queue strategy {strategy!r}. Available: {', '.join(STRATEGIES)}.")
        return None, strategy
    key, used = _key(cands, ctx, strategy)
    return min(cands, key=key), used
