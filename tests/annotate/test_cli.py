"""`cocreation annotate ...`: happy paths, one-line errors, help with examples."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cocreation_nlp.annotate.cli import annotate_app
from cocreation_nlp.annotate.store import AnnotationStore


def test_annotate_cli_add_agreement_and_predictions(tmp_path: Path):
    runner = CliRunner()
    db = tmp_path / "p.db"
    table = tmp_path / "passages.jsonl"
    table.write_text(
        "".join(json.dumps({"doc_id": "d", "text": f"Text {i}"}) + "\n" for i in range(4)), encoding="utf-8"
    )
    result = runner.invoke(annotate_app, ["add", str(db), str(table)])
    assert result.exit_code == 0, result.output
    assert "Added 4 passages" in result.output
    s = AnnotationStore(db)
    for i in range(4):
        s.save_decision(f"d:p{i}", "ada", ["equity"] if i % 2 else [])
        s.save_decision(f"d:p{i}", "bob", ["equity"] if i < 2 else [])
    s.close()
    out = tmp_path / "agreement.csv"
    result = runner.invoke(annotate_app, ["agreement", str(db), "-o", str(out), "--n-boot", "50"])
    assert result.exit_code == 0, result.output
    assert "equity" in result.output and "ada x bob" in result.output
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("label,alpha,alpha_low,alpha_high") and "kappa:ada|bob" in header
    preds = tmp_path / "pred.csv"
    preds.write_text("passage_id,label,prob\nd:p0,equity,0.4\n", encoding="utf-8")
    result = runner.invoke(annotate_app, ["predictions", str(db), str(preds)])
    assert result.exit_code == 0 and "Loaded 1 predictions" in result.output


def test_annotate_cli_errors_are_one_line(tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(annotate_app, ["agreement", str(tmp_path / "missing.db")])
    assert result.exit_code == 2
    assert "Error: No annotation project" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("doc_id,text\nd,\n", encoding="utf-8")
    result = runner.invoke(annotate_app, ["add", str(tmp_path / "p.db"), str(bad)])
    assert result.exit_code == 2 and "Error:" in result.output and "Traceback" not in result.output
    result = runner.invoke(annotate_app, ["serve", str(tmp_path / "p.db"), "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "without an access token" in result.output


def test_annotate_cli_every_command_has_help_with_an_example():
    runner = CliRunner()
    for command in annotate_app.registered_commands:
        name = command.name or command.callback.__name__
        result = runner.invoke(annotate_app, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example:" in result.output, name
    serve_help = runner.invoke(annotate_app, ["serve", "--help"], terminal_width=200).output
    assert "0.0.0.0" in serve_help and "127.0.0.1" in serve_help
