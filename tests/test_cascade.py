"""The cascade decision rule: each passage is decided with the thresholds of the model that scored it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cocreation_nlp.codebook import LABELS
from cocreation_nlp.model import CascadeModel, cascade_decide, cascade_uncertain, choose_band

K = len(LABELS)


class Stub:
    """A model with fixed probabilities per text and its own thresholds."""

    out_of_scope = "rules"

    def __init__(self, table: dict[str, float], thresholds: float, languages=("en",), name="stub") -> None:
        self.table = table
        self.thresholds = np.full(K, thresholds)
        self.languages = tuple(languages)
        self.labels = LABELS
        self.model_id = name
        self.calls: list[list[str]] = []

    def covers(self, language: str) -> bool:
        return language in self.languages

    def probabilities(self, texts, languages, hits, contexts=None) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([[self.table[t]] * K for t in texts])


def _cascade(primary: Stub, secondary: Stub, band: float) -> CascadeModel:
    return CascadeModel(Path("."), {"band": band, "model_id": "c"}, primary, secondary)


def test_each_passage_decided_with_the_thresholds_of_the_model_that_scored_it() -> None:
    # Primary: threshold 0.2. Secondary: threshold 0.8. Band 0.05 around the primary's threshold.
    primary = Stub({"clear": 0.5, "near": 0.22, "low": 0.05}, 0.2, name="p")
    secondary = Stub({"near": 0.6, "clear": 0.9, "low": 0.9}, 0.8, name="s")
    pred = _cascade(primary, secondary, 0.05).predict_texts(["clear", "near", "low"], ["en"] * 3)
    # "clear": primary 0.5 >= its own 0.2 -> positive (the old code compared it with the secondary's 0.8: negative).
    assert pred.decisions[0].all() and np.allclose(pred.probs[0], 0.5)
    # "near": re-scored, secondary 0.6 < its own 0.8 -> negative (the primary's 0.2 would have said yes).
    assert not pred.decisions[1].any() and np.allclose(pred.probs[1], 0.6)
    # "low": far below the primary's threshold -> primary's negative, never sent to the secondary.
    assert not pred.decisions[2].any()
    assert secondary.calls == [["near"]]


def test_secondary_only_where_it_covers_the_language() -> None:
    primary = Stub({"a": 0.21, "b": 0.21}, 0.2, languages=("en", "fr"))
    secondary = Stub({"a": 0.9, "b": 0.9}, 0.5, languages=("en",))
    casc = _cascade(primary, secondary, 0.05)
    pred = casc.predict_texts(["a", "b"], ["en", "fr"])
    assert np.allclose(pred.probs[0], 0.9) and np.allclose(pred.probs[1], 0.21)
    assert pred.decisions[1].all()  # primary's own threshold 0.2
    assert pred.in_scope == [True, True] and casc.last_rescored_share == 0.5


def test_cascade_decide_matches_the_model_and_uses_row_thresholds() -> None:
    rng = np.random.default_rng(0)
    pp, ps = rng.uniform(size=(200, K)), rng.uniform(size=(200, K))
    tp = rng.uniform(0.2, 0.6, size=(200, K))  # per-row fold thresholds
    ts = np.full(K, 0.5)
    probs, dec, redo = cascade_decide(pp, tp, ps, ts, 0.1)
    assert np.array_equal(redo, cascade_uncertain(pp, tp, 0.1))
    assert np.array_equal(dec[redo], ps[redo] >= 0.5)
    assert np.array_equal(dec[~redo], pp[~redo] >= tp[~redo])
    assert np.array_equal(probs[~redo], pp[~redo])


def test_band_chosen_on_folds_is_the_narrowest_that_keeps_the_accuracy() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=(400, K))
    secondary = np.clip(y * 0.8 + rng.normal(0.1, 0.05, size=y.shape), 0, 1)  # accurate
    primary = np.clip(
        0.5 + rng.normal(0, 0.15, size=y.shape), 0, 1
    )  # uninformative, centred on its threshold
    band, rows = choose_band(y, primary, 0.5, secondary, 0.5, bands=(0.01, 0.1, 0.3, 0.45), tolerance=0.01)
    shares = [r["share"] for r in rows]
    assert rows[0]["band"] == 0.0 and shares == sorted(shares)  # wider band, more passages re-scored
    chosen = next(r for r in rows if r["band"] == band)
    best = max(r["macro_f1"] for r in rows)
    assert band > 0 and chosen["macro_f1"] >= best - 0.011
    assert all(r["macro_f1"] < best - 0.01 for r in rows if r["band"] < band)
    # A secondary no better than the primary: the cascade does not pay, band 0.
    band, _ = choose_band(y, secondary, 0.5, primary, 0.5, bands=(0.01, 0.1, 0.3))
    assert band == 0.0


def test_unknown_model_kind_is_refused(tmp_path: Path) -> None:
    import json

    from cocreation_nlp.errors import ModelLoadError
    from cocreation_nlp.model import load_model

    (tmp_path / "weird").mkdir()
    (tmp_path / "weird" / "meta.json").write_text(
        json.dumps({"schema_version": 1, "labels": list(LABELS), "kind": "mystery", "model_id": "x"})
    )
    with pytest.raises(ModelLoadError, match="unknown model kind"):
        load_model(tmp_path / "weird")


def test_cli_cascade_band_auto_is_chosen_on_both_models_folds(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from cocreation_nlp.cli import app
    from cocreation_nlp.model import load_model
    from cocreation_nlp.train import TrainConfig, save_trained, train

    from .synthetic import assert_same_rates
    from .synthetic import dataset as _dataset

    data = _dataset(n_docs=6, per_doc=16)
    for name, tfidf in (("a", False), ("b", True)):
        save_trained(
            train(data, TrainConfig(embedder="static", tfidf=tfidf, outer_folds=3, inner_folds=2, n_jobs=1)),
            tmp_path / name,
        )
        with np.load(tmp_path / name / "oof.npz", allow_pickle=False) as z:
            assert z["probs"].shape == (len(data), K) and z["row_thresholds"].shape == (len(data), K)
    # Two models of equal out-of-fold accuracy on these templates: a cascade would not pay, so none is written.
    r = CliRunner().invoke(
        app, ["cascade", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "c")]
    )
    assert (
        r.exit_code == 2 and "does not beat" in r.stderr
    )  # nothing written: exit code 2 and not (tmp_path / "c").exists()
    r = CliRunner().invoke(
        app,
        ["cascade", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "c"), "--band", "0.05"],
    )
    assert r.exit_code == 0, r.output
    meta = json.loads((tmp_path / "c" / "meta.json").read_text())
    assert meta["band"] == 0.05 and meta["band_choice"] is None
    cascade = load_model(tmp_path / "c")
    assert isinstance(cascade, CascadeModel)
    # The cascade's own count-estimator rates: both models' out-of-fold predictions combined at the band.
    from cocreation_nlp.oof import combine_cascade, oof_predictions, quantification_from_oof
    from cocreation_nlp.quantify import estimator_for

    q = meta["quantification"]
    assert q["model"]["n_passages"] == len(data) and q["model"]["n_documents"] == 6
    combined = combine_cascade(oof_predictions(tmp_path / "a"), oof_predictions(tmp_path / "b"), 0.05)
    assert_same_rates(quantification_from_oof(combined, ["en"], rules=q["rules"])["model"], q["model"])
    assert estimator_for(cascade, "pacc").parameters["model"] == q["model"]
    a_meta = json.loads((tmp_path / "a" / "meta.json").read_text())
    assert q["model"] != a_meta["quantification"]["model"]
    r = CliRunner().invoke(
        app, ["cascade", str(tmp_path / "a"), str(tmp_path / "nowhere"), "-o", str(tmp_path / "d")]
    )
    assert r.exit_code == 2 and "nowhere" in r.stderr  # nothing done: exit code 2


def test_a_cascade_without_rates_of_its_own_counts_with_its_primarys() -> None:
    from cocreation_nlp.quantify import estimator_for

    primary = Stub({}, 0.2, name="p")
    secondary = Stub({}, 0.5, name="s")
    primary.meta = {"quantification": {"format": 1, "model": {"variables": {"p": 1}}}}
    secondary.meta = {"quantification": {"format": 1, "model": {"variables": {"s": 1}}}}
    old = _cascade(primary, secondary, 0.05)  # a cascade saved without out-of-fold material
    assert estimator_for(old, "pacc").parameters["model"] == {"variables": {"p": 1}}
    own = CascadeModel(
        Path("."),
        {"band": 0.05, "model_id": "c", "quantification": {"format": 1, "model": {"variables": {"c": 1}}}},
        primary,
        secondary,
    )
    assert estimator_for(own, "pacc").parameters["model"] == {"variables": {"c": 1}}
