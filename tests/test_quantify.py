"""Quantification of document label counts: agreement with QuaPy, recovery under label shift, intervals."""

from __future__ import annotations

import numpy as np
import pytest

from cocreation_nlp.codebook import LABELS
from cocreation_nlp.config import ScoreConfig
from cocreation_nlp.quantify import (
    VARIABLES,
    CountEstimator,
    adjust,
    consistent_counts,
    estimator_for,
    model_quantification,
    passage_sources,
    quantification_parameters,
    random_effects,
    sld_prevalence,
)
from cocreation_nlp.score import score_document

IND, COL, PRO, COC, CON, EQU, SYS = range(7)


def _scores(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    """Classifier-like scores: positives centred high, negatives low, overlapping."""
    return np.clip(np.where(y, rng.beta(5, 3, size=len(y)), rng.beta(2, 6, size=len(y))), 0, 1)


# ----------------------------------------------------------------------------- agreement with QuaPy


def _lookup(p: np.ndarray, threshold: float):  # noqa: ANN202 - a scikit-learn classifier
    """A fitted 'classifier' that returns precomputed posteriors for row indices (X[:, 0])."""
    from sklearn.base import BaseEstimator, ClassifierMixin

    class Lookup(ClassifierMixin, BaseEstimator):
        def __init__(self, p: np.ndarray | None = None, threshold: float = 0.5) -> None:
            self.p = p
            self.threshold = threshold

        def fit(self, X, y):  # noqa: ANN001, ANN201
            self.classes_ = np.array([0, 1])
            return self

        def predict_proba(self, X) -> np.ndarray:  # noqa: ANN001
            i = np.asarray(X)[:, 0].astype(int)
            return np.c_[1 - self.p[i], self.p[i]]

        def predict(self, X) -> np.ndarray:  # noqa: ANN001
            return (self.predict_proba(X)[:, 1] >= self.threshold).astype(int)

    return Lookup(p, threshold).fit(None, None)


@pytest.fixture(scope="module")
def shifted() -> dict:
    """Out-of-fold validation passages (prevalence 0.2) and test samples at other prevalences."""
    rng = np.random.default_rng(0)
    y_val = rng.random(2000) < 0.2
    s_val = _scores(rng, y_val)
    tests = []
    for prev in (0.05, 0.3, 0.6, 0.9):
        y = rng.random(400) < prev
        tests.append((y, _scores(rng, y)))
    return {"y_val": y_val, "s_val": s_val, "tests": tests}


def _quapy_fit(cls, shifted: dict, threshold: float, **kw):  # noqa: ANN001, ANN202
    s_all = np.concatenate([shifted["s_val"]] + [s for _, s in shifted["tests"]])
    clf = _lookup(s_all, threshold)
    n_val = len(shifted["y_val"])
    X_val = np.arange(n_val)[:, None]
    q = cls(clf, fit_classifier=False, val_split=(X_val, shifted["y_val"].astype(int)), **kw)
    q.fit(X_val, shifted["y_val"].astype(int))
    offsets = np.cumsum([n_val] + [len(y) for y, _ in shifted["tests"]])
    return q, [
        np.arange(a, a + len(y))[:, None] for a, (y, _) in zip(offsets, shifted["tests"], strict=False)
    ]


def _params(shifted: dict, threshold: float) -> dict:
    y = np.zeros((len(shifted["y_val"]), len(LABELS)), dtype=int)
    y[:, IND] = shifted["y_val"]
    p = np.zeros(y.shape)
    p[:, IND] = shifted["s_val"]
    return quantification_parameters(y, p, threshold, ["d"] * len(y))["variables"]["individual"]


def test_acc_agrees_with_quapy(shifted: dict) -> None:
    from quapy.method.aggregative import ACC

    q, X_tests = _quapy_fit(ACC, shifted, 0.5, solver="exact-raise", norm="clip")
    v = _params(shifted, 0.5)
    for (_, s), X in zip(shifted["tests"], X_tests, strict=True):
        ours = float(adjust((s >= 0.5).mean(), v["tpr"]["mean"], v["fpr"]["mean"]))
        assert ours == pytest.approx(float(q.predict(X)[1]), abs=1e-9)


def test_pacc_agrees_with_quapy(shifted: dict) -> None:
    from quapy.method.aggregative import PACC

    q, X_tests = _quapy_fit(PACC, shifted, 0.5, solver="exact-raise", norm="clip")
    v = _params(shifted, 0.5)
    for (_, s), X in zip(shifted["tests"], X_tests, strict=True):
        ours = float(
            adjust(s.mean(), v["mean_prob_positive"]["max"]["mean"], v["mean_prob_negative"]["max"]["mean"])
        )
        assert ours == pytest.approx(float(q.predict(X)[1]), abs=1e-9)


def test_sld_agrees_with_quapy_emq(shifted: dict) -> None:
    from quapy.method.aggregative import EMQ

    prior = float(shifted["y_val"].mean())
    for _, s in shifted["tests"]:
        theirs, _ = EMQ.EM(np.array([1 - prior, prior]), np.c_[1 - s, s])
        assert float(sld_prevalence(s, prior)) == pytest.approx(float(theirs[1]), abs=1e-6)
    # Bootstrap weights: identity weights give the unweighted estimate.
    s = shifted["tests"][1][1]
    w = np.ones((3, len(s)))
    np.testing.assert_allclose(
        sld_prevalence(s, prior, weights=w), float(sld_prevalence(s, prior)), atol=1e-9
    )


# ----------------------------------------------------------------------------- behaviour


def test_adjusted_counts_recover_prevalence_under_label_shift(shifted: dict) -> None:
    """Trained where 20% are positive, tested at 90%: summed probabilities stay near the training rate."""
    v = _params(shifted, 0.5)
    y, s = shifted["tests"][3]
    truth = y.mean()
    pcc = s.mean()
    acc = float(adjust((s >= 0.5).mean(), v["tpr"]["mean"], v["fpr"]["mean"]))
    pacc = float(
        adjust(s.mean(), v["mean_prob_positive"]["max"]["mean"], v["mean_prob_negative"]["max"]["mean"])
    )
    assert abs(pcc - truth) > 0.15
    assert abs(acc - truth) < 0.05 and abs(pacc - truth) < 0.05


def test_adjust_clips_and_falls_back_when_rates_cannot_separate() -> None:
    assert float(adjust(0.02, 0.8, 0.1)) == 0.0
    assert float(adjust(0.95, 0.8, 0.1)) == 1.0
    assert float(adjust(0.3, 0.52, 0.5)) == pytest.approx(0.3)  # gap below MIN_GAP: unadjusted


def test_parameters_count_rates_per_variable_and_union() -> None:
    y = np.zeros((6, 7), dtype=int)
    p = np.zeros((6, 7))
    y[[0, 1], IND] = 1
    y[[2], COL] = 1
    p[[0, 3], IND] = 0.9  # one true positive, one false positive on individual
    p[[2], COL] = 0.8
    v = quantification_parameters(y, p, 0.5, ["a", "a", "a", "b", "b", "b"])["variables"]
    assert v["individual"]["tp"] == 1 and v["individual"]["fp"] == 1
    assert v["individual"]["tpr"]["mean"] == pytest.approx(0.5)
    assert v["individual"]["fpr"]["mean"] == pytest.approx(0.25)
    u = v["individual_or_collective"]
    assert u["n_positive"] == 3 and u["tp"] == 2 and u["fp"] == 1
    assert u["mean_prob_positive"]["max"]["mean"] == pytest.approx((0.9 + 0 + 0.8) / 3)
    assert set(v) == set(VARIABLES)


def test_random_effects_separates_document_spread_from_sampling() -> None:
    n = np.full(30, 200.0)
    same = random_effects(n * 0.3, n, 0.3 * 0.7)
    assert same["between_doc_var"] == 0.0 and same["mean"] == pytest.approx(0.3)
    rates = np.tile([0.1, 0.5], 15)
    spread = random_effects(n * rates, n, 0.3 * 0.7)
    assert spread["between_doc_var"] == pytest.approx(0.04, rel=0.2)  # variance of {0.1, 0.5}
    assert spread["var_of_mean"] > same["var_of_mean"]


def test_consistent_counts_keep_unions_between_parts_and_sum() -> None:
    c = np.zeros(len(VARIABLES))
    idx = {name: j for j, name in enumerate(VARIABLES)}
    c[idx["consultation"]] = 8.0
    c[idx["cocreation"]] = 1.0
    c[idx["consultation_or_cocreation"]] = 6.0  # below a member: impossible for hand labels
    c[idx["individual"]] = 3.0
    c[idx["individual_or_collective"]] = 9.0  # above the sum of its labels
    out = consistent_counts(c, 20)
    assert out[idx["consultation_or_cocreation"]] == 8.0
    assert out[idx["individual_or_collective"]] == 3.0
    assert out[idx["individual_or_collective_or_cocreation_or_consultation"]] >= 8.0


def _heterogeneous_corpus(rng: np.random.Generator, n_docs: int, n: int = 120) -> tuple:
    """Documents whose classifier error rates differ (a per-document shift of both score distributions)."""
    y, s, g = [], [], []
    for d in range(n_docs):
        prev = rng.uniform(0.02, 0.6)
        shift = rng.normal(0, 0.07)
        yd = rng.random(n) < prev
        sd = np.clip(_scores(rng, yd) + shift, 0, 1)
        y.append(yd)
        s.append(sd)
        g += [f"d{d}"] * n
    return np.concatenate(y), np.concatenate(s), np.asarray(g)


def test_pacc_intervals_cover_counts_at_nominal_rate_despite_document_shift() -> None:
    rng = np.random.default_rng(5)
    y_tr, s_tr, g_tr = _heterogeneous_corpus(rng, 40)
    Y = np.zeros((len(y_tr), 7), dtype=int)
    P = np.zeros((len(y_tr), 7))
    Y[:, IND], P[:, IND] = y_tr, s_tr
    params = {"model": quantification_parameters(Y, P, 0.5, g_tr)}
    y_te, s_te, g_te = _heterogeneous_corpus(rng, 120)
    j = list(VARIABLES).index("individual")
    hits = {"pacc": 0, "probabilities": 0}
    for method in hits:
        est = CountEstimator(method, "max", params)
        for d in np.unique(g_te):
            m = g_te == d
            p = np.zeros((m.sum(), 7))
            p[:, IND] = s_te[m]
            draws = est.count_draws(p, p >= 0.5, ["model"] * m.sum(), 400, rng)[:, j]
            lo, hi = np.quantile(draws, [0.05, 0.95])
            hits[method] += lo <= y_te[m].sum() <= hi
    assert 0.82 <= hits["pacc"] / 120 <= 0.98, hits
    assert hits["probabilities"] / 120 < 0.6, hits  # passage resampling alone ignores the classifier's error


# ----------------------------------------------------------------------------- scores


def _oof_like(rng: np.random.Generator) -> dict:
    """Parameters of a classifier whose probabilities sit at about 0.08 on passages without a label."""
    n = 3000
    y = (rng.random((n, 7)) < 0.15).astype(int)
    p = np.where(y == 1, rng.beta(6, 3, size=(n, 7)), rng.beta(1, 11, size=(n, 7)))
    return {"model": quantification_parameters(y, p, 0.5, [f"d{i // 100}" for i in range(n)])}


def test_undefined_stays_undefined_with_estimated_counts() -> None:
    """Long documents that never speak of citizens: summed small probabilities invent a denominator."""
    rng = np.random.default_rng(2)
    params = _oof_like(rng)
    cfg = ScoreConfig(n_bootstrap=0)
    est = CountEstimator("pacc", "max", params)
    summed_defined = estimated_undefined = 0
    for d in range(20):
        p = rng.beta(1, 11, size=(100, 7))  # no passage carries any label
        summed = score_document(f"d{d}", p, cfg)
        summed_defined += summed.values["professional_blind_spot"] is not None  # N(ind or col) ~ 100 x 0.15
        s = score_document(f"d{d}", p, cfg, decisions=p >= 0.5, estimator=est)
        if s.values["professional_blind_spot"] is None:
            estimated_undefined += 1
            assert "below the minimum" in s.reasons["professional_blind_spot"]
        assert s.count_method == "pacc"
    assert summed_defined == 20
    assert estimated_undefined >= 14  # noise at the minimum: an honest estimate sometimes lands above 2


def test_estimated_counts_bring_shifted_document_back() -> None:
    """Professionals everywhere (70%), scored by a classifier that gives them low probabilities (rare in training)."""
    rng = np.random.default_rng(4)

    def probs(y: np.ndarray) -> np.ndarray:
        p = rng.beta(1, 30, size=y.shape)
        p[:, PRO] = np.where(y[:, PRO] == 1, rng.beta(2, 6, size=len(y)), p[:, PRO])
        p[:, IND] = np.where(y[:, IND] == 1, rng.beta(6, 3, size=len(y)), p[:, IND])
        return p

    n = 4000
    y = np.zeros((n, 7), dtype=int)
    y[:, PRO] = rng.random(n) < 0.02
    y[:, IND] = rng.random(n) < 0.3
    params = {"model": quantification_parameters(y, probs(y), 0.2, [f"d{i // 100}" for i in range(n)])}
    doc_y = np.zeros((60, 7), dtype=int)
    doc_y[:42, PRO] = 1
    doc_y[::2, IND] = 1
    doc_p = probs(doc_y)
    gold = score_document("g", doc_y.astype(float), ScoreConfig(n_bootstrap=0)).values[
        "professional_blind_spot"
    ]
    cfg = ScoreConfig(n_bootstrap=300)
    summed = score_document("d", doc_p, cfg).values["professional_blind_spot"]
    s = score_document(
        "d", doc_p, cfg, decisions=doc_p >= 0.2, estimator=CountEstimator("pacc", "max", params)
    )
    assert gold == 0.0
    assert summed > 0.3
    assert s.values["professional_blind_spot"] <= 0.1
    assert s.low["professional_blind_spot"] <= gold <= s.high["professional_blind_spot"]


def test_sources_are_counted_with_their_own_rates() -> None:
    rng = np.random.default_rng(6)
    params = _oof_like(rng)
    rules = _oof_like(np.random.default_rng(7))
    est = CountEstimator("acc", "max", {"model": params["model"], "rules": rules["model"]})
    assert est.describe(["model", "rules"]) == "acc"
    only_model = CountEstimator("acc", "max", {"model": params["model"]})
    assert only_model.method_for("rules") == "decisions"
    assert "rules: decisions" in only_model.describe(["model", "rules"])
    assert passage_sources(["", "rule-only: language 'fr' is outside", ""], 3) == ["model", "rules", "model"]


def test_estimator_for_reads_model_meta_and_falls_back_without_it() -> None:
    class M:
        meta = {"quantification": {"format": 1, "model": {"variables": {}}, "rules": {"variables": {}}}}

    assert set(estimator_for(M(), "pacc").parameters) == {"model", "rules"}

    class R:
        meta = None

    est = estimator_for(R(), "pacc")
    assert est.method_for("model") == "decisions"
    assert est.describe(["model"]) == "decisions (no quantification parameters for pacc)"


def test_model_quantification_splits_model_and_rule_passages() -> None:
    rng = np.random.default_rng(8)
    y = (rng.random((50, 7)) < 0.3).astype(int)
    p = rng.random((50, 7))
    langs = ["en"] * 40 + ["fr"] * 10
    q = model_quantification(y, p, 0.5, [f"d{i // 10}" for i in range(50)], langs, ["en"], rule_probs=p)
    assert q["model"]["n_passages"] == 40 and q["rules"]["n_passages"] == 50
    assert q["model"]["n_documents"] == 4


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown count method"):
        CountEstimator("hdy")


def test_rate_draws_from_the_interpolated_beta_quantiles_match_the_exact_inverse() -> None:
    """The tabulated quantiles (one table per rate) agree with scipy's exact inverse incomplete beta."""
    from scipy.special import betaincinv, ndtr

    from cocreation_nlp.quantify import _beta_params, _beta_quantile_z

    z = np.random.default_rng(0).standard_normal(20_000)
    for rate in (
        {"mean": 0.38, "between_doc_var": 0.296**2},  # wide spread, as for a rare label's true-positive rate
        {"mean": 0.016, "between_doc_var": 0.041**2},  # a small false-positive rate
        {"mean": 0.7, "between_doc_var": 0.05, "var_of_mean": 0.001},
    ):
        _, a, b = _beta_params(rate)
        np.testing.assert_allclose(_beta_quantile_z(rate, z), betaincinv(a, b, ndtr(z)), atol=1e-5)
    assert (_beta_quantile_z({"mean": 0.2}, z) == 0.2).all()  # no spread: the rate itself
