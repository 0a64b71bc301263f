"""Known answers: the sample corpus was written so that its blind spots are known (corpora/sample/expected.csv).

These run the default configuration end to end (`cocreation score corpora/sample`), as the README's main job does:
the shipped model, and document counts estimated by the default count method (PACC, chosen on grouped
cross-validation against complete-document gold; see the model card).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from cocreation_nlp.pipeline import run_score


@pytest.fixture(scope="module")
def scored(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("known")
    summary = run_score([sample_dir], out)  # default workers: the README main job, process pool included
    assert summary.n_failed == 0
    return pd.read_csv(out / "documents.csv").set_index("doc_id")


@pytest.fixture(scope="module")
def groups(sample_dir: Path) -> dict[str, set[str]]:
    with (sample_dir / "expected.csv").open(encoding="utf-8") as fh:
        return {r["doc_id"]: set(r["groups"].split(";")) for r in csv.DictReader(fh)}


def _docs(groups: dict[str, set[str]], group: str, *, english: bool = True) -> list[str]:
    return sorted(d for d, g in groups.items() if group in g and not (english and "french" in g))


def test_known_professional_blind_spot_high_where_professionals_never_appear(
    scored: pd.DataFrame, groups: dict
) -> None:
    docs = _docs(groups, "professional-blind-spot")
    assert len(docs) >= 3
    values = scored.loc[docs, "professional_blind_spot"]
    assert (values >= 0.8).all(), values.to_dict()


def test_known_balanced_documents_score_low_on_both_blind_spots(scored: pd.DataFrame, groups: dict) -> None:
    # Probabilities calibrated on a corpus where professionals are rare (1% of passages) under-count them
    # on documents full of them; the adjusted counts correct that.
    docs = _docs(groups, "balanced")
    assert len(docs) >= 3
    prof = scored.loc[docs, "professional_blind_spot"]
    assert (prof <= 0.25).all(), prof.to_dict()
    for score, group in (
        ("professional_blind_spot", "professional-blind-spot"),
        ("collective_blind_spot", "collective-blind-spot"),
    ):
        balanced = scored.loc[docs, score]
        neglecting = scored.loc[_docs(groups, group), score]
        assert balanced.max() < neglecting.min(), (score, balanced.to_dict(), neglecting.to_dict())


def test_known_collective_blind_spot_high_where_no_organisations(scored: pd.DataFrame, groups: dict) -> None:
    docs = _docs(groups, "collective-blind-spot")
    assert len(docs) >= 3
    values = scored.loc[docs, "collective_blind_spot"]
    assert (values >= 0.8).all(), values.to_dict()


@pytest.mark.xfail(
    strict=True,
    reason="classifier limit, not a counting one: on the balanced documents the model retrained on the grown corpus "
    "(2026-12-05) still counts 9-13 `individual` passages where the author labelled 7-11, and too few `collective`, "
    "so collective_blind_spot is 0.12-0.44 (0.58-0.73 before the retrain), not all <= 0.25 (issue 13; a better "
    "model, issue 12)",
)
def test_known_balanced_documents_collective_blind_spot_low(scored: pd.DataFrame, groups: dict) -> None:
    docs = _docs(groups, "balanced")
    values = scored.loc[docs, "collective_blind_spot"]
    assert (values <= 0.25).all(), values.to_dict()


@pytest.mark.xfail(
    strict=True,
    reason="classifier limit, not a counting one: retrained on the grown corpus (2026-12-05), three of the five "
    "co-creation documents now score 0.03-0.33 (0.6-1.0 before), but the participatory-budget document still counts "
    "8.0 `consultation` and 3.0 `cocreation` passages where the author labelled 2 and 8 (0.98), and the home-care "
    "co-design evaluation finds 1.7 `cocreation` of 6, leaving the ratio undefined (issue 13; a better model, issue 12)",
)
def test_known_cocreation_documents_have_low_consultation_share(
    scored: pd.DataFrame, sample_dir: Path
) -> None:
    expected = pd.read_csv(sample_dir / "expected.csv").set_index("doc_id")
    docs = expected[(expected["consultation_share_band"] == "low") & (expected["language"] == "en")].index
    assert len(docs) >= 3
    values = scored.loc[docs, "consultation_share"]
    assert (values <= 0.5).all(), values.to_dict()


def test_known_blind_spot_ranking_separates_groups(scored: pd.DataFrame, groups: dict) -> None:
    neglect = scored.loc[_docs(groups, "professional-blind-spot"), "professional_blind_spot"]
    balanced = scored.loc[_docs(groups, "balanced"), "professional_blind_spot"]
    assert neglect.min() > balanced.max()


def test_known_decision_basis_puts_balanced_documents_near_zero(
    sample_dir: Path, groups: dict, tmp_path: Path
) -> None:
    from cocreation_nlp.config import load_config

    run_score([sample_dir], tmp_path, workers=1, config=load_config(None, **{"score.basis": "decisions"}))
    docs = pd.read_csv(tmp_path / "documents.csv").set_index("doc_id")
    balanced = _docs(groups, "balanced")
    assert (docs.loc[balanced, "professional_blind_spot"] <= 0.25).all(), docs.loc[
        balanced, "professional_blind_spot"
    ].to_dict()
    neglect = _docs(groups, "professional-blind-spot")
    assert (docs.loc[neglect, "professional_blind_spot"] >= 0.75).all()


def test_known_no_citizens_document_is_undefined_not_zero(scored: pd.DataFrame, groups: dict) -> None:
    (doc,) = _docs(groups, "no-citizens")
    row = scored.loc[doc]
    for score in ("professional_blind_spot", "collective_blind_spot", "equity_coverage", "systemic_coverage"):
        assert pd.isna(row[score]), (score, row[score])
        assert "below the minimum" in row[f"{score}_reason"]
    assert pd.isna(row["inequality_risk"]) and pd.isna(row["sustainability_risk"])
    assert row["participation"] < 0.15


def test_known_consultation_only_document_has_high_consultation_share(
    scored: pd.DataFrame, groups: dict
) -> None:
    (doc,) = _docs(groups, "consultation-only")
    assert scored.loc[doc, "consultation_share"] >= 0.8


def test_known_scores_say_how_counts_were_estimated(scored: pd.DataFrame) -> None:
    assert set(scored["count_method"]) == {"pacc"}
    # Intervals carry the classifier's error rates: every defined blind spot has one, and it contains the value.
    for score in ("professional_blind_spot", "collective_blind_spot"):
        defined = scored[scored[score].notna()]
        assert defined[f"{score}_low"].notna().all()
        assert (
            (defined[f"{score}_low"] <= defined[score] + 1e-9)
            & (defined[score] <= defined[f"{score}_high"] + 1e-9)
        ).all()


def test_known_french_document_scope_follows_the_model(scored: pd.DataFrame, groups: dict) -> None:
    """French is in the shipped model's scope only where its grouped folds chose it over the lexicon.

    The scope is recorded in meta.json["languages"] (``train.language_scope``); the export says, per
    document, which side of it the document fell on, and a covered French document is scored by the model.
    """
    import json

    from cocreation_nlp.model import default_model

    languages = json.loads((Path(default_model()) / "meta.json").read_text(encoding="utf-8"))["languages"]
    (doc,) = _docs(groups, "french", english=False)
    row = scored.loc[doc]
    assert row["language"] == "fr"
    assert bool(row["model_covers_language"]) == ("fr" in languages)
    if "fr" in languages:
        # Written to be balanced: its social workers and reception staff are as present as its residents.
        assert row["professional_blind_spot"] <= 0.25
