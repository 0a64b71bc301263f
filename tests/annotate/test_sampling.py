"""Queue strategies as pure functions over hand-built candidates (no database)."""

from __future__ import annotations

import pytest

from cocreation_nlp.annotate import sampling
from cocreation_nlp.annotate.sampling import Candidate, QueueContext


def test_annotate_sampling_overlap_share_is_stable_and_monotone():
    ids = [f"doc:{i}" for i in range(4000)]
    low = {i for i in ids if sampling.needs_overlap(i, 0.1)}
    high = {i for i in ids if sampling.needs_overlap(i, 0.3)}
    assert low <= high
    assert 0.08 < len(low) / len(ids) < 0.12
    assert 0.27 < len(high) / len(ids) < 0.33
    assert sampling.target_coders(next(iter(low)), 0.1, 3) == 3


def test_annotate_sampling_coverage_prefers_least_covered_document():
    cands = [Candidate("a:1", "a", 1), Candidate("b:1", "b", 1), Candidate("c:1", "c", 1)]
    ctx = QueueContext(doc_total={"a": 10, "b": 10, "c": 4}, doc_coded={"a": 1, "b": 0, "c": 1})
    assert sampling.choose(cands, ctx, "coverage")[0].doc_id == "b"


def test_annotate_sampling_uncertainty_prefers_smallest_margin_and_falls_back():
    cands = [
        Candidate("p1", "a", 0, margin=0.4),
        Candidate("p2", "a", 1, margin=0.01),
        Candidate("p3", "a", 2),
    ]
    chosen, used = sampling.choose(cands, QueueContext(), "uncertainty")
    assert (chosen.passage_id, used) == ("p2", "uncertainty")
    ranked, _ = sampling.rank(cands, QueueContext(), "uncertainty")
    assert ranked[-1].passage_id == "p3"  # no prediction: last
    plain = [Candidate("p1", "a", 0), Candidate("p2", "a", 1)]
    assert sampling.choose(plain, QueueContext(), "uncertainty")[1] == "random"


def test_annotate_sampling_rare_label_boosts_rare_labels():
    labels = ["individual", "systemic"]
    ctx = QueueContext(label_counts={"individual": 50, "systemic": 1}, n_decided=60, labels=labels)
    cands = [
        Candidate("p1", "a", 0, probs={"individual": 0.9, "systemic": 0.1}),
        Candidate("p2", "a", 1, probs={"individual": 0.1, "systemic": 0.6}),
    ]
    assert sampling.choose(cands, ctx, "rare_label")[0].passage_id == "p2"
    # Without predictions: near a passage already labelled with the rare label.
    ctx2 = QueueContext(
        label_counts={"individual": 50, "systemic": 1},
        labels=labels,
        labelled={"a": [(10, frozenset({"systemic"})), (40, frozenset({"individual"}))]},
    )
    near = [Candidate("far", "a", 41), Candidate("near", "a", 11), Candidate("other", "b", 11)]
    assert sampling.choose(near, ctx2, "rare_label")[0].passage_id == "near"
    # Nothing to go on: coverage order.
    assert sampling.choose(near, QueueContext(labels=labels), "rare_label")[1] == "coverage"


def test_annotate_sampling_unknown_strategy():
    with pytest.raises(ValueError, match="Available: random, coverage"):
        sampling.rank([Candidate("p", "d", 0)], QueueContext(), "smart")
