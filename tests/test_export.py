from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pandas as pd
import pytest

from cocreation_nlp import export
from cocreation_nlp.codebook import LABELS
from cocreation_nlp.export import PASSAGE_COLUMNS, PREDICTION_COLUMNS, SCORED_PASSAGE_COLUMNS
from cocreation_nlp.parse import parse_to_csv
from cocreation_nlp.pipeline import run_score
from cocreation_nlp.predict import classify_table
from cocreation_nlp.tables import names
from cocreation_nlp.types import Passage

TEXT = """Community health plan

Residents told us in twelve workshops that the forms were too long, and the council changed them with their help.

Nurses and social workers will receive training to work with patients as partners.

The tenants' association will co-design the new repairs service and sit on the service board.
"""


def _corpus(root: Path, n: int = 3) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"doc{i}.txt").write_text(TEXT.replace("twelve", str(i + 2)), encoding="utf-8")
    (root / "manifest.csv").write_text(
        "doc_id,file,title,year,region\n"
        + "".join(f"doc{i},doc{i}.txt,Plan {i},{2020 + i},North\n" for i in range(n)),
        encoding="utf-8",
    )
    return root


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_export_passage_layout_covers_every_passage_field_with_text_last() -> None:
    assert set(names(PASSAGE_COLUMNS)) == {f.name for f in fields(Passage)}
    assert names(PASSAGE_COLUMNS)[:2] == ["doc_id", "passage_id"] and names(PASSAGE_COLUMNS)[-1] == "text"
    assert names(SCORED_PASSAGE_COLUMNS)[: len(PASSAGE_COLUMNS)] == names(PASSAGE_COLUMNS)
    assert names(PREDICTION_COLUMNS) == [c for label in LABELS for c in (f"{label}_prob", label)] + [
        "evidence"
    ]


def test_export_parse_score_and_classify_share_one_passage_layout(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c")
    parse_to_csv([corpus], tmp_path / "parsed.csv")
    run_score(corpus, tmp_path / "run", model="rules", workers=1)
    classify_table(tmp_path / "parsed.csv", tmp_path / "classified.csv", model="rules")
    parsed, scored, classified = (
        _read(tmp_path / "parsed.csv"),
        _read(tmp_path / "run" / "passages.csv"),
        _read(tmp_path / "classified.csv"),
    )
    layout = names(PASSAGE_COLUMNS)
    assert list(parsed.columns) == layout
    assert list(scored.columns) == names(SCORED_PASSAGE_COLUMNS)
    assert list(classified.columns) == [*layout, *names(PREDICTION_COLUMNS), "prediction_note"]
    # Same passages, same values, whichever command wrote them.
    pd.testing.assert_frame_equal(parsed, scored[layout])
    pd.testing.assert_frame_equal(
        scored[names(PREDICTION_COLUMNS)], classified[names(PREDICTION_COLUMNS)], check_names=False
    )


def test_export_parquet_has_declared_types_and_the_csv_values(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c")
    out = tmp_path / "run"
    run_score(corpus, out, model="rules", workers=1, formats=("csv", "parquet"))
    docs = pd.read_parquet(out / "documents.parquet")
    # year and region are text, whatever they look like; scores are floats; page counts integers.
    assert docs["year"].tolist() == ["2020", "2021", "2022"] and docs["region"].tolist() == ["North"] * 3
    assert pd.api.types.is_float_dtype(docs["participation"])
    passages = pd.read_parquet(out / "passages.parquet")
    assert pd.api.types.is_integer_dtype(passages["index"]) and pd.api.types.is_bool_dtype(
        passages["in_scope"]
    )
    assert passages["page"].isna().all()  # text files have no pages: missing, not 0 or ""
    csv = pd.read_csv(out / "passages.csv", keep_default_na=True)
    pd.testing.assert_series_equal(csv["individual_prob"], passages["individual_prob"], check_dtype=False)
    assert json.loads(passages["evidence"].iloc[1]) == json.loads(csv["evidence"].iloc[1])


def test_export_tables_are_committed_as_a_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = _corpus(tmp_path / "c")
    out = tmp_path / "run"
    run_score(corpus, out, model="rules", workers=1)
    clean = {n: (out / n).read_bytes() for n in ("passages.csv", "documents.csv", "evidence.csv")}
    # The corpus changes, and the run crashes while moving the new tables into place.
    (corpus / "doc1.txt").write_text(
        TEXT + "\nParticipatory budgeting lets residents decide.\n", encoding="utf-8"
    )
    real_replace = export.os.replace

    def crash_after_passages(src: object, dst: object) -> None:
        # passages.csv has been moved into place; documents.csv is next.
        if Path(str(dst)).name == "documents.csv":
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(export.os, "replace", crash_after_passages)
    with pytest.raises(OSError, match="disk full"):
        run_score(corpus, out, model="rules", workers=1)
    monkeypatch.setattr(export.os, "replace", real_replace)
    assert (out / "passages.csv").read_bytes() != clean["passages.csv"], "the crash left a mixed set"
    assert (out / "documents.csv").read_bytes() == clean["documents.csv"]
    assert not (out / "run.json").exists(), "a mixed set must not be marked complete"
    assert not list(out.glob(".staging-*"))
    # The next run rewrites the whole set rather than reusing the mix.
    again = run_score(corpus, out, model="rules", workers=1)
    assert "tables_reused" not in again.timings
    fresh = tmp_path / "fresh"
    run_score(corpus, fresh, model="rules", workers=1)
    for name in clean:
        assert (out / name).read_bytes() == (fresh / name).read_bytes(), name


def test_export_tampered_table_is_rewritten_not_reused(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c")
    out = tmp_path / "run"
    run_score(corpus, out, model="rules", workers=1)
    good = (out / "evidence.csv").read_bytes()
    again = run_score(corpus, out, model="rules", workers=1)
    assert again.timings.get("tables_reused") == 1.0
    (out / "evidence.csv").write_text("doc_id\nstale\n", encoding="utf-8")
    third = run_score(corpus, out, model="rules", workers=1)
    assert "tables_reused" not in third.timings and (out / "evidence.csv").read_bytes() == good
    run = json.loads((out / "run.json").read_text())
    assert set(run["tables"]) == {"passages.csv", "documents.csv", "evidence.csv", "errors.csv"}


def test_export_run_sweeps_what_a_crashed_run_left(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c")
    out = tmp_path / "run"
    run_score(corpus, out, model="rules", workers=1)
    leftovers = [
        out / ".staging-4242" / "passages.csv",
        out / ".documents.csv.x1y2.tmp",
        out / ".cache" / "ab" / ".abcdef.json.gz.k3j4.tmp",
    ]
    for path in leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half", encoding="utf-8")
    keep = out / "notes.tmp"  # not a name this toolkit makes
    keep.write_text("mine", encoding="utf-8")
    run_score(corpus, out, model="rules", workers=1)
    assert not any(p.exists() for p in leftovers) and not (out / ".staging-4242").exists()
    assert keep.read_text(encoding="utf-8") == "mine"


def test_export_parquet_of_an_earlier_run_does_not_outlive_it(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c")
    out = tmp_path / "run"
    run_score(corpus, out, model="rules", workers=1, formats=("csv", "parquet"))
    assert (out / "documents.parquet").exists()
    run_score(corpus, out, model="rules", workers=1)
    assert not list(out.glob("*.parquet"))
