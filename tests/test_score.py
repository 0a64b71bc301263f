from __future__ import annotations

import numpy as np
import pytest

from cocreation_nlp.codebook import LABELS
from cocreation_nlp.config import ScoreConfig
from cocreation_nlp.score import SCORES, score_document, union_prob

IND, COL, PRO, COC, CON, EQU, SYS = range(7)


def _p(rows: list[dict[int, float]]) -> np.ndarray:
    p = np.zeros((len(rows), len(LABELS)))
    for i, row in enumerate(rows):
        for j, v in row.items():
            p[i, j] = v
    return p


def test_score_formulas_match_codebook_on_gold_labels() -> None:
    # 10 passages: 4 individual, 2 collective (one also individual), 1 professionals,
    # 3 consultation, 1 cocreation, 1 equity, 1 systemic, 1 with nothing.
    rows = [
        {IND: 1, CON: 1},
        {IND: 1, CON: 1},
        {IND: 1, EQU: 1},
        {IND: 1, COL: 1, COC: 1},
        {COL: 1, CON: 1},
        {PRO: 1},
        {SYS: 1},
        {},
        {},
        {},
    ]
    s = score_document("d", _p(rows), ScoreConfig(n_bootstrap=0))
    # N(ind or col or coc or con) = 5 of 10 passages
    assert s.values["participation"] == pytest.approx(0.5)
    # N(prof)=1, N(ind or col)=5 -> 1 - 1/5
    assert s.values["professional_blind_spot"] == pytest.approx(0.8)
    # N(col)=2, N(ind)=4 -> 1 - 2/4
    assert s.values["collective_blind_spot"] == pytest.approx(0.5)
    # N(con)=3, N(con or coc)=4
    assert s.values["consultation_share"] == pytest.approx(0.75)
    # N(eq)=1 / N(ind or col)=5
    assert s.values["equity_coverage"] == pytest.approx(0.2)
    # N(sys)=1 / N(ind or col or coc)=5
    assert s.values["systemic_coverage"] == pytest.approx(0.2)
    assert s.counts["n_individual_or_collective"] == pytest.approx(5)


def test_score_undefined_below_minimum_with_reason() -> None:
    rows = [{IND: 1}, {PRO: 1}, {}, {}]
    s = score_document("d", _p(rows), ScoreConfig(n_bootstrap=0))
    assert s.values["professional_blind_spot"] is None
    assert "below the minimum of 2" in s.reasons["professional_blind_spot"]
    assert s.values["participation"] == pytest.approx(0.25)
    assert s.flags["sustainability_risk"] is None
    # The minimum is a setting.
    s1 = score_document("d", _p(rows), ScoreConfig(n_bootstrap=0, min_denominator=1))
    assert s1.values["professional_blind_spot"] == pytest.approx(0.0)


def test_score_blind_spot_capped_at_zero_and_one() -> None:
    rows = [{IND: 1}, {IND: 1}] + [{PRO: 1}] * 5
    s = score_document("d", _p(rows), ScoreConfig(n_bootstrap=0))
    assert s.values["professional_blind_spot"] == 0.0
    rows = [{IND: 1}] * 5
    s = score_document("d", _p(rows), ScoreConfig(n_bootstrap=0))
    assert s.values["professional_blind_spot"] == 1.0
    assert s.values["collective_blind_spot"] == 1.0


def test_score_union_max_vs_noisy_or() -> None:
    p = _p([{IND: 0.5, COL: 0.5}])
    assert union_prob(p, ("individual", "collective"), "max")[0] == pytest.approx(0.5)
    assert union_prob(p, ("individual", "collective"), "noisy_or")[0] == pytest.approx(0.75)


def test_score_bootstrap_reproducible_and_brackets_value() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 1, size=(60, 7))
    cfg = ScoreConfig(n_bootstrap=200, seed=7)
    a = score_document("doc-a", p, cfg)
    b = score_document("doc-a", p, cfg)
    assert a.low == b.low and a.high == b.high
    for name in SCORES:
        assert a.low[name] is not None and a.low[name] <= a.values[name] + 1e-9 <= a.high[name] + 2e-9
    c = score_document("doc-a", p, ScoreConfig(n_bootstrap=200, seed=8))
    assert c.low != a.low


def test_score_short_document_has_wider_interval() -> None:
    rng = np.random.default_rng(3)
    long = (rng.uniform(size=(200, 7)) > 0.6).astype(float)
    short = long[:12]
    cfg = ScoreConfig(n_bootstrap=300)
    sl, ss = score_document("l", long, cfg), score_document("s", short, cfg)
    width = lambda s: s.high["participation"] - s.low["participation"]  # noqa: E731
    assert width(ss) > width(sl)


def test_score_out_of_scope_passages_left_out() -> None:
    rows = [{IND: 1}] * 4 + [{PRO: 1}] * 4
    s = score_document("d", _p(rows), ScoreConfig(n_bootstrap=0), in_scope=[True] * 4 + [False] * 4)
    assert s.n_passages == 8 and s.n_scored == 4
    assert s.values["professional_blind_spot"] == 1.0
    none = score_document("d", _p(rows), ScoreConfig(n_bootstrap=0), in_scope=[False] * 8)
    assert all(v is None for v in none.values.values())
    assert "scope" in none.reasons["participation"]


def test_score_evidence_points_at_driving_passages() -> None:
    rows = [{}, {PRO: 0.9}, {IND: 0.95}, {IND: 0.6}, {}]
    s = score_document("d", _p(rows), ScoreConfig(n_bootstrap=0, top_k=2))
    prof = [e for e in s.evidence if e.score == "professional_blind_spot" and e.role == "numerator"]
    assert [e.passage_index for e in prof] == [1]
    den = [e for e in s.evidence if e.score == "professional_blind_spot" and e.role == "denominator"]
    assert [e.passage_index for e in den] == [2, 3]
