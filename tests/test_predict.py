"""`cocreation classify`: a table of passages in, every input column plus predictions out."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocreation_nlp.cli import app
from cocreation_nlp.codebook import LABELS


def test_cli_classify_interface(trained: Path, tmp_path: Path) -> None:
    import pandas as pd

    src = tmp_path / "in.csv"
    pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "text": ["Teachers will work with parents as partners.", "", "Residents voted on the budget."],
        }
    ).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    r = CliRunner().invoke(app, ["classify", str(src), "-o", str(out), "--model", str(trained)])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out, keep_default_na=False)
    assert list(df.columns[:2]) == ["id", "text"]
    for label in LABELS:
        assert f"{label}_prob" in df.columns and label in df.columns
    assert int(df.loc[0, "professionals"]) in (0, 1) and 0 <= float(df.loc[0, "professionals_prob"]) <= 1
    assert df.loc[1, "professionals_prob"] == "" and df.loc[1, "prediction_note"] == "empty text"
    assert "evidence" in df.columns and "teachers" in df.loc[0, "evidence"].lower()
    r = CliRunner().invoke(
        app, ["classify", str(src), "-o", str(out), "--model", str(trained), "--text-column", "body"]
    )
    assert r.exit_code == 2 and "no column 'body'" in r.stderr


def test_cli_classify_jsonl_and_non_text_rows(trained: Path, tmp_path: Path) -> None:
    import pandas as pd

    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"text": "Charities run the peer support groups."}\n{"text": 42}\n{"text": null}\n', encoding="utf-8"
    )
    out = tmp_path / "out.csv"
    r = CliRunner().invoke(app, ["classify", str(src), "-o", str(out), "--model", str(trained)])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out, keep_default_na=False)
    assert df.loc[1, "prediction_note"] == "not text (int)"
    assert df.loc[2, "prediction_note"] == "empty text"
    assert int(df.loc[0, "collective"]) == 1


def test_classify_table_gives_models_the_heading_and_lead_in_of_a_passages_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cocreation_nlp.predict as predict_module
    from cocreation_nlp.classify import RuleClassifier
    from cocreation_nlp.predict import classify_table

    seen: list[list[str] | None] = []

    class Recorder(RuleClassifier):
        def predict_texts(self, texts, languages, contexts=None):  # noqa: ANN001, ANN201
            seen.append(None if contexts is None else list(contexts))
            return super().predict_texts(texts, languages, contexts)

    monkeypatch.setattr(predict_module, "load_classifier", lambda model: Recorder())
    table = tmp_path / "passages.csv"
    table.write_text(
        "text,language,kind,heading,context\n"
        "Residents were asked about the forms.,en,paragraph,Our approach,\n"
        "Nurses will co-design the ward rota.,en,list_item,Staff,We will:\n"
        "Staff,en,heading,,\n",
        encoding="utf-8",
    )
    classify_table(table, tmp_path / "out.csv", model="rules")
    assert seen == [["Our approach", "Staff — We will:"]]  # the heading row is not classified
    seen.clear()
    plain = tmp_path / "plain.csv"
    plain.write_text("text\nResidents were asked about the forms.\n", encoding="utf-8")
    classify_table(plain, tmp_path / "out2.csv", model="rules")
    assert seen == [None]
