"""Per-language models (shipped only where they beat the rules), and the analyst's evaluation figures."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from cocreation_nlp.annotations import LabelledSet
from cocreation_nlp.codebook import LABELS
from cocreation_nlp.evalstats import (
    analysis,
    bootstrap_over_documents,
    expected_calibration_error,
    reliability_plot,
)

from .synthetic import assert_same_rates
from .synthetic import dataset as _dataset

FR = {
    # Phrasings the French lexicon mostly misses (checked): a learned model has something to add.
    "individual": "Les usagers nous ont raconté leur expérience du guichet de {x}.",
    "collective": "Le collectif de quartier et la fédération sportive animent le projet de {x}.",
    "equity": "Les familles monoparentales sans connexion internet reçoivent une aide pour {x}.",
}
FR_NEUTRAL = "La plateforme de {x} sera migrée vers un nouvel hébergeur en mars."
TOPICS = ["logement", "transport", "santé", "école", "déchets", "bibliothèque"]


def _mixed(seed: int = 0) -> LabelledSet:
    en = _dataset(n_docs=6, per_doc=12, seed=seed)
    rng = random.Random(seed)
    pids, docs, texts, rows = [], [], [], []
    for d in range(6):
        for i in range(14):
            label = rng.choice([*FR, None])
            texts.append(
                (FR[label] if label else FR_NEUTRAL).format(x=rng.choice(TOPICS)) + f" Point {d}-{i}."
            )
            pids.append(f"fr{d}:{i}")
            docs.append(f"fr{d}")
            rows.append([int(lab == label) for lab in LABELS])
    return LabelledSet(
        en.passage_ids + pids,
        en.doc_ids + docs,
        en.texts + texts,
        en.languages + ["fr"] * len(texts),
        np.vstack([en.y, np.asarray(rows)]),
    )


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cocreation_nlp.bylanguage import train_language_models
    from cocreation_nlp.train import TrainConfig, save_trained, train

    data = _mixed()
    root = tmp_path_factory.mktemp("lang")
    en_idx = [i for i, lang in enumerate(data.languages) if lang == "en"]
    en = LabelledSet(
        [data.passage_ids[i] for i in en_idx],
        [data.doc_ids[i] for i in en_idx],
        [data.texts[i] for i in en_idx],
        ["en"] * len(en_idx),
        data.y[en_idx],
    )
    cfg = TrainConfig(embedder="static", outer_folds=3, inner_folds=3, n_jobs=1)
    save_trained(train(en, cfg), root / "default")
    train_language_models(data, root / "bylang", root / "default", cfg, languages=("fr", "de"))
    return root / "bylang"


def test_language_model_shipped_only_where_it_beats_rules(router: Path) -> None:
    meta = json.loads((router / "meta.json").read_text())
    fr, de = meta["report"]["fr"], meta["report"]["de"]
    assert de["shipped"] is False and "too little data" in de["reason"]
    assert fr["passages"] == 84 and fr["documents"] == 6
    assert fr["shipped"] == (fr["model_macro_f1"] > fr["rules_macro_f1"])
    assert fr["shipped"], fr  # template French is easy to learn; the French lexicon alone misses most of it
    assert (router / "fr" / "meta.json").exists() and not (router / "de").exists()
    assert "| fr |" in (router / "README.md").read_text()


def test_router_sends_each_language_to_its_model(router: Path) -> None:
    from cocreation_nlp.model import load_model

    model = load_model(router)
    texts = [
        "Le collectif de quartier et la fédération sportive animent le projet de santé.",
        "Residents told us in interviews that the parking form was confusing.",
        "Die Bürger wurden befragt.",
    ]
    pred = model.predict_texts(texts, ["fr", "en", "de"])
    assert pred.reasons[0] == "" and pred.reasons[1] == ""  # learned models for fr and en
    assert pred.reasons[2].startswith("rule-only")  # German: the default model's rule fallback
    assert pred.decisions[0, LABELS.index("collective")]
    assert pred.decisions[1, LABELS.index("individual")]


def test_ece_and_bootstrap_intervals() -> None:
    y = np.array([0, 0, 1, 1] * 25)
    p = np.array([0.1, 0.1, 0.9, 0.9] * 25)
    assert expected_calibration_error(y, p) == pytest.approx(0.1)
    assert expected_calibration_error(y, np.where(y == 1, 0.5, 0.5)) == pytest.approx(
        0.0
    )  # all in one bin, 50%
    rng = np.random.default_rng(0)
    Y = rng.integers(0, 2, size=(300, len(LABELS)))
    D = np.where(rng.uniform(size=Y.shape) < 0.8, Y, 1 - Y).astype(bool)
    groups = [f"d{i // 10}" for i in range(300)]
    ci = bootstrap_over_documents(Y, D, groups, n_boot=400)
    from cocreation_nlp.train import label_metrics

    m = label_metrics(Y, D)
    for label in LABELS:
        lo, hi = ci["labels"][label]["f1"]
        assert lo < m["labels"][label]["f1"] < hi and hi - lo < 0.3
    # Errors clustered by document (half the documents all right, half mostly wrong): resampling
    # documents gives a wider interval than treating every passage as its own document.
    Dc = np.where((np.arange(300) // 10 % 2 == 0)[:, None], Y, 1 - Y).astype(bool)
    by_doc = bootstrap_over_documents(Y, Dc, groups, n_boot=400)
    by_passage = bootstrap_over_documents(Y, Dc, [str(i) for i in range(300)], n_boot=400)
    assert np.diff(by_doc["macro_f1"])[0] > 1.5 * np.diff(by_passage["macro_f1"])[0]


def test_analysis_per_language_and_plot(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    Y = rng.integers(0, 2, size=(120, len(LABELS)))
    P = np.clip(Y * 0.7 + rng.uniform(0, 0.3, size=Y.shape), 0, 1)
    res = analysis(
        Y, P >= 0.5, P, [f"d{i // 12}" for i in range(120)], ["en"] * 80 + ["fr-BE"] * 40, n_boot=100
    )
    assert res["by_language"]["fr"]["n"] == 40 and res["all"]["n"] == 120
    assert set(res["all"]["labels"]["equity"]) >= {"precision", "recall", "f1", "ci", "ece"}
    png = reliability_plot(Y, P, tmp_path / "r.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_router_carries_the_rates_of_its_routed_out_of_fold_predictions(router: Path) -> None:
    """Each passage's out-of-fold prediction comes from the model that would score it; the rates from those."""
    from cocreation_nlp.model import load_model
    from cocreation_nlp.oof import oof_predictions, quantification_from_oof
    from cocreation_nlp.quantify import estimator_for

    meta = json.loads((router / "meta.json").read_text())
    q = meta["quantification"]
    # 72 English passages (the default model's out-of-fold rows) and 84 French ones (the French model's).
    assert q["model"]["n_passages"] == 72 + 84 and q["rules"]["n_passages"] == 72 + 84
    routed = oof_predictions(router)
    fr = routed["languages"] == "fr"
    fr_oof = oof_predictions(router / "fr")
    pos = {p: i for i, p in enumerate(fr_oof["passage_ids"].tolist())}
    np.testing.assert_allclose(
        routed["probs"][fr], fr_oof["probs"][[pos[p] for p in routed["passage_ids"][fr]]]
    )
    en_oof = oof_predictions(router.parent / "default")
    pos = {p: i for i, p in enumerate(en_oof["passage_ids"].tolist())}
    np.testing.assert_allclose(
        routed["probs"][~fr], en_oof["probs"][[pos[p] for p in routed["passage_ids"][~fr]]]
    )
    # One computation: the stored arrays give back the recorded rates.
    again = quantification_from_oof(routed, ["en", "fr"], rules=q["rules"])
    assert_same_rates(again["model"], q["model"])
    est = estimator_for(load_model(router), "pacc")
    assert set(est.parameters) == {"model", "rules"} and est.describe(["model"]) == "pacc"


def test_cli_evaluate_reports_intervals_ece_languages_and_plot(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cocreation_nlp.annotate.records import AnnotationRecord, write_records
    from cocreation_nlp.cli import app
    from cocreation_nlp.types import fingerprint

    data = _dataset(n_docs=5, per_doc=8, seed=2)
    recs = [
        AnnotationRecord(
            doc_id=d,
            passage_id=p,
            fingerprint=fingerprint(t),
            labels=[lab for lab, v in zip(LABELS, row, strict=True) if v],
            annotator="t",
            created_at="2026-01-01T00:00:00Z",
            codebook_version="1.1",
            text=t,
        )
        for p, d, t, row in zip(data.passage_ids, data.doc_ids, data.texts, data.y.tolist(), strict=True)
    ]
    write_records(recs, tmp_path / "g.jsonl")
    r = CliRunner().invoke(
        app, ["evaluate", str(tmp_path / "g.jsonl"), "--model", "rules", "-o", str(tmp_path / "ev")]
    )
    assert r.exit_code == 0, r.output
    md = (tmp_path / "ev.md").read_text()
    assert "interval over documents" in md and "ECE" in md and "Language `und`" in md
    assert (tmp_path / "ev.reliability.png").read_bytes()[:4] == b"\x89PNG"


def test_language_scope_takes_in_only_languages_where_the_model_beats_the_rules() -> None:
    from cocreation_nlp.train import language_scope

    rng = np.random.default_rng(3)
    langs = ["en"] * 60 + ["fr"] * 60 + ["de"] * 60 + ["nl"] * 20
    docs = [f"{lang}{i % 6}" for i, lang in enumerate(langs)]
    Y = rng.integers(0, 2, size=(len(langs), len(LABELS)))
    good = Y.astype(bool)
    poor = rng.uniform(size=Y.shape) < 0.5  # a coin, whatever the label
    fr = np.array([lang == "fr" for lang in langs])[:, None]
    model = np.where(fr, good, poor)  # the model reads French, not German
    rules = np.where(fr, poor, good)  # the lexicon reads German, not French
    chosen, report = language_scope(Y, model, rules, docs, langs, ["en"])
    assert chosen == ["fr"]
    assert report["fr"]["in_scope"] and report["fr"]["model_macro_f1"] > report["fr"]["rules_macro_f1"]
    assert not report["de"]["in_scope"] and "rule lexicon" in report["de"]["reason"]
    assert not report["nl"]["in_scope"] and "too little data" in report["nl"]["reason"]
    assert "en" not in report  # the embedder's own language is always in scope, never judged


def test_multilingual_default_covers_a_language_it_learned_and_the_router_measures_against_it(
    tmp_path: Path,
) -> None:
    from cocreation_nlp.bylanguage import train_language_models
    from cocreation_nlp.model import load_model
    from cocreation_nlp.train import TrainConfig, save_trained, train

    data = _mixed(seed=1)
    cfg = TrainConfig(embedder="static", outer_folds=3, inner_folds=3, n_jobs=1)
    save_trained(train(data, cfg), tmp_path / "default")
    meta = json.loads((tmp_path / "default" / "meta.json").read_text())
    fr = meta["language_scope"]["fr"]
    # Template French: TF-IDF learns it on the folds, the French lexicon misses most of it.
    assert fr["in_scope"] and fr["model_macro_f1"] > fr["rules_macro_f1"], fr
    assert meta["languages"] == ["en", "fr"]
    scored = meta["metrics"]["as_scored"]
    assert scored["n_rules"] == 0 and scored["macro_f1"] == pytest.approx(
        meta["metrics"]["cross_validated"]["macro_f1"]
    )
    card = (tmp_path / "default" / "README.md").read_text()
    assert "### Languages beyond the embedder's" in card and "| fr | 84 | 6 |" in card
    pred = load_model(tmp_path / "default").predict_texts(
        ["Le collectif de quartier et la fédération sportive animent le projet de santé."], ["fr"]
    )
    assert pred.reasons[0] == "" and pred.decisions[0, LABELS.index("collective")]

    router = train_language_models(data, tmp_path / "bylang", tmp_path / "default", cfg, languages=("fr",))
    row = router["report"]["fr"]
    # The bar for a French model is now the default model's French out-of-fold figure, not the rules'.
    assert "default_macro_f1" in row
    assert row["shipped"] == (row["model_macro_f1"] > row["default_macro_f1"])
