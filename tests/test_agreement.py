"""Agreement statistics against hand-computed textbook values, an independent
brute-force implementation, and scikit-learn."""

from __future__ import annotations

import math
import random
from fractions import Fraction
from itertools import permutations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from cocreation_nlp.agreement import (
    agreement_summary,
    bootstrap_alpha,
    cohen_kappa,
    coincidence_matrix,
    krippendorff_alpha_nominal,
    per_label_agreement,
)
from cocreation_nlp.codebook import LABELS

N = None

# Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Annenberg
# School for Communication, University of Pennsylvania. Section C: nominal data,
# four observers, twelve units, missing values. Rows are observers A-D.
KRIPP_2011_C = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]


def units_from_observers(rows):
    return [list(col) for col in zip(*rows, strict=True)]


def naive_alpha(units) -> float | None:
    """Alpha from its definition with exact fractions: 1 - D_o / D_e over all
    pairable values (a second, independent implementation)."""
    pairable = [[v for v in u if v is not None] for u in units]
    pairable = [u for u in pairable if len(u) >= 2]
    values = [v for u in pairable for v in u]
    n = len(values)
    if n == 0:
        return None
    # Observed: within each unit, every ordered pair of different coders' values, weighted 1/(m-1).
    d_o = Fraction(0)
    for u in pairable:
        m = len(u)
        for i, j in permutations(range(m), 2):
            d_o += Fraction(int(u[i] != u[j]), m - 1)
    d_o /= n
    # Expected: every ordered pair of distinct pairable values in the whole data.
    counts: dict = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    d_e = Fraction(sum(counts[a] * counts[b] for a in counts for b in counts if a != b), n * (n - 1))
    if d_e == 0:
        return None
    return float(1 - d_o / d_e)


# ---------------------------------------------------------------- Krippendorff's alpha


def test_agreement_alpha_krippendorff_2011_binary_two_coders():
    # Krippendorff (2011), section A: binary data, two observers, ten units.
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    # By hand: units 4,5,7,8,10 agree on 0 -> o00 = 10; unit 2 agrees on 1 -> o11 = 2;
    # units 1,3,6,9 disagree -> o01 = o10 = 4. n0 = 14, n1 = 6, n = 20.
    # alpha = 1 - (n - 1) * (o01 + o10) / (2 * n0 * n1) = 1 - 19 * 8 / 168 = 16 / 168 = 0.0952.
    assert krippendorff_alpha_nominal(list(zip(a, b, strict=True))) == pytest.approx(16 / 168)
    assert round(krippendorff_alpha_nominal(list(zip(a, b, strict=True))), 3) == 0.095


def test_agreement_alpha_krippendorff_2011_nominal_two_coders():
    # Krippendorff (2011), section B: nominal data, two observers, twelve units.
    a = "a a b b d c c c e d d a".split()
    b = "b a b b b c c c e d d d".split()
    # By hand: 9 agreeing units give sum(o_cc) = 18; margins n_a=4, n_b=6, n_c=6, n_d=6, n_e=2, n=24.
    # sum n_c (n_c - 1) = 12 + 30 + 30 + 30 + 2 = 104.
    # alpha = ((n-1) * sum o_cc - sum n_c(n_c-1)) / (n(n-1) - sum n_c(n_c-1)) = (414 - 104) / (552 - 104)
    #       = 310 / 448 = 0.692.
    alpha = krippendorff_alpha_nominal(list(zip(a, b, strict=True)))
    assert alpha == pytest.approx(310 / 448)
    assert round(alpha, 3) == 0.692


def test_agreement_alpha_krippendorff_2011_nominal_four_coders_missing():
    units = units_from_observers(KRIPP_2011_C)
    # Unit 12 has a single value and is dropped. The published coincidence matrix:
    values, o = coincidence_matrix(units)
    order = [values.index(v) for v in [1, 2, 3, 4, 5]]
    o = o[np.ix_(order, order)]
    third = 1 / 3
    expected = np.array(
        [
            [7, 4 * third, third, third, 0],
            [4 * third, 10, 4 * third, third, 0],
            [third, 4 * third, 8, third, 0],
            [third, third, third, 4, 0],
            [0, 0, 0, 0, 3],
        ]
    )
    np.testing.assert_allclose(o, expected)
    # Margins n_1..n_5 = 9, 13, 10, 5, 3 (n = 40); sum o_cc = 7 + 10 + 8 + 4 + 3 = 32;
    # sum n_c(n_c-1) = 72 + 156 + 90 + 20 + 6 = 344.
    # alpha = (39 * 32 - 344) / (40 * 39 - 344) = 904 / 1216 = 0.743 (the published value).
    alpha = krippendorff_alpha_nominal(units)
    assert alpha == pytest.approx(904 / 1216)
    assert round(alpha, 3) == 0.743


@pytest.mark.parametrize(
    ("units", "expected"),
    [
        ([[1, 1], [0, 0], [1, 1]], 1.0),  # perfect agreement
        ([[1, 1], [1, 1]], math.nan),  # one value only: undefined, not 0 or 1
        ([], math.nan),
        ([[1], [0], [None, 1]], math.nan),  # nothing pairable
        ([[0, 1], [1, 0]], -0.5),  # systematic disagreement: 1 - 3 * 4 / 8
    ],
)
def test_agreement_alpha_edge_cases(units, expected):
    alpha = krippendorff_alpha_nominal(units)
    if math.isnan(expected):
        assert math.isnan(alpha)
    else:
        assert alpha == pytest.approx(expected)


def test_agreement_alpha_drops_single_coded_units():
    base = [[1, 1], [0, 1], [0, 0], [1, 1]]
    assert krippendorff_alpha_nominal(base + [[1], [None, 0], [None, None]]) == krippendorff_alpha_nominal(
        base
    )


def test_agreement_alpha_accepts_nan_as_missing():
    assert krippendorff_alpha_nominal([[1.0, float("nan"), 1.0], [0.0, 0.0, float("nan")]]) == 1.0


units_strategy = st.lists(
    st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c"])), min_size=1, max_size=5),
    min_size=0,
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(units_strategy)
def test_agreement_alpha_matches_definition(units):
    expected = naive_alpha(units)
    alpha = krippendorff_alpha_nominal(units)
    if expected is None:
        assert math.isnan(alpha)
    else:
        assert alpha == pytest.approx(expected, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(units_strategy, st.randoms(use_true_random=False))
def test_agreement_alpha_invariant_to_order_and_value_names(units, rnd):
    shuffled = [rnd.sample(u, len(u)) for u in units]
    rnd.shuffle(shuffled)
    renamed = [[None if v is None else {"a": "z", "b": "y", "c": "x"}[v] for v in u] for u in shuffled]
    a, b = krippendorff_alpha_nominal(units), krippendorff_alpha_nominal(renamed)
    assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-12)


# ---------------------------------------------------------------- bootstrap


def test_agreement_bootstrap_reproducible_and_brackets_alpha():
    units = units_from_observers(KRIPP_2011_C)
    first = bootstrap_alpha(units, n_boot=500, seed=3)
    again = bootstrap_alpha(units, n_boot=500, seed=3)
    assert first == again
    alpha, low, high = first
    assert alpha == pytest.approx(904 / 1216)
    assert low <= alpha <= high <= 1.0


def test_agreement_bootstrap_interval_shrinks_with_more_units():
    rng = random.Random(1)

    def sample(n):
        out = []
        for _ in range(n):
            truth = rng.random() < 0.3
            out.append([truth if rng.random() < 0.9 else not truth for _ in range(2)])
        return out

    _, lo_small, hi_small = bootstrap_alpha(sample(40), n_boot=400)
    _, lo_big, hi_big = bootstrap_alpha(sample(1600), n_boot=400)
    assert hi_big - lo_big < (hi_small - lo_small) / 2


def test_agreement_bootstrap_percentiles_match_a_plain_loop():
    # The vectorised multinomial bootstrap must equal resampling units one replicate at a time.
    units = units_from_observers(KRIPP_2011_C)
    pairable = [u for u in units if sum(v is not None for v in u) >= 2]
    rng = np.random.default_rng(0)
    reps = []
    for _ in range(300):
        counts = rng.multinomial(len(pairable), np.full(len(pairable), 1 / len(pairable)))
        sample = [u for u, c in zip(pairable, counts, strict=True) for _ in range(c)]
        reps.append(krippendorff_alpha_nominal(sample))
    reps = np.array([r for r in reps if not math.isnan(r)])
    _, low, high = bootstrap_alpha(units, n_boot=300, seed=0)
    assert low == pytest.approx(np.quantile(reps, 0.025))
    assert high == pytest.approx(np.quantile(reps, 0.975))


@pytest.mark.parametrize(("kwargs", "match"), [({"n_boot": 0}, "n_boot"), ({"ci": 1.5}, "ci")])
def test_agreement_bootstrap_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bootstrap_alpha([[1, 1]], **kwargs)


def test_agreement_bootstrap_undefined_alpha_gives_nans():
    assert all(math.isnan(x) for x in bootstrap_alpha([[1, 1], [1, 1]]))


# ---------------------------------------------------------------- Cohen's kappa


def test_agreement_kappa_textbook_2x2():
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15.
    # p_o = 35/50 = 0.7; p_e = (25/50)(30/50) + (25/50)(20/50) = 0.3 + 0.2 = 0.5;
    # kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from("abcd")), min_size=1, max_size=60).filter(
        lambda pairs: len({x for p in pairs for x in p}) > 1
    )
)
def test_agreement_kappa_matches_sklearn(pairs):
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    ours = cohen_kappa(a, b)
    theirs = cohen_kappa_score(a, b)
    assert (math.isnan(ours) and math.isnan(theirs)) or ours == pytest.approx(theirs, abs=1e-12)


def test_agreement_kappa_booleans_match_sklearn():
    rng = random.Random(7)
    a = [rng.random() < 0.2 for _ in range(500)]
    b = [x if rng.random() < 0.85 else not x for x in a]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_agreement_kappa_undefined_when_one_value():
    assert math.isnan(cohen_kappa([True, True], [True, True]))


@pytest.mark.parametrize(("a", "b"), [([1, 2], [1]), ([], [])])
def test_agreement_kappa_rejects_bad_input(a, b):
    with pytest.raises(ValueError):
        cohen_kappa(a, b)


# ---------------------------------------------------------------- per label


def test_agreement_per_label_hand_example():
    decisions = [
        ("p1", "ann", {"equity", "individual"}),
        ("p1", "bob", {"equity"}),
        ("p1", "cat", {"equity", "individual"}),
        ("p2", "ann", set()),
        ("p2", "bob", set()),
        ("p3", "ann", {"individual"}),
        ("p3", "cat", set()),
        ("p4", "ann", {"equity"}),  # coded once: not pairable, ignored
    ]
    rows = {
        r["label"]: r for r in per_label_agreement(decisions, labels=["individual", "equity"], n_boot=200)
    }
    ind, eq = rows["individual"], rows["equity"]
    # individual: units p1 (T, F, T), p2 (F, F), p3 (T, F).
    assert ind["alpha"] == pytest.approx(
        krippendorff_alpha_nominal([[True, False, True], [False, False], [True, False]])
    )
    assert ind["n_items"] == 3 and ind["n_annotators"] == 3 and ind["n_positive"] == 3
    # Pairs: p1 has 3 pairs (1 agrees), p2 one (agrees), p3 one (disagrees) -> 2 / 5.
    assert ind["percent_agreement"] == pytest.approx(2 / 5)
    # equity: p1 all True, p2 all False, p3 both False -> perfect.
    assert eq["alpha"] == 1.0
    pair = {(p["annotator_a"], p["annotator_b"]): p for p in ind["pairwise"]}
    assert set(pair) == {("ann", "bob"), ("ann", "cat"), ("bob", "cat")}
    assert pair[("ann", "bob")]["n_items"] == 2  # p1, p2
    assert pair[("ann", "cat")]["kappa"] == pytest.approx(cohen_kappa([True, True], [True, False]))
    assert ind["alpha_low"] <= ind["alpha"] <= ind["alpha_high"]


def test_agreement_per_label_defaults_to_codebook_labels():
    rows = per_label_agreement([("p", "a", set()), ("p", "b", set())], n_boot=0)
    assert [r["label"] for r in rows] == list(LABELS)
    assert all(math.isnan(r["alpha"]) for r in rows)  # no variation anywhere: undefined


def test_agreement_per_label_refuses_duplicates_and_unknown_labels():
    with pytest.raises(ValueError, match="two decisions"):
        per_label_agreement([("p", "a", set()), ("p", "a", {"equity"})], n_boot=0)
    with pytest.raises(ValueError, match="unknown label"):
        per_label_agreement([("p", "a", {"bogus"})], n_boot=0)


def test_agreement_summary_finds_weakest_label():
    summary = agreement_summary(
        [{"label": "a", "alpha": 0.9}, {"label": "b", "alpha": 0.6}, {"label": "c", "alpha": math.nan}]
    )
    assert summary == {
        "mean_alpha": pytest.approx(0.75),
        "min_alpha": 0.6,
        "weakest_label": "b",
        "n_labels": 2,
    }


def test_agreement_doctests():
    import doctest

    import cocreation_nlp.agreement as module

    assert doctest.testmod(module).failed == 0
