"""Training, saving and safe loading of learned models (static embedder: fast, offline)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cocreation_nlp.annotate.records import AnnotationRecord, write_records
from cocreation_nlp.cli import app
from cocreation_nlp.codebook import LABELS
from cocreation_nlp.errors import ModelLoadError, SchemaVersionError, UntrustedModelError
from cocreation_nlp.model import load_model
from cocreation_nlp.model_files import record_model_hashes
from cocreation_nlp.types import fingerprint

from .synthetic import TEMPLATES, dataset


def test_train_learns_clear_signal(trained: Path) -> None:
    meta = json.loads((trained / "meta.json").read_text())
    cv = meta["metrics"]["cross_validated"]["labels"]
    for label in TEMPLATES:
        assert cv[label]["f1"] >= 0.9, (label, cv[label])
    assert meta["labels"] == list(LABELS)
    assert meta["codebook_version"] == "1.1"
    assert meta["embedder"]["name"] == "static" and meta["embedder"]["files"]
    assert meta["training"]["n_examples"] == 240 and len(meta["training"]["sha256"]) == 64
    assert "scikit-learn" in meta["versions"]
    card = (trained / "README.md").read_text()
    for section in ("## Intended use", "## Training data", "## Evaluation", "## Limitations"):
        assert section in card


def test_model_roundtrip_identical_predictions(trained: Path) -> None:
    texts = ["Nurses co-designed the discharge form with patients.", "The server was patched."]
    a = load_model(trained).predict_texts(texts, ["en", "en"]).probs
    b = load_model(trained).predict_texts(texts, ["en", "en"]).probs
    np.testing.assert_allclose(a, b)
    assert a[0, LABELS.index("professionals")] > a[1, LABELS.index("professionals")]
    assert not list(trained.parent.glob("*.tmp"))


def test_model_out_of_scope_language_is_rule_only_with_reason(trained: Path) -> None:
    pred = load_model(trained).predict_texts(
        ["Les associations de locataires participent.", "Residents were surveyed."], ["fr", "en"]
    )
    assert pred.reasons[0].startswith("rule-only") and "'fr'" in pred.reasons[0]
    assert pred.reasons[1] == ""
    zz = load_model(trained).predict_texts(["Tekst in een taal zonder lexicon."], ["tlh"])
    assert not zz.in_scope[0] and "no rule lexicon" in zz.reasons[0]


def test_model_refuses_types_outside_allow_list(trained: Path, tmp_path: Path) -> None:
    import shutil

    import skops.io as sio
    from sklearn.preprocessing import StandardScaler

    bad = tmp_path / "bad"
    shutil.copytree(trained, bad)
    obj = sio.load(
        trained / "head.skops", trusted=sorted(sio.get_untrusted_types(file=trained / "head.skops"))
    )
    obj["extra"] = StandardScaler()  # a type skops itself trusts, but this project never saves
    sio.dump(obj, bad / "head.skops")
    record_model_hashes(bad)  # whoever can change head.skops can change its recorded hash too
    with pytest.raises(UntrustedModelError, match="StandardScaler"):
        load_model(bad)


def test_model_schema_and_version_checks(trained: Path, tmp_path: Path) -> None:
    import shutil

    future = tmp_path / "future"
    shutil.copytree(trained, future)
    meta = json.loads((future / "meta.json").read_text())
    meta["schema_version"] = 99
    (future / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(SchemaVersionError):
        load_model(future)
    drift = tmp_path / "drift"
    shutil.copytree(trained, drift)
    meta = json.loads((drift / "meta.json").read_text())
    meta["versions"]["scikit-learn"] = "0.0.1"
    (drift / "meta.json").write_text(json.dumps(meta))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_model(drift)
    assert any("scikit-learn 0.0.1" in str(w.message) for w in caught)
    with pytest.raises(ModelLoadError, match="not a model folder"):
        load_model(tmp_path)


def test_cross_validation_never_splits_a_document(monkeypatch: pytest.MonkeyPatch) -> None:
    import cocreation_nlp.train as tr

    data = dataset(n_docs=6, per_doc=10)
    seen: list[set[str]] = []
    real = tr.fit_head

    def spy(X, Y, groups, cfg):  # noqa: ANN001, ANN202
        seen.append(set(groups.tolist()))
        return real(X, Y, groups, cfg)

    monkeypatch.setattr(tr, "fit_head", spy)
    X = np.random.default_rng(0).normal(size=(len(data), 5)).astype(np.float32)
    tr.cross_validate(
        X,
        data.y,
        np.asarray(data.doc_ids),
        tr.TrainConfig(outer_folds=3, inner_folds=2, tfidf=False, n_jobs=1),
    )
    assert len(seen) == 3
    for train_docs in seen:
        assert 0 < len(train_docs) < 6  # each fold holds some documents out entirely


def test_cli_train_and_evaluate_on_records_with_text(tmp_path: Path) -> None:
    data = dataset(n_docs=6, per_doc=12, seed=3)
    records = [
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
    ann = tmp_path / "ann.jsonl"
    write_records(records, ann)
    model_dir = tmp_path / "m"
    r = CliRunner().invoke(app, ["train", str(ann), "-o", str(model_dir), "--embedder", "static"])
    assert r.exit_code == 0, r.output
    assert (model_dir / "head.skops").exists() and (model_dir / "README.md").exists()
    r = CliRunner().invoke(app, ["evaluate", str(ann), "--model", str(model_dir), "-o", str(tmp_path / "ev")])
    assert r.exit_code == 0, r.output
    md = (tmp_path / "ev.md").read_text()
    assert "| professionals |" in md and "Calibration" in md
    bad = tmp_path / "bad.jsonl"
    bad.write_text(ann.read_text().replace('"equity"', '"equality"', 1), encoding="utf-8")
    r = CliRunner().invoke(app, ["train", str(bad), "-o", str(tmp_path / "m2")])
    assert r.exit_code == 2 and "bad.jsonl:" in r.stderr and "equality" in r.stderr


def test_cascade_rescoring_uses_secondary_near_thresholds(trained: Path, tmp_path: Path) -> None:
    from cocreation_nlp.model import CascadeModel, save_cascade

    r = CliRunner().invoke(
        app, ["cascade", str(trained), str(trained), "-o", str(tmp_path / "c"), "--band", "0.2"]
    )
    assert r.exit_code == 0, r.output
    model = load_model(tmp_path / "c")
    assert isinstance(model, CascadeModel)
    texts = [
        "Nurses co-designed the discharge form with patients.",
        "The server was patched.",
        "Residents were asked.",
    ]
    pred = model.predict_texts(texts, ["en"] * 3)
    single = load_model(trained).predict_texts(texts, ["en"] * 3)
    # Same model on both sides: the cascade must reproduce it exactly, whatever it re-scored.
    np.testing.assert_allclose(pred.probs, single.probs)
    assert 0.0 <= model.last_rescored_share <= 1.0
    with pytest.raises(ModelLoadError, match="band"):
        save_cascade(tmp_path / "bad", trained, trained, band=0.7)
    with pytest.raises(ModelLoadError, match="not from another cascade"):
        save_cascade(tmp_path / "bad2", tmp_path / "c", trained)


def test_model_warns_only_about_libraries_it_uses(trained: Path, tmp_path: Path) -> None:
    import shutil

    from cocreation_nlp.model import used_libraries

    drift = tmp_path / "drift"
    shutil.copytree(trained, drift)
    meta = json.loads((drift / "meta.json").read_text())
    assert "sentence-transformers" not in used_libraries(meta)  # the static embedder never loads it
    meta["versions"]["sentence-transformers"] = "0.0.1"
    meta["versions"]["torch"] = "0.0.1"
    (drift / "meta.json").write_text(json.dumps(meta))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_model(drift)  # no warning: neither library is used by this model
    meta["versions"]["model2vec"] = "0.0.1"
    (drift / "meta.json").write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match="model2vec 0.0.1") as caught:
        load_model(drift)
    assert len(caught) == 1 and "sentence-transformers" not in str(caught[0].message)


def test_model_loading_dispatches_on_kind(trained: Path, tmp_path: Path) -> None:
    import shutil

    from cocreation_nlp.model import LOADERS, SingleModel, load_classifier, model_id_of

    assert isinstance(load_classifier(str(trained)), SingleModel)
    # The cache's id: meta.json's id with the verified file hashes folded in.
    assert (
        model_id_of(str(trained)).split("@")[0] == json.loads((trained / "meta.json").read_text())["model_id"]
    )
    odd = tmp_path / "odd"
    shutil.copytree(trained, odd)
    meta = json.loads((odd / "meta.json").read_text())
    meta["kind"] = "crystal-ball"
    (odd / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="unknown model kind 'crystal-ball'"):
        load_model(odd)
    assert set(LOADERS) >= {"single", "cascade"}


def test_model_default_is_the_shipped_folder_and_never_silently_rules(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from cocreation_nlp import model as model_module

    assert Path(model_module.default_model()).name == "default"
    monkeypatch.setattr(model_module, "default_model_dir", lambda: tmp_path / "missing")
    with pytest.raises(ModelLoadError, match="default model is missing"):
        model_module.default_model()
