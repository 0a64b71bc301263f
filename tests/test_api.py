"""The Python API (cocreation_nlp.score_corpus, cocreation_nlp.classify_texts) as a notebook uses it."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

import cocreation_nlp as cc
from cocreation_nlp.errors import ConfigError, ModelLoadError

TEXT = (
    "Tenants' associations and residents co-designed the repairs service with the council.\n\n"
    "Housing officers were trained to work with tenants as partners.\n\n"
    "The server was moved to a new data centre.\n"
)


def test_api_score_corpus_takes_a_string_path_not_its_characters(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "plan.txt").write_text(TEXT, encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        run = cc.score_corpus("corpus", "out", model="rules", workers=1)
    finally:
        os.chdir(cwd)
    assert (run.n_documents, run.n_failed, run.n_passages) == (1, 0, 3)
    assert run.out_dir == Path("out") and run.model == "rules" and run.model_id.startswith("rules-")
    docs = pd.read_csv(tmp_path / "out" / "documents.csv")
    assert docs["doc_id"].tolist() == ["plan"]


def test_api_score_corpus_settings_by_name(tmp_path: Path) -> None:
    (tmp_path / "plan.txt").write_text(TEXT, encoding="utf-8")
    run = cc.score_corpus(
        tmp_path / "plan.txt", tmp_path / "out", model="rules", workers=1, min_denominator=5, n_bootstrap=0
    )
    docs = pd.read_csv(tmp_path / "out" / "documents.csv")
    # Two passages about citizens, below a minimum denominator of 5: undefined, with the reason.
    assert pd.isna(docs.loc[0, "professional_blind_spot"])
    assert "below the minimum of 5" in docs.loc[0, "professional_blind_spot_reason"]
    assert run.n_documents == 1
    with pytest.raises(ConfigError, match="min_denominatr"):
        cc.score_corpus(tmp_path, tmp_path / "out2", model="rules", min_denominatr=5)
    with pytest.raises(ModelLoadError, match="not a model folder"):
        cc.score_corpus(tmp_path, tmp_path / "out3", model=tmp_path)


def test_api_classify_texts_one_string_or_many() -> None:
    [one] = cc.classify_texts("Nurses will work with patients as partners.", model="rules")
    assert "professionals" in one.applied and one.in_scope
    texts = ["", "Residents were surveyed.", "Les associations de locataires siègent au conseil."]
    many = cc.classify_texts(texts, model="rules", languages=["en", "en", "fr_FR"])
    assert [p.reason for p in many][0] == "empty text" and many[0].probs is None
    assert many[1].in_scope and "individual" in many[1].applied
    # fr_FR is French (one language-code rule everywhere), matched by the French lexicon.
    assert many[2].in_scope and many[2].evidence == {"collective": ("associations",)}
    assert cc.classify_texts(texts[2], model="rules", languages=["tlh"])[0].reason.startswith(
        "no rule lexicon"
    )


def test_api_classify_texts_with_the_default_model_marks_out_of_scope_languages() -> None:
    import json

    from cocreation_nlp.model import default_model

    languages = json.loads((Path(default_model()) / "meta.json").read_text(encoding="utf-8"))["languages"]
    assert "en" in languages and "zz" not in languages
    out = cc.classify_texts(
        [
            "Tenants' associations sit on the board that decides how the repairs budget is spent.",
            "Les associations de locataires siègent au conseil qui décide du budget des réparations.",
            "Die Mieterverbände sitzen im Vorstand, der über das Reparaturbudget entscheidet.",
        ]
    )
    english, french, german = out
    assert english.reason == "" and 0.0 <= english.probability("collective") <= 1.0
    # Each language is on the side of the scope its grouped folds chose (train.language_scope).
    for pred, code in ((french, "fr"), (german, "de")):
        if code in languages:
            assert pred.reason == "", (code, pred.reason)
        else:
            assert pred.reason.startswith("rule-only") and f"'{code}'" in pred.reason


def test_api_exports_are_documented() -> None:
    for name in ("score_corpus", "classify_texts"):
        func = getattr(cc, name)
        assert ">>>" in (func.__doc__ or ""), f"{name} has no runnable example"
    with pytest.raises(AttributeError):
        cc.no_such_thing  # noqa: B018
    assert {"score_corpus", "classify_texts", "ScoredDocument"} <= set(dir(cc))
