"""Stage 4: document blind-spot scores, exactly as the codebook defines them.

Every score is a ratio of counts *N(l)*: the number of the document's
passages with label *l*, or with any label of a union. Given gold labels (or
any matrix to be summed as it is), ``N(l) = sum_i p_i(l)`` and
``N(l1 or l2) = sum_i p_i(l1 or l2)``, the union probability being ``max``
(the codebook's default where the model gives none) or noisy-OR, as
configured. Given a classifier's predictions, the counts are estimated by a
:class:`~cocreation_nlp.quantify.CountEstimator` (the ``basis`` setting:
summed probabilities, counted decisions, or a quantification method that
corrects them with the classifier's out-of-fold error rates); the formulas
stay the codebook's, only the counts change.

A ratio whose denominator is below ``min_denominator`` passages is undefined:
an empty value with a reason, never an invented 0 or 1. The rule is applied to
estimated counts exactly as to hand-labelled ones. Each score has a bootstrap
interval (seeded per document, so runs are reproducible) over the document's
passages and, for ``acc`` and ``pacc``, over the classifier's error rates
too; and the passages that drive it as evidence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .codebook import LABELS
from .config import ScoreConfig
from .quantify import VARIABLES, CountEstimator, variable_name

SCORES: tuple[str, ...] = (
    "participation",
    "professional_blind_spot",
    "collective_blind_spot",
    "consultation_share",
    "equity_coverage",
    "systemic_coverage",
)
FLAGS: tuple[str, ...] = ("inequality_risk", "sustainability_risk")
_L = {label: i for i, label in enumerate(LABELS)}
CITIZENS = ("individual", "collective")
INVOLVEMENT = ("individual", "collective", "cocreation", "consultation")

# score -> (numerator labels, denominator labels or None for "number of passages", kind)
# kind: "share" = num/den; "blind" = 1 - min(1, num/den); "coverage" = min(1, num/den)
DEFINITIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None, str]] = {
    "participation": (INVOLVEMENT, None, "share"),
    "professional_blind_spot": (("professionals",), CITIZENS, "blind"),
    "collective_blind_spot": (("collective",), ("individual",), "blind"),
    "consultation_share": (("consultation",), ("consultation", "cocreation"), "share"),
    "equity_coverage": (("equity",), CITIZENS, "coverage"),
    "systemic_coverage": (("systemic",), ("individual", "collective", "cocreation"), "coverage"),
}


@dataclass(slots=True)
class Evidence:
    """A passage that drives a score."""

    score: str
    role: str  # "numerator" or "denominator"
    rank: int
    passage_index: int
    probability: float


@dataclass(slots=True)
class DocumentScores:
    """All scores of one document, with intervals, reasons, counts and evidence."""

    doc_id: str
    n_passages: int
    n_scored: int
    values: dict[str, float | None]
    low: dict[str, float | None]
    high: dict[str, float | None]
    reasons: dict[str, str]
    flags: dict[str, bool | None]
    counts: dict[str, float]
    evidence: list[Evidence] = field(default_factory=list)
    count_method: str = "probabilities"


def union_prob(probs: np.ndarray, labels: Sequence[str], method: str = "max") -> np.ndarray:
    """Per-passage probability that at least one of ``labels`` applies.

    Example:
        >>> p = np.array([[0.2, 0.5, 0, 0, 0, 0, 0]])
        >>> float(union_prob(p, ("individual", "collective"))[0])
        0.5
    """
    cols = probs[:, [_L[label] for label in labels]]
    if len(labels) == 1:
        return cols[:, 0]
    if method == "noisy_or":
        return 1.0 - np.prod(1.0 - cols, axis=1)
    return cols.max(axis=1)


_VAR_INDEX = {labels: j for j, labels in enumerate(VARIABLES.values())}


def _values_from_counts(counts: np.ndarray, n: int, cfg: ScoreConfig) -> dict[str, np.ndarray]:
    """The six scores from counts in :data:`VARIABLES` order: ``(V,)`` gives 0-d arrays, ``(B, V)`` gives ``(B,)``.

    NaN marks an undefined ratio (denominator below the minimum).
    """
    out: dict[str, np.ndarray] = {}
    for name, (num_l, den_l, kind) in DEFINITIONS.items():
        num = counts[..., _VAR_INDEX[num_l]]
        den = np.full(num.shape, float(n)) if den_l is None else counts[..., _VAR_INDEX[den_l]]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = num / den
        if kind == "blind":
            r = 1.0 - np.minimum(1.0, r)
        elif kind == "coverage":
            r = np.minimum(1.0, r)
        out[name] = np.where(den < cfg.min_denominator, np.nan, r)
    return out


def _as_value(x: np.ndarray) -> float | None:
    v = float(x)
    return None if v != v else v


def _reason(name: str, den: float, cfg: ScoreConfig) -> str:
    _, den_l, _ = DEFINITIONS[name]
    what = "passages" if den_l is None else "expected passages labelled " + " or ".join(den_l)
    return f"undefined: {den:.2f} {what}, below the minimum of {cfg.min_denominator:g}"


def _doc_seed(doc_id: str, seed: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{doc_id}".encode()).digest()[:8], "little")


def _flags(values: dict[str, float | None], cfg: ScoreConfig) -> dict[str, bool | None]:
    cb, eq = values["collective_blind_spot"], values["equity_coverage"]
    pb, sy = values["professional_blind_spot"], values["systemic_coverage"]
    return {
        "inequality_risk": None
        if cb is None or eq is None
        else bool(cb >= cfg.blind_spot_high and eq <= cfg.coverage_low),
        "sustainability_risk": None
        if pb is None or sy is None
        else bool(pb >= cfg.blind_spot_high and sy <= cfg.coverage_low),
    }


def score_document(
    doc_id: str,
    probs: np.ndarray,
    cfg: ScoreConfig | None = None,
    *,
    in_scope: Sequence[bool] | None = None,
    decisions: np.ndarray | None = None,
    sources: Sequence[str] | None = None,
    estimator: CountEstimator | None = None,
) -> DocumentScores:
    """Compute every codebook score of one document from its passages' labels or predictions.

    Args:
        doc_id: The document's id (seeds its bootstrap).
        probs: ``(n_passages, 7)`` probabilities in codebook label order. Gold
            labels are probabilities of 0 and 1.
        cfg: Score settings.
        in_scope: Passages the model could score; the others (a language
            outside the model's scope, with no rule lexicon) are left out of every count.
        decisions: ``(n_passages, 7)`` decisions at the model's thresholds
            (needed by the ``decisions`` and ``acc`` estimators; default ``probs >= 0.5``).
        sources: Per passage, ``model`` or ``rules`` (the rule fallback), so
            that each part is counted with its own error rates.
        estimator: How the counts are estimated. ``None`` sums ``probs`` as
            given: the codebook's definition, right for gold labels.

    Example:
        >>> p = np.zeros((4, 7)); p[:, 0] = 1.0          # four passages about individual citizens
        >>> s = score_document("d", p, ScoreConfig(n_bootstrap=0))
        >>> s.values["professional_blind_spot"], s.values["collective_blind_spot"]
        (1.0, 1.0)
    """
    cfg = cfg or ScoreConfig()
    probs = np.asarray(probs, dtype=float)
    n_total = probs.shape[0]
    dec = probs >= 0.5 if decisions is None else np.asarray(decisions, dtype=bool)
    src = np.asarray(["model"] * n_total if sources is None else list(sources), dtype=object)
    est = estimator if estimator is not None else CountEstimator("probabilities", cfg.union)
    if in_scope is not None:
        mask = np.asarray(in_scope, dtype=bool)
        probs, dec, src = probs[mask], dec[mask], src[mask]
        index_map = np.flatnonzero(mask)
    else:
        index_map = np.arange(n_total)
    n = probs.shape[0]
    sources_present = sorted(set(src.tolist()))
    count_vec = est.counts(probs, dec, src) if n else np.zeros(len(VARIABLES))
    values = (
        {k: _as_value(v) for k, v in _values_from_counts(count_vec, n, cfg).items()}
        if n
        else dict.fromkeys(SCORES)
    )
    counts: dict[str, float] = {f"n_{name}": float(c) for name, c in zip(VARIABLES, count_vec, strict=True)}
    reasons: dict[str, str] = {}
    for name, (_, den_l, _) in DEFINITIONS.items():
        if values[name] is None:
            if n == 0:
                reasons[name] = (
                    "undefined: no passage in the model's scope" if n_total else "undefined: no passages"
                )
            else:
                den = float(n) if den_l is None else counts["n_" + variable_name(den_l)]
                reasons[name] = _reason(name, den, cfg)
    low: dict[str, float | None] = dict.fromkeys(SCORES)
    high: dict[str, float | None] = dict.fromkeys(SCORES)
    if cfg.n_bootstrap and n >= 2:
        rng = np.random.default_rng(_doc_seed(doc_id, cfg.seed))
        draws = _values_from_counts(est.count_draws(probs, dec, src, cfg.n_bootstrap, rng), n, cfg)
        alpha = (1 - cfg.ci) / 2
        for name in SCORES:
            # An interval is reported only where the score itself is defined and
            # most resamples define it too; otherwise it would describe a
            # different population of documents.
            arr = draws[name][~np.isnan(draws[name])]
            if values[name] is not None and len(arr) >= 0.5 * cfg.n_bootstrap:
                low[name] = float(np.quantile(arr, alpha))
                high[name] = float(np.quantile(arr, 1 - alpha))
    evidence: list[Evidence] = []
    if n:
        for name, (num_l, den_l, _) in DEFINITIONS.items():
            roles = [("numerator", num_l)] + (
                [("denominator", den_l)] if den_l is not None and den_l != num_l else []
            )
            for role, labels in roles:
                u = union_prob(probs, labels, cfg.union)
                order = np.argsort(-u, kind="stable")[: cfg.top_k]
                for rank, j in enumerate(order, start=1):
                    if u[j] <= 0.05:
                        break
                    evidence.append(Evidence(name, role, rank, int(index_map[j]), float(u[j])))
    return DocumentScores(
        doc_id=doc_id,
        n_passages=n_total,
        n_scored=n,
        values=values,
        low=low,
        high=high,
        reasons=reasons,
        flags=_flags(values, cfg),
        counts=counts,
        evidence=evidence,
        count_method=est.describe(sources_present) if estimator is not None else "probabilities",
    )
