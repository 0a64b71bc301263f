"""Exit codes (0 done, 1 some documents failed, 2 nothing done) and output paths that cannot be written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocreation_nlp.annotate.cli import annotate_app
from cocreation_nlp.cli import EXIT_NOTHING_DONE, EXIT_SOME_FAILED, app

from . import bad_files


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    bad_files.good_text(folder / "good.txt")
    return folder


def _run(args: list[str]):
    result = CliRunner().invoke(app, args)
    assert "Traceback" not in result.output
    return result


def test_cli_exits_distinguish_nothing_done_from_some_failed(corpus: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert _run(["parse", str(corpus), "-o", str(out / "p.csv"), "--no-progress"]).exit_code == 0
    bad_files.corrupt_pdf(corpus / "broken.pdf")
    for args in (
        ["parse", str(corpus), "-o", str(out / "p.csv"), "--no-progress"],
        ["score", str(corpus), "-o", str(out / "s"), "--model", "rules", "--workers", "1", "--no-progress"],
    ):
        result = _run(args)
        assert result.exit_code == EXIT_SOME_FAILED == 1, result.output
        assert "broken.pdf" in result.stderr
    # A malformed manifest: nothing is read, nothing written.
    (corpus / "manifest.csv").write_text("id,path\na,good.txt\n", encoding="utf-8")
    for args in (
        ["parse", str(corpus), "-o", str(tmp_path / "never.csv"), "--no-progress"],
        ["score", str(corpus), "-o", str(tmp_path / "never"), "--model", "rules", "--no-progress"],
    ):
        result = _run(args)
        assert result.exit_code == EXIT_NOTHING_DONE == 2, result.output
        assert "manifest lacks column(s) doc_id, file" in result.stderr
    assert not (tmp_path / "never.csv").exists() and not (tmp_path / "never").exists()
    # Usage errors are 2 as well (typer's own, and ours).
    assert _run(["score", str(corpus), "--format", "xlsx"]).exit_code == 2
    assert _run(["parse"]).exit_code == 2


def test_cli_exits_output_paths_that_cannot_be_written(corpus: Path, tmp_path: Path):
    a_file = tmp_path / "taken.txt"
    a_file.write_text("keep me", encoding="utf-8")
    a_folder = tmp_path / "folder"
    a_folder.mkdir()
    cases = [
        (
            ["score", str(corpus), "-o", str(a_file), "--model", "rules", "--no-progress"],
            "is an existing file",
        ),
        (["parse", str(corpus), "-o", str(a_folder), "--no-progress"], "is an existing folder"),
        (["parse", str(corpus), "-o", str(a_file / "p.csv"), "--no-progress"], "is a file, not a folder"),
        (["train", str(tmp_path / "none.jsonl"), "-o", str(a_file)], "is an existing file"),
        (["summarize", str(tmp_path), "-o", str(a_folder)], "is an existing folder"),
        (["report", str(tmp_path), "-o", str(a_folder)], "is an existing folder"),
        (["classify", str(a_file), "-o", str(a_folder)], "is an existing folder"),
        (["evaluate", str(a_file), "-o", str(a_folder / "x.csv" / "y")], "is an existing folder"),
    ]
    (a_folder / "x.csv").mkdir()
    (a_folder / "x.csv" / "y.csv").mkdir()
    for args, message in cases:
        result = _run(args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
    assert a_file.read_text(encoding="utf-8") == "keep me"
    result = CliRunner().invoke(annotate_app, ["export", str(tmp_path / "p.db"), "-o", str(a_folder)])
    assert result.exit_code == 2 and "is an existing folder" in result.output


def test_cli_exits_train_checks_its_output_before_training(tmp_path: Path):
    records = tmp_path / "labels.jsonl"
    records.write_text(json.dumps({"not": "read"}) + "\n", encoding="utf-8")
    blocker = tmp_path / "model"
    blocker.write_text("", encoding="utf-8")
    result = _run(["train", str(records), "-o", str(blocker)])
    # The output is refused first: the (bad) records are never even read.
    assert (
        result.exit_code == 2
        and "is an existing file" in result.stderr
        and "labels.jsonl" not in result.stderr
    )
