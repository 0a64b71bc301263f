"""Hostile or changed model folders: every recorded hash is checked, and a saved vectoriser cannot change how text is read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cocreation_nlp.errors import UntrustedModelError
from cocreation_nlp.model import load_model, model_id_of, rebuild_tfidf
from cocreation_nlp.model_files import ModelIntegrityError, record_model_hashes
from cocreation_nlp.resources import default_model_dir

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [
    "Residents and the tenants' association co-designed the new housing repairs service with staff.",
    "The platform migrates to a new hosting provider in March.",
]


@pytest.fixture()
def model_copy(tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(default_model_dir(), target)
    return target


def _load_head_obj(folder: Path) -> dict:
    import skops.io as sio

    file = folder / "head.skops"
    return sio.load(file, trusted=sorted(sio.get_untrusted_types(file=file)))


def _dump_head_obj(obj: dict, folder: Path) -> None:
    import skops.io as sio

    sio.dump(obj, folder / "head.skops")


def test_hostile_models_changed_embedder_weights_are_refused(model_copy: Path, tmp_path: Path, monkeypatch):
    embedders = tmp_path / "embedders"
    shutil.copytree(ROOT / "models" / "embedders" / "minilm-static-256", embedders / "minilm-static-256")
    weights = embedders / "minilm-static-256" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-7] ^= 0x01  # one bit of one weight
    weights.write_bytes(bytes(data))
    monkeypatch.setenv("COCREATION_EMBEDDERS_DIR", str(embedders))
    for attempt in (lambda: load_model(model_copy), lambda: model_id_of(str(model_copy))):
        with pytest.raises(ModelIntegrityError) as err:
            attempt()
        assert str(weights) in str(err.value) and "embedder model.safetensors" in str(err.value)


def test_hostile_models_changed_head_is_refused_and_gets_another_cache_id(model_copy: Path, tmp_path: Path):
    from cocreation_nlp.pipeline import run_score

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(TEXTS[0] + "\n\n" + TEXTS[1] + "\n", encoding="utf-8")
    out = tmp_path / "out"
    original_id = model_id_of(str(model_copy))
    first = run_score([corpus], out, model=str(model_copy), workers=1)
    assert first.n_cached == 0
    passages_before = (out / "passages.csv").read_text(encoding="utf-8")
    obj = _load_head_obj(model_copy)
    obj["heads"][3].intercept_ = obj["heads"][3].intercept_ + 4.0  # the cocreation head moves
    _dump_head_obj(obj, model_copy)
    with pytest.raises(ModelIntegrityError, match=r"head\.skops: its SHA-256 is .* records"):
        load_model(model_copy)
    with pytest.raises(ModelIntegrityError, match=r"head\.skops"):
        run_score([corpus], out, model=str(model_copy), workers=1)
    # Someone re-records the hash: the model loads again, but under another id, so no cached result is reused.
    record_model_hashes(model_copy)
    assert model_id_of(str(model_copy)) != original_id
    assert model_id_of(str(model_copy)).split("@")[0] == original_id.split("@")[0]  # same meta.json id
    second = run_score([corpus], out, model=str(model_copy), workers=1)
    assert second.n_cached == 0 and second.n_processed == 1
    # ... and the changed head is what scored them (not a copy kept in memory from the first run).
    assert (out / "passages.csv").read_text(encoding="utf-8") != passages_before


def test_hostile_models_unrecorded_head_hash_is_refused(model_copy: Path):
    meta = json.loads((model_copy / "meta.json").read_text(encoding="utf-8"))
    del meta["files"]
    (model_copy / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match=r"records no hash for head\.skops.*record_model_hashes"):
        load_model(model_copy)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("input", "filename"),  # would open files named by passage text
        ("token_pattern", r"(a+)+$"),  # catastrophic backtracking: hangs classify
        ("analyzer", "char"),
        ("lowercase", False),
        ("ngram_range", (1, 9)),
    ],
)
def test_hostile_models_vectoriser_that_reads_text_differently_is_refused(model_copy: Path, name: str, value):
    obj = _load_head_obj(model_copy)
    setattr(obj["tfidf"], name, value)
    _dump_head_obj(obj, model_copy)
    record_model_hashes(model_copy)  # the hashes match: only the allow-list and the rebuild stand in the way
    with pytest.raises(UntrustedModelError, match=rf"sets {name}="):
        load_model(model_copy)


def test_hostile_models_vectoriser_is_rebuilt_from_vocabulary_and_weights_only():
    obj = _load_head_obj(default_model_dir())
    saved = obj["tfidf"]
    rebuilt = rebuild_tfidf(saved)
    assert rebuilt is not saved and rebuilt.vocabulary_ == saved.vocabulary_
    np.testing.assert_array_equal(rebuilt.transform(TEXTS).toarray(), saved.transform(TEXTS).toarray())
    # The loaded model uses the rebuilt one.
    model = load_model(default_model_dir())
    assert model.head.tfidf is not None and model.head.tfidf.input == "content"
    bad = rebuild_tfidf.__globals__["make_tfidf"]()
    bad.vocabulary_ = {"a": 0, "b": 5}
    bad.idf_ = np.ones(2)
    with pytest.raises(UntrustedModelError, match="vocabulary"):
        rebuild_tfidf(bad)
