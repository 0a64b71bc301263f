"""Inter-annotator agreement: Krippendorff's alpha (nominal) and Cohen's kappa.

The toolkit's labels are only worth training on if independent annotators
apply them the same way, so agreement is reported per label, with an interval
that says how much the estimate can be trusted on the number of doubly coded
passages at hand.

Everything here is pure Python plus numpy, on purpose:

* the ``krippendorff`` package on PyPI is GPL-3, which this Apache-2.0
  toolkit cannot depend on;
* the same functions serve the annotation web app, the CLI and the lead's
  reports on the project's own annotation passes, so they take plain
  sequences and return plain floats and dicts.

Conventions (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability",
Annenberg School for Communication, University of Pennsylvania):

* A *unit* is one item (a passage, for one label) and holds the values the
  coders gave it. ``None`` (or a missing coder) is a missing value.
* Units with fewer than two values are not *pairable* and are dropped: they
  carry no information about agreement.
* With a single value in the whole reliability data there is no variation to
  agree on and alpha is undefined (0/0): the functions return ``nan`` rather
  than inventing 0 or 1.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np

__all__ = [
    "agreement_summary",
    "bootstrap_alpha",
    "cohen_kappa",
    "coincidence_matrix",
    "krippendorff_alpha_nominal",
    "per_label_agreement",
]

Units = Sequence[Sequence[Hashable | None]]


def _pairable(units: Units) -> tuple[list[Hashable], list[list[int]]]:
    """Return the value vocabulary and each pairable unit as value indices."""
    vocab: dict[Hashable, int] = {}
    coded: list[list[int]] = []
    for unit in units:
        values = [v for v in unit if v is not None and not (isinstance(v, float) and math.isnan(v))]
        if len(values) < 2:
            continue  # not pairable: no information about agreement
        coded.append([vocab.setdefault(v, len(vocab)) for v in values])
    return list(vocab), coded


def _unit_matrices(coded: list[list[int]], k: int) -> np.ndarray:
    """Return one k x k coincidence matrix per unit, stacked as (n_units, k, k).

    Each unit with ``m`` values contributes every ordered pair of values from
    different coders with weight ``1 / (m - 1)``, so that every pairable value
    counts exactly once in the margins (Krippendorff 2011, section B).
    """
    out = np.zeros((len(coded), k, k), dtype=float)
    for u, values in enumerate(coded):
        m = len(values)
        counts = np.bincount(values, minlength=k).astype(float)
        # All ordered pairs (c, k) of values in the unit, minus each value paired with itself.
        out[u] = (np.outer(counts, counts) - np.diag(counts)) / (m - 1)
    return out


def coincidence_matrix(units: Units) -> tuple[list[Hashable], np.ndarray]:
    """Return the value labels and the coincidence matrix ``o[c, k]`` of the data.

    Useful to check a computation against a published table.

    Args:
        units: one sequence of values per unit (``None`` = missing).

    Returns:
        ``(values, o)`` where ``values[i]`` names row and column ``i`` of ``o``.

    Example:
        >>> values, o = coincidence_matrix([["a", "a"], ["a", "b"]])
        >>> values, o.tolist()
        (['a', 'b'], [[2.0, 1.0], [1.0, 0.0]])
    """
    vocab, coded = _pairable(units)
    if not coded:
        return vocab, np.zeros((len(vocab), len(vocab)))
    return vocab, _unit_matrices(coded, len(vocab)).sum(axis=0)


def _alpha_from_coincidences(o: np.ndarray) -> float:
    """Nominal alpha from a coincidence matrix (or a stack of them on axis 0).

    ``alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c n_k`` where
    ``n_c`` are the margins and ``n`` the number of pairable values.
    """
    n_c = o.sum(axis=-1)
    n = n_c.sum(axis=-1)
    observed = o.sum(axis=(-2, -1)) - np.trace(o, axis1=-2, axis2=-1)  # disagreeing pairs
    expected = n**2 - (n_c**2).sum(axis=-1)  # sum_{c != k} n_c n_k
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 1.0 - (n - 1.0) * observed / expected
    return np.where(expected > 0, alpha, np.nan)  # type: ignore[return-value]


def krippendorff_alpha_nominal(units: Units) -> float:
    """Krippendorff's alpha for nominal data, with any number of coders and missing values.

    Alpha is 1 for perfect agreement, 0 for agreement at the level of chance,
    and negative for systematic disagreement. It corrects for chance from the
    pooled distribution of values, so a label that is rarely applied is not
    rewarded for the many easy "no" decisions that inflate raw agreement.

    Args:
        units: one sequence per unit of the values the coders gave it; ``None``
            marks a missing value. Units with fewer than two values are
            dropped. Values may be any hashables (``True``/``False`` for one
            label of a multi-label scheme).

    Returns:
        Alpha, or ``nan`` when it is undefined (no pairable unit, or only one
        distinct value in the data).

    Example:
        Krippendorff's (2011) binary example, two coders, ten units:

        >>> a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
        >>> b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
        >>> round(krippendorff_alpha_nominal(list(zip(a, b))), 3)
        0.095
    """
    vocab, coded = _pairable(units)
    if not coded:
        return float("nan")
    o = _unit_matrices(coded, len(vocab)).sum(axis=0)
    return float(_alpha_from_coincidences(o))


def bootstrap_alpha(
    units: Units,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
) -> tuple[float, float, float]:
    """Alpha with a percentile bootstrap interval obtained by resampling units.

    Units (passages), not single values, are resampled with replacement,
    because the values within one passage are not independent. This is the
    usual cluster bootstrap; it differs from Hayes and Krippendorff's (2007)
    macro, which resamples pairs of values, and gives somewhat wider intervals
    on small samples. Replicates in which alpha is undefined (only one value
    drawn) are left out of the percentiles.

    Args:
        units: as for :func:`krippendorff_alpha_nominal`.
        n_boot: number of bootstrap replicates.
        seed: seed of the random generator, so reports are reproducible.
        ci: coverage of the interval, in (0, 1).

    Returns:
        ``(alpha, low, high)``; all ``nan`` when alpha is undefined.

    Raises:
        ValueError: when ``n_boot`` < 1 or ``ci`` is outside (0, 1).

    Example:
        >>> alpha, low, high = bootstrap_alpha([[1, 1], [0, 0], [1, 0], [0, 0]] * 5, n_boot=200)
        >>> low <= alpha <= high
        True
    """
    if n_boot < 1:
        raise ValueError(f"The 'n_boot' parameter of bootstrap_alpha must be >= 1. Got {n_boot} instead.")
    if not 0.0 < ci < 1.0:
        raise ValueError(
            f"The 'ci' parameter of bootstrap_alpha must be a float in (0, 1). Got {ci} instead."
        )
    vocab, coded = _pairable(units)
    if not coded:
        return (float("nan"),) * 3
    per_unit = _unit_matrices(coded, len(vocab))
    alpha = float(_alpha_from_coincidences(per_unit.sum(axis=0)))
    if math.isnan(alpha):
        return (float("nan"),) * 3
    n_units = len(coded)
    flat = per_unit.reshape(n_units, -1)
    rng = np.random.default_rng(seed)
    replicates = np.empty(n_boot)
    # Draw multinomial counts (how often each unit is picked) in chunks, which
    # equals resampling indices but turns every replicate into one matrix product.
    chunk = max(1, min(n_boot, 2_000_000 // max(n_units, 1)))
    done = 0
    while done < n_boot:
        size = min(chunk, n_boot - done)
        weights = rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=size)
        o = (weights @ flat).reshape(size, len(vocab), len(vocab))
        replicates[done : done + size] = _alpha_from_coincidences(o)
        done += size
    finite = replicates[~np.isnan(replicates)]
    if finite.size == 0:
        return alpha, float("nan"), float("nan")
    tail = (1.0 - ci) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return alpha, float(low), float(high)


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa for two coders who coded the same items.

    Kappa corrects raw agreement for chance using each coder's own marginal
    distribution (alpha pools them). It is reported pairwise so that a
    reviewer can see which annotator reads the codebook differently.

    Args:
        a: the first coder's values, one per item.
        b: the second coder's values, aligned with ``a``.

    Returns:
        Kappa, or ``nan`` when chance agreement is 1 (both coders used one
        and the same value throughout), where kappa is undefined; this matches
        ``sklearn.metrics.cohen_kappa_score``.

    Raises:
        ValueError: when the sequences differ in length or are empty.

    Example:
        >>> cohen_kappa([1, 1, 0, 0], [1, 0, 0, 0])
        0.5
    """
    if len(a) != len(b):
        raise ValueError(
            f"cohen_kappa needs two sequences of equal length. Got {len(a)} and {len(b)} instead."
        )
    n = len(a)
    if n == 0:
        raise ValueError("cohen_kappa needs at least one item coded by both coders. Got none.")
    vocab = {v: i for i, v in enumerate(dict.fromkeys([*a, *b]))}
    table = np.zeros((len(vocab), len(vocab)))
    for x, y in zip(a, b, strict=True):
        table[vocab[x], vocab[y]] += 1
    p_observed = np.trace(table) / n
    p_expected = float(table.sum(axis=1) @ table.sum(axis=0)) / n**2
    if p_expected >= 1.0:
        return float("nan")
    return float((p_observed - p_expected) / (1.0 - p_expected))


def per_label_agreement(
    decisions: Iterable[tuple[str, str, Iterable[str]]],
    *,
    labels: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
) -> list[dict[str, Any]]:
    """Agreement per label of a multi-label scheme, treating each label as a yes/no decision.

    Each label of the codebook is an independent yes/no decision, so agreement
    is measured per label: a passage is a unit, and each annotator who coded
    it contributes ``True`` (label applied) or ``False``. Passages coded by
    only one annotator are not pairable and do not count.

    Args:
        decisions: ``(item_id, annotator, labels)`` triples, one per decision;
            ``labels`` are the labels the annotator applied (empty: none
            apply). Leave skipped passages out: a skip is not a "no".
        labels: the labels to report, in order; default: the codebook's.
        n_boot: bootstrap replicates for the alpha interval (0: no interval).
        seed: seed of the bootstrap, for reproducible reports.
        ci: coverage of the interval.

    Returns:
        One dict per label with ``label``, ``alpha``, ``alpha_low``,
        ``alpha_high``, ``n_items`` (pairable passages), ``n_annotators``,
        ``n_positive`` (decisions applying the label), ``percent_agreement``
        (share of agreeing annotator pairs, for readers used to it), and
        ``pairwise``: a list of ``{"annotator_a", "annotator_b", "n_items",
        "kappa"}`` for each pair that coded at least one passage in common.
        Undefined values are ``nan``.

    Raises:
        ValueError: when one annotator appears twice for the same item, or a
            label is not in ``labels``.

    Example:
        >>> rows = per_label_agreement(
        ...     [("p1", "ann", {"equity"}), ("p1", "bob", {"equity"}), ("p2", "ann", set()), ("p2", "bob", set())],
        ...     labels=["equity"], n_boot=0)
        >>> rows[0]["alpha"], rows[0]["n_items"], rows[0]["pairwise"][0]["kappa"]
        (1.0, 2, 1.0)
    """
    if labels is None:
        from .codebook import LABELS

        labels = LABELS
    label_set = set(labels)
    by_item: dict[str, dict[str, frozenset[str]]] = defaultdict(dict)
    for item_id, annotator, applied in decisions:
        applied = frozenset(applied)
        unknown = applied - label_set
        if unknown:
            raise ValueError(
                f"Decision of {annotator!r} on {item_id!r} has unknown label(s) {sorted(unknown)}. "
                f"Expected labels among: {', '.join(labels)}."
            )
        if annotator in by_item[item_id]:
            raise ValueError(
                f"Annotator {annotator!r} has two decisions on item {item_id!r}. "
                "Pass only each annotator's current decision."
            )
        by_item[item_id][annotator] = applied
    shared = {item: coders for item, coders in by_item.items() if len(coders) >= 2}
    annotators = sorted({a for coders in shared.values() for a in coders})
    pairs: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item, coders in shared.items():
        for x, y in combinations(sorted(coders), 2):
            pairs[(x, y)].append(item)

    rows: list[dict[str, Any]] = []
    for label in labels:
        units = [[label in applied for applied in coders.values()] for coders in shared.values()]
        if n_boot > 0:
            alpha, low, high = bootstrap_alpha(units, n_boot=n_boot, seed=seed, ci=ci)
        else:
            alpha, low, high = krippendorff_alpha_nominal(units), float("nan"), float("nan")
        agree = total = 0
        for unit in units:
            for x, y in combinations(unit, 2):
                agree += x == y
                total += 1
        pairwise = []
        for (x, y), items in sorted(pairs.items()):
            va = [label in shared[i][x] for i in items]
            vb = [label in shared[i][y] for i in items]
            pairwise.append(
                {"annotator_a": x, "annotator_b": y, "n_items": len(items), "kappa": cohen_kappa(va, vb)}
            )
        rows.append(
            {
                "label": label,
                "alpha": alpha,
                "alpha_low": low,
                "alpha_high": high,
                "ci": ci,
                "n_items": len(units),
                "n_annotators": len(annotators),
                "n_positive": sum(sum(unit) for unit in units),
                "percent_agreement": agree / total if total else float("nan"),
                "pairwise": pairwise,
            }
        )
    return rows


def agreement_summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Summarise :func:`per_label_agreement` rows: the mean and minimum alpha over defined labels.

    Krippendorff (2004) suggests relying on variables with alpha >= 0.800 and
    drawing tentative conclusions from 0.667 upwards; the minimum tells whether
    every label clears that bar, the mean how the scheme does overall.

    Example:
        >>> agreement_summary([{"label": "a", "alpha": 0.9}, {"label": "b", "alpha": 0.7}])["min_alpha"]
        0.7
    """
    defined = [(r["label"], float(r["alpha"])) for r in rows if not math.isnan(float(r["alpha"]))]
    if not defined:
        return {"mean_alpha": float("nan"), "min_alpha": float("nan"), "weakest_label": None, "n_labels": 0}
    weakest = min(defined, key=lambda x: x[1])
    return {
        "mean_alpha": sum(a for _, a in defined) / len(defined),
        "min_alpha": weakest[1],
        "weakest_label": weakest[0],
        "n_labels": len(defined),
    }
