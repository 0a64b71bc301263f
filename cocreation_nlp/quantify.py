"""Document label counts as prevalence estimates (quantification).

The codebook's document scores are ratios of *N(l)*, the number of a
document's passages that carry label *l* (or a union of labels). Summing a
classifier's calibrated probabilities (``probabilities``, probabilistic
classify-and-count) pulls every document toward the training corpus's base
rates; counting its decisions (``decisions``, classify-and-count) carries its
false positives and misses at full weight. Quantification corrects the counts
with the classifier's error rates measured on grouped out-of-fold predictions,
never on the passages being counted:

- ``acc``, adjusted classify-and-count (Forman 2008):
  ``p = (cc - fpr) / (tpr - fpr)``, clipped to [0, 1];
- ``pacc``, probabilistic ACC (Bella et al. 2010): the same with the mean
  probability in place of the decision rate, and the mean out-of-fold
  probability of positive and negative passages in place of tpr and fpr;
- ``sld``, EM re-estimation of the prior (Saerens, Latinne and Decaestecker
  2002): posteriors rescaled by ``q / pi`` until the prevalence ``q`` is
  stable, ``pi`` being the out-of-fold prevalence.

Each union the scores need (``individual or collective`` ...) is quantified as
a binary variable of its own, from the union probability (``max`` or
``noisy_or``, as configured) and the union decision (any member decided), with
its own out-of-fold rates; the counts are then made consistent (a union is at
least its largest member and at most the sum of its labels). The formulas agree
with QuaPy's ``ACC``, ``PACC`` and ``EMQ`` (tests/test_quantify.py).

Classifier error varies from document to document, so the parameters also
carry a random-effects summary of each rate across the training documents
(DerSimonian-Laird between-document variance). The bootstrap of a score draws
passages with replacement *and* the rates from that spread, so its interval
carries both sampling of passages and the classifier's error.

Parameters for passages outside the model's languages, which production scores
with the rule lexicon, are the rule lexicon's own rates (key ``rules``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .codebook import LABELS
from .util import language_code

PARAMETERS_FORMAT = 1
"""Version of the parameters dictionary saved under ``meta.json["quantification"]``."""

METHODS: tuple[str, ...] = ("probabilities", "decisions", "acc", "pacc", "sld")
"""Count estimators; the first two are the codebook's literal sums of probabilities or decisions."""
NEEDS_PARAMETERS: frozenset[str] = frozenset({"acc", "pacc", "sld"})
SOURCES: tuple[str, ...] = ("model", "rules")
"""Who scored a passage: the learned model, or the rule lexicon (languages outside the model's)."""

UNIONS: tuple[tuple[str, ...], ...] = (
    ("individual", "collective"),
    ("consultation", "cocreation"),
    ("individual", "collective", "cocreation"),
    ("individual", "collective", "cocreation", "consultation"),
)
"""The unions of labels that the codebook's scores divide by (see ``score.DEFINITIONS``)."""


def variable_name(labels: Sequence[str]) -> str:
    """The count's name without its ``n_`` prefix: ``individual_or_collective``."""
    return "_or_".join(labels)


VARIABLES: dict[str, tuple[str, ...]] = {
    **{label: (label,) for label in LABELS},
    **{variable_name(u): u for u in UNIONS},
}
"""Every count a document score needs: the seven labels and the unions."""
_VAR_NAMES = tuple(VARIABLES)
_L = {label: i for i, label in enumerate(LABELS)}
MIN_GAP = 0.05
"""Below this gap between the two rates (tpr - fpr) an adjustment divides noise by almost zero:
the estimator then returns the unadjusted rate, as QuaPy's ``exact-cc`` solver does for a singular system."""
SLD_MAX_ITER = 1000
SLD_EPSILON = 1e-4


# ----------------------------------------------------------------------------- per-passage variables


def variable_matrices(
    probs: np.ndarray, decisions: np.ndarray, union: str = "max"
) -> tuple[np.ndarray, np.ndarray]:
    """Per passage and count variable: the union probability and the union decision.

    Returns:
        ``(scores, decisions)``, each of shape ``(n, len(VARIABLES))`` in
        :data:`VARIABLES` order. A union's probability is the members' ``max``
        (the codebook's default) or noisy-OR; its decision is "any member
        decided".
    """
    probs = np.asarray(probs, dtype=float).reshape(-1, len(LABELS))
    decisions = np.asarray(decisions, dtype=bool).reshape(-1, len(LABELS))
    s = np.empty((probs.shape[0], len(VARIABLES)))
    d = np.empty((probs.shape[0], len(VARIABLES)), dtype=bool)
    for j, labels in enumerate(VARIABLES.values()):
        cols = [_L[label] for label in labels]
        block = probs[:, cols]
        if len(cols) == 1:
            s[:, j] = block[:, 0]
        elif union == "noisy_or":
            s[:, j] = 1.0 - np.prod(1.0 - block, axis=1)
        else:
            s[:, j] = block.max(axis=1)
        d[:, j] = decisions[:, cols].any(axis=1)
    return s, d


def _truth_matrix(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y).astype(bool).reshape(-1, len(LABELS))
    return np.stack([y[:, [_L[label] for label in labels]].any(axis=1) for labels in VARIABLES.values()], 1)


# ----------------------------------------------------------------------------- parameters from OOF predictions


def random_effects(x: np.ndarray, n: np.ndarray, unit_var: float) -> dict[str, float]:
    """Pooled rate of per-document proportions ``x / n`` and its spread across documents.

    DerSimonian-Laird: ``tau2`` is the between-document variance left after
    the within-document sampling variance (``unit_var / n``) is taken out;
    ``var_of_mean`` is the variance of the pooled rate under that model.
    Documents with ``n == 0`` carry no information and are left out.
    """
    keep = n > 0
    x, n = np.asarray(x, float)[keep], np.asarray(n, float)[keep]
    total = float(n.sum())
    mean = float(x.sum() / total) if total else 0.0
    if len(n) < 2 or unit_var <= 0:
        return {"mean": mean, "between_doc_var": 0.0, "var_of_mean": unit_var / total if total else 0.0}
    w = n / unit_var
    q = float((w * (x / n - mean) ** 2).sum())
    c = float(w.sum() - (w**2).sum() / w.sum())
    tau2 = max(0.0, (q - (len(n) - 1)) / c) if c > 0 else 0.0
    var_of_mean = float(1.0 / (1.0 / (unit_var / n + tau2)).sum())
    return {"mean": mean, "between_doc_var": tau2, "var_of_mean": var_of_mean}


MIN_CORRELATION_DOCS = 5


def _between_correlation(
    xp: np.ndarray,
    n_pos: np.ndarray,
    xn: np.ndarray,
    n_neg: np.ndarray,
    rp: Mapping,
    rn: Mapping,
    eligible: np.ndarray,
) -> float | None:
    """Between-document correlation of a document's two rates (e.g. its tpr and its fpr).

    A classifier that runs "hot" on a document raises both its rates there,
    and an adjustment's error depends on how the two move together. The
    covariance of per-document rates (the two rates come from disjoint
    passages, so sampling noise does not covary) is divided by the
    between-document standard deviations; ``None`` when fewer than
    :data:`MIN_CORRELATION_DOCS` documents have 5+ positive and 5+ negative passages.
    """
    if eligible.sum() < MIN_CORRELATION_DOCS:
        return None
    a = xp[eligible] / n_pos[eligible]
    b = xn[eligible] / n_neg[eligible]
    denom = float(np.sqrt(rp["between_doc_var"] * rn["between_doc_var"]))
    if denom <= 0:
        return 0.0
    cov = float(np.cov(a, b)[0, 1])
    return float(np.clip(cov / denom, 0.0, 1.0))


def _fill_correlations(variables: dict[str, dict]) -> None:
    """Variables with too few documents to estimate a correlation get the median of the others (0 if none)."""
    for kind in ("decisions", "max", "noisy_or"):
        known = [
            v["rate_correlation"][kind] for v in variables.values() if v["rate_correlation"][kind] is not None
        ]
        fallback = float(np.median(known)) if known else 0.0
        for v in variables.values():
            if v["rate_correlation"][kind] is None:
                v["rate_correlation"][kind] = fallback


def quantification_parameters(
    y: np.ndarray,
    probs: np.ndarray,
    thresholds: np.ndarray | float,
    groups: Sequence[str] | np.ndarray,
) -> dict:
    """Turn grouped out-of-fold predictions into what the count estimators need.

    Args:
        y: ``(n, 7)`` hand labels (0/1) in codebook order.
        probs: ``(n, 7)`` out-of-fold calibrated probabilities: each passage
            scored by a model that never saw its document.
        thresholds: the decision thresholds the out-of-fold decisions used:
            ``(7,)``, ``(n, 7)`` (the threshold of each passage's fold) or a scalar.
        groups: each passage's document id (the unit of the rates' spread).

    Returns:
        A JSON-able dict (format :data:`PARAMETERS_FORMAT`), described by
        :func:`parameters_format`.
    """
    y = np.asarray(y).astype(bool).reshape(-1, len(LABELS))
    probs = np.asarray(probs, dtype=float).reshape(-1, len(LABELS))
    thr = np.broadcast_to(np.asarray(thresholds, dtype=float), probs.shape)
    groups = np.asarray(groups)
    if not (len(y) == len(probs) == len(groups)):
        raise ValueError("y, probs and groups must have one row per passage")
    _, codes = np.unique(groups, return_inverse=True) if len(groups) else (np.array([]), np.array([], int))
    n_docs = int(codes.max() + 1) if len(codes) else 0
    decisions = probs >= thr
    truth = _truth_matrix(y)
    variables: dict[str, dict] = {}
    soft = {u: variable_matrices(probs, decisions, u)[0] for u in ("max", "noisy_or")}
    hard = variable_matrices(probs, decisions, "max")[1]
    for j, (name, labels) in enumerate(VARIABLES.items()):
        t, d = truth[:, j], hard[:, j]
        n_pos = np.bincount(codes, weights=t, minlength=n_docs)
        n_neg = np.bincount(codes, weights=~t, minlength=n_docs)
        tp = np.bincount(codes, weights=t & d, minlength=n_docs)
        fp = np.bincount(codes, weights=~t & d, minlength=n_docs)
        tpr = float(tp.sum() / n_pos.sum()) if n_pos.sum() else 0.0
        fpr = float(fp.sum() / n_neg.sum()) if n_neg.sum() else 0.0
        eligible = (n_pos >= 5) & (n_neg >= 5)
        entry: dict = {
            "labels": list(labels),
            "n_positive": int(n_pos.sum()),
            "n_negative": int(n_neg.sum()),
            "prevalence": float(t.mean()) if len(t) else 0.0,
            "tp": int(tp.sum()),
            "fp": int(fp.sum()),
            "tpr": random_effects(tp, n_pos, tpr * (1 - tpr)),
            "fpr": random_effects(fp, n_neg, fpr * (1 - fpr)),
            "mean_prob_positive": {},
            "mean_prob_negative": {},
            "rate_correlation": {},
        }
        entry["rate_correlation"]["decisions"] = _between_correlation(
            tp, n_pos, fp, n_neg, entry["tpr"], entry["fpr"], eligible
        )
        for union, s in soft.items():
            sj = s[:, j]
            vp = float(sj[t].var()) if t.sum() > 1 else 0.0
            vn = float(sj[~t].var()) if (~t).sum() > 1 else 0.0
            xp = np.bincount(codes, weights=np.where(t, sj, 0.0), minlength=n_docs)
            xn = np.bincount(codes, weights=np.where(~t, sj, 0.0), minlength=n_docs)
            entry["mean_prob_positive"][union] = random_effects(xp, n_pos, vp)
            entry["mean_prob_negative"][union] = random_effects(xn, n_neg, vn)
            entry["rate_correlation"][union] = _between_correlation(
                xp,
                n_pos,
                xn,
                n_neg,
                entry["mean_prob_positive"][union],
                entry["mean_prob_negative"][union],
                eligible,
            )
        variables[name] = entry
    _fill_correlations(variables)
    return {
        "format": PARAMETERS_FORMAT,
        "n_passages": len(y),
        "n_documents": n_docs,
        "variables": variables,
    }


def parameters_format() -> str:
    """A description of the parameters dictionary, for model cards and integrators."""
    return (
        "`quantification` = {format, source, model: P, rules: P}; P = {format, n_passages, n_documents, "
        "variables: {name: {labels, n_positive, n_negative, prevalence, tp, fp, tpr: R, fpr: R, "
        "mean_prob_positive: {max: R, noisy_or: R}, mean_prob_negative: {max: R, noisy_or: R}, "
        "rate_correlation: {decisions: c, max: c, noisy_or: c}}}}; "
        "R = {mean, between_doc_var, var_of_mean}. Names: the 7 labels and the unions "
        + ", ".join(variable_name(u) for u in UNIONS)
        + "."
    )


# ----------------------------------------------------------------------------- estimators


def adjust(observed: np.ndarray | float, pos: np.ndarray | float, neg: np.ndarray | float) -> np.ndarray:
    """``(observed - neg) / (pos - neg)`` clipped to [0, 1]; ``observed`` where the gap is below :data:`MIN_GAP`."""
    observed, pos, neg = np.broadcast_arrays(
        np.asarray(observed, float), np.asarray(pos, float), np.asarray(neg, float)
    )
    gap = pos - neg
    ok = gap >= MIN_GAP
    out = np.where(ok, (observed - neg) / np.where(ok, gap, 1.0), observed)
    return np.clip(out, 0.0, 1.0)


def sld_prevalence(
    scores: np.ndarray, prior: float, weights: np.ndarray | None = None, *, epsilon: float = SLD_EPSILON
) -> np.ndarray:
    """EM re-estimation of a binary prevalence (Saerens, Latinne and Decaestecker 2002).

    Args:
        scores: ``(n,)`` posteriors of the positive class, or ``(B, n)``.
        prior: the prevalence the posteriors were calibrated to (out-of-fold).
        weights: ``(B, n)`` passage multiplicities of bootstrap draws (each row
            sums to n); with them, ``scores`` is ``(n,)`` and one estimate per draw
            is returned.
        epsilon: convergence tolerance, and the smoothing of a zero prior.

    Returns:
        The prevalence estimate(s): a 0-d array, or shape ``(B,)``.

    The loop follows QuaPy's ``EMQ.EM``: a zero prior is smoothed by
    ``epsilon``, and iteration stops when the estimate moves by less than
    ``epsilon`` after at least ten rounds.
    """
    s = np.clip(np.asarray(scores, dtype=float), 0.0, 1.0)
    pi = np.array([1.0 - prior, prior], dtype=float)
    if np.prod(pi) == 0:
        pi = (pi + epsilon) / (pi + epsilon).sum()
    if weights is not None:
        w = np.asarray(weights, dtype=float)
        total = w.sum(axis=1)
    else:
        w = None
    q = np.full(s.shape[:-1] if w is None else (w.shape[0],), pi[1])
    for it in range(SLD_MAX_ITER):
        qq = q[..., None]
        pos = qq / pi[1] * s
        neg = (1.0 - qq) / pi[0] * (1.0 - s)
        den = pos + neg
        post = np.divide(pos, den, out=np.full(np.broadcast_shapes(pos.shape, den.shape), qq), where=den > 0)
        new = post.mean(axis=-1) if w is None else (post * w).sum(axis=1) / total
        done = np.abs(new - q).max() < epsilon and it > 10
        q = new
        if done:
            break
    return q


@dataclass(slots=True)
class CountEstimator:
    """Estimates a document's counts N(v) for every variable of :data:`VARIABLES`.

    Attributes:
        method: one of :data:`METHODS`.
        union: how a union's probability is formed (``max`` or ``noisy_or``).
        parameters: per source (``model``/``rules``), the output of
            :func:`quantification_parameters`. A source without parameters is
            counted with its decisions (``used`` says so).
    """

    method: str = "probabilities"
    union: str = "max"
    parameters: Mapping[str, Mapping] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown count method {self.method!r}; choose one of {', '.join(METHODS)}")

    def method_for(self, source: str) -> str:
        """The method actually applied to passages of ``source``."""
        if self.method in NEEDS_PARAMETERS and not self.parameters.get(source):
            return "decisions"
        return self.method

    def describe(self, sources: Sequence[str] = SOURCES) -> str:
        """What was used, e.g. ``pacc``, ``pacc (rules: decisions, no quantification parameters)``.

        A classifier with no parameters at all (rule-only scoring, a model
        trained before they existed) says ``decisions (no quantification
        parameters for pacc)``.
        """
        if self.method in NEEDS_PARAMETERS and not any(self.parameters.get(s) for s in SOURCES):
            return f"decisions (no quantification parameters for {self.method})"
        notes = [
            f"{s}: decisions, no quantification parameters"
            for s in sources
            if self.method_for(s) != self.method
        ]
        return self.method + (f" ({'; '.join(notes)})" if notes else "")

    # -- one source ---------------------------------------------------------------------------

    def _prevalence(self, source: str, s: np.ndarray, d: np.ndarray, j: int) -> float:
        method = self.method_for(source)
        if method == "probabilities":
            return float(s.mean())
        if method == "decisions":
            return float(d.mean())
        v = self.parameters[source]["variables"][_VAR_NAMES[j]]
        if method == "acc":
            return float(adjust(d.mean(), v["tpr"]["mean"], v["fpr"]["mean"]))
        if method == "pacc":
            return float(
                adjust(
                    s.mean(),
                    v["mean_prob_positive"][self.union]["mean"],
                    v["mean_prob_negative"][self.union]["mean"],
                )
            )
        return float(sld_prevalence(s, v["prevalence"]))

    def _prevalence_draws(
        self, source: str, s: np.ndarray, d: np.ndarray, w: np.ndarray, j: int, rng: np.random.Generator
    ) -> np.ndarray:
        method = self.method_for(source)
        n = s.shape[0]
        if method in ("probabilities", "decisions", "acc", "pacc"):
            obs = w @ (d.astype(float) if method in ("decisions", "acc") else s) / n
            if method in ("probabilities", "decisions"):
                return obs
            v = self.parameters[source]["variables"][_VAR_NAMES[j]]
            if method == "acc":
                pos, neg = v["tpr"], v["fpr"]
            else:
                pos, neg = v["mean_prob_positive"][self.union], v["mean_prob_negative"][self.union]
            rho = v["rate_correlation"]["decisions" if method == "acc" else self.union]
            pos_draws, neg_draws = draw_rate_pair(pos, neg, rho, w.shape[0], rng)
            return adjust(obs, pos_draws, neg_draws)
        v = self.parameters[source]["variables"][_VAR_NAMES[j]]
        return sld_prevalence(s, v["prevalence"], weights=w)

    # -- documents ----------------------------------------------------------------------------

    def counts(self, probs: np.ndarray, decisions: np.ndarray, sources: Sequence[str]) -> np.ndarray:
        """Point estimates ``(len(VARIABLES),)`` for one document's passages."""
        s, d = variable_matrices(probs, decisions, self.union)
        src = np.asarray(sources)
        out = np.zeros(len(VARIABLES))
        for source in np.unique(src):
            m = src == source
            k = int(m.sum())
            for j in range(len(VARIABLES)):
                out[j] += k * self._prevalence(str(source), s[m, j], d[m, j], j)
        return consistent_counts(out, len(src))

    def count_draws(
        self,
        probs: np.ndarray,
        decisions: np.ndarray,
        sources: Sequence[str],
        n_draws: int,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Bootstrap draws ``(n_draws, len(VARIABLES))``: passages resampled, rates drawn from their spread.

        Passages are resampled within each source (the numbers of model- and
        rule-scored passages are fixed by the document's languages).
        """
        s, d = variable_matrices(probs, decisions, self.union)
        src = np.asarray(sources)
        out = np.zeros((n_draws, len(VARIABLES)))
        for source in np.unique(src):
            m = np.flatnonzero(src == source)
            k = len(m)
            w = rng.multinomial(k, np.full(k, 1.0 / k), size=n_draws).astype(float)
            for j in range(len(VARIABLES)):
                out[:, j] += k * self._prevalence_draws(str(source), s[m, j], d[m, j], w, j, rng)
        return consistent_counts(out, len(src))


def _beta_params(rate: Mapping[str, float]) -> tuple[float, float, float]:
    """(mean, a, b) of the beta with the rate's pooled mean and its between-document plus estimation variance.

    ``a`` and ``b`` are 0 when the variance is nil (the rate is then the mean itself).
    """
    mean = float(rate["mean"])
    var = float(rate.get("between_doc_var", 0.0)) + float(rate.get("var_of_mean", 0.0))
    if var <= 1e-12:
        return mean, 0.0, 0.0
    mu = min(max(mean, 1e-6), 1 - 1e-6)
    var = min(var, mu * (1 - mu) * 0.999)
    c = mu * (1 - mu) / var - 1.0
    return mean, mu * c, (1 - mu) * c


_Z_GRID = np.linspace(-8.0, 8.0, 4097)


@lru_cache(maxsize=256)
def _beta_quantile_table(a: float, b: float) -> np.ndarray:
    """The beta(a, b) quantile at each standard-normal point of ``_Z_GRID`` (computed once per rate)."""
    from scipy.special import betaincinv, ndtr

    return betaincinv(a, b, ndtr(_Z_GRID))


def _beta_quantile_z(rate: Mapping[str, float], z: np.ndarray) -> np.ndarray:
    """The rate's beta quantile at the normal scores ``z`` (Gaussian-copula draws).

    Interpolated in a table over ``z`` that each rate computes once: the exact inverse incomplete
    beta for every draw of every document cost about a third of a document's scoring time. The
    quantile is smooth in ``z``, so 4,097 points keep the interpolation error below 1e-5.
    """
    mean, a, b = _beta_params(rate)
    if a == 0.0:
        return np.full(np.shape(z), mean)
    return np.interp(z, _Z_GRID, _beta_quantile_table(a, b))


def draw_rate_pair(
    pos: Mapping[str, float], neg: Mapping[str, float], rho: float, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draws of one document's two rates: beta margins joined by a Gaussian copula with correlation ``rho``."""
    z1 = rng.standard_normal(size)
    z2 = rho * z1 + np.sqrt(max(0.0, 1.0 - rho * rho)) * rng.standard_normal(size)
    return _beta_quantile_z(pos, z1), _beta_quantile_z(neg, z2)


def consistent_counts(counts: np.ndarray, n: int) -> np.ndarray:
    """Make estimated counts coherent: each in [0, n]; a union at least each part, at most its labels' sum.

    Estimated separately, a union can come out below one of its parts (a
    consultation share above 1) or above the sum of its labels; the union is
    moved to the nearest coherent value and the single labels are left as
    estimated. Unions are visited from small to large, so a larger union
    sees its parts already settled.
    """
    c = np.clip(np.asarray(counts, dtype=float), 0.0, float(n)).copy()
    idx = {name: j for j, name in enumerate(VARIABLES)}
    for name, labels in sorted(VARIABLES.items(), key=lambda kv: len(kv[1])):
        if len(labels) < 2:
            continue
        parts = [idx[o] for o, ol in VARIABLES.items() if o != name and set(ol) < set(labels)]
        lower = c[..., parts].max(axis=-1)
        upper = np.minimum(c[..., [idx[label] for label in labels]].sum(axis=-1), float(n))
        c[..., idx[name]] = np.clip(c[..., idx[name]], lower, np.maximum(lower, upper))
    return c


def estimator_for(classifier: object, method: str, union: str = "max") -> CountEstimator:
    """The count estimator of ``method`` with the parameters a loaded classifier carries (if any).

    Every kind of model that ``cocreation train`` writes (linear, distilled,
    fine-tuned, per-language router) keeps them in ``meta["quantification"]``,
    measured on its own grouped out-of-fold predictions. A cascade carries its
    own when it was built from both models' out-of-fold predictions (each
    passage decided by the model that scored it); an older cascade uses its
    primary's, the model that scores every passage and decides most of them.
    Rule-only classification has none: its counts fall back to decisions, and
    the record says so.
    """
    meta = getattr(classifier, "meta", None) or {}
    q = meta.get("quantification")
    if q is None and getattr(classifier, "primary", None) is not None:
        q = (getattr(classifier.primary, "meta", None) or {}).get("quantification")  # type: ignore[attr-defined]
    params: dict[str, Mapping] = {}
    if q and q.get("format") == PARAMETERS_FORMAT:
        params = {k: v for k, v in q.items() if k in SOURCES and v}
    return CountEstimator(method=method, union=union, parameters=params)


def passage_sources(reasons: Sequence[str], n: int) -> list[str]:
    """Per passage, who scored it: ``rules`` for the rule fallback (outside the model's languages), else ``model``."""
    if not reasons:
        return ["model"] * n
    return ["rules" if r.startswith("rule-only") else "model" for r in reasons]


def covers(language: str, model_languages: Sequence[str]) -> bool:
    """Whether a passage in ``language`` is scored by a model of ``model_languages`` (as ``SingleModel.covers``)."""
    return "und" in model_languages or language_code(language) in model_languages


def model_quantification(
    y: np.ndarray,
    oof_probs: np.ndarray,
    oof_thresholds: np.ndarray | float,
    groups: Sequence[str] | np.ndarray,
    languages: Sequence[str],
    model_languages: Sequence[str],
    rule_probs: np.ndarray | None = None,
) -> dict:
    """The ``meta.json["quantification"]`` entry of a model, from its grouped out-of-fold predictions.

    ``model``: the rates of the out-of-fold predictions on passages in the
    model's languages (those it scores in production). ``rules``: the rates of
    the rule lexicon (threshold 0.5, as its fallback decides) on every
    labelled passage; the lexicon is not fitted to them, so no fold is needed.
    """
    y = np.asarray(y)
    groups = np.asarray(groups)
    inside = np.array([covers(lang, model_languages) for lang in languages], dtype=bool)
    thr = np.broadcast_to(np.asarray(oof_thresholds, dtype=float), np.asarray(oof_probs).shape)
    out: dict = {
        "format": PARAMETERS_FORMAT,
        "source": "grouped out-of-fold predictions (folds grouped by document); rates pooled over passages, "
        "their spread over documents",
        "model": quantification_parameters(
            y[inside], np.asarray(oof_probs)[inside], thr[inside], groups[inside]
        ),
    }
    if rule_probs is not None:
        out["rules"] = quantification_parameters(y, rule_probs, 0.5, groups)
    return out
