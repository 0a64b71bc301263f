from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocreation_nlp.cli import app
from cocreation_nlp.errors import InputError
from cocreation_nlp.ingest import Source, read_documents, read_manifest, read_one
from cocreation_nlp.types import Document, ParseFailure

from . import bad_files


@pytest.mark.parametrize("name", sorted(bad_files.ALL))
def test_ingest_bad_file_gives_named_cause(tmp_path: Path, name: str) -> None:
    make, expected_kind = bad_files.ALL[name]
    path = make(tmp_path / name)
    result = read_one(Source(path, "bad"))
    assert isinstance(result, ParseFailure), f"{name} parsed although it is bad"
    assert result.error_type == expected_kind
    assert result.source == str(path)
    assert result.message and len(result.message) > 10


def test_ingest_too_large_file(tmp_path: Path) -> None:
    path = bad_files.large_text(tmp_path / "huge.txt", 50_000)
    result = read_one(Source(path, "huge"), max_bytes=10_000)
    assert isinstance(result, ParseFailure)
    assert result.error_type == "too-large"
    assert "limit" in result.message
    # The same file under a larger limit parses.
    assert isinstance(read_one(Source(path, "huge"), max_bytes=10**6), Document)


def test_ingest_batch_goes_on_after_failures(tmp_path: Path) -> None:
    for name, (make, _) in bad_files.ALL.items():
        make(tmp_path / name)
    bad_files.good_text(tmp_path / "good.txt")
    results = list(read_documents([tmp_path]))
    docs = [r for r in results if isinstance(r, Document)]
    failures = [r for r in results if isinstance(r, ParseFailure)]
    assert [d.doc_id for d in docs] == ["good"]
    assert len(failures) == len(bad_files.ALL)


def test_ingest_manifest_missing_columns(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("id,path\na,b.txt\n", encoding="utf-8")
    with pytest.raises(InputError, match="doc_id"):
        read_manifest(manifest)


def test_ingest_manifest_duplicate_ids(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("doc_id,file\na,x.txt\na,y.txt\n", encoding="utf-8")
    with pytest.raises(InputError, match="appears twice"):
        read_manifest(manifest)


def test_cli_parse_error_path_reports_and_keeps_good_output(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    bad_files.good_text(corpus / "good.txt")
    bad_files.encrypted_pdf(corpus / "locked.pdf")
    bad_files.undecodable_text(corpus / "latin1.txt")
    out = tmp_path / "out" / "passages.csv"
    result = CliRunner().invoke(app, ["parse", str(corpus), "-o", str(out), "--no-progress"])
    assert result.exit_code == 1
    assert "locked.pdf" in result.stderr and "encrypted" in result.stderr
    assert "latin1.txt" in result.stderr and "UTF-8" in result.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {r["doc_id"] for r in rows} == {"good"}
    errors = list(csv.DictReader((out.parent / "errors.csv").open(encoding="utf-8")))
    assert sorted(e["error_type"] for e in errors) == ["encrypted", "undecodable"]


def test_cli_parse_keeps_previous_output_when_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    bad_files.good_text(corpus / "good.txt")
    out = tmp_path / "passages.csv"
    out.write_text("previous results\n", encoding="utf-8")

    import cocreation_nlp.parse as parse_mod

    def boom(*args: object, **kwargs: object) -> list:
        raise KeyboardInterrupt

    monkeypatch.setattr(parse_mod, "segment_document", boom)
    with pytest.raises(KeyboardInterrupt):
        parse_mod.parse_to_csv([corpus], out)
    assert out.read_text(encoding="utf-8") == "previous results\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
