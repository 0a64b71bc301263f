"""Hostile corpus files: paths out of the corpus, decompression bombs, passage floods, UTF-16 without a BOM."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocreation_nlp.cli import app
from cocreation_nlp.ingest import Source, discover, read_documents, read_manifest, read_one
from cocreation_nlp.limits import ReadLimits, check_archive
from cocreation_nlp.parse import parse_to_csv
from cocreation_nlp.types import Document, ParseFailure

from . import bad_files

SECRET = "The secret text that must never reach passages.csv, whatever the manifest says."
GOOD = (
    "Residents' panel\n\nResidents told us in twelve workshops that the forms were too long, "
    "and the council changed them with their help.\n"
)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture()
def layout(tmp_path: Path) -> dict[str, Path]:
    """A corpus folder and, beside it, a folder with a secret the corpus must not reach."""
    corpus = tmp_path / "corpus"
    secret = tmp_path / "secret"
    corpus.mkdir()
    secret.mkdir()
    (secret / "file.txt").write_text(SECRET, encoding="utf-8")
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    return {"corpus": corpus, "secret": secret}


# ---------------------------------------------------------------- 1. files outside the corpus


def test_hostile_files_manifest_rows_outside_the_corpus_are_refused(layout: dict[str, Path]):
    corpus, secret = layout["corpus"], layout["secret"]
    (corpus / "sub").mkdir()
    (corpus / "manifest.csv").write_text(
        "doc_id,file\n"
        "good,good.txt\n"
        "dotdot,../secret/file.txt\n"
        f"absolute,{secret / 'file.txt'}\n"
        "sneaky,./sub/../../secret/file.txt\n",
        encoding="utf-8",
    )
    out = corpus.parent / "out" / "passages.csv"
    out.parent.mkdir()
    summary = parse_to_csv([corpus], out)
    assert summary.n_documents == 1
    assert SECRET not in out.read_text(encoding="utf-8")
    errors = {r["doc_id"]: r for r in _rows(out.with_name("errors.csv"))}
    assert set(errors) == {"dotdot", "absolute", "sneaky"}
    for row in errors.values():
        assert row["error_type"] == "outside-corpus"
        assert "outside the corpus folder" in row["message"] and "--allow-outside-corpus" in row["message"]
        assert str(secret.resolve() / "file.txt") in row["message"]
    # The explicit option reads them.
    allowed = {d.doc_id for d in read_documents([corpus / "manifest.csv"], allow_outside=True)}
    docs = [
        d for d in read_documents([corpus / "manifest.csv"], allow_outside=True) if isinstance(d, Document)
    ]
    assert allowed == {"good", "dotdot", "absolute", "sneaky"} and len(docs) == 4
    assert all(s.root is None for s in read_manifest(corpus / "manifest.csv", allow_outside=True))


def test_hostile_files_symlinks_out_of_the_corpus_are_refused(layout: dict[str, Path]):
    corpus, secret = layout["corpus"], layout["secret"]
    os.symlink(secret / "file.txt", corpus / "link.txt")  # a file link leading out
    os.symlink(secret, corpus / "linked-folder")  # a folder link leading out
    (corpus / "sub").mkdir()
    os.symlink(corpus / "good.txt", corpus / "sub" / "inside.txt")  # a link that stays inside: fine
    results = {r.doc_id: r for r in read_documents([corpus])}
    assert isinstance(results["good"], Document) and isinstance(results["sub-inside"], Document)
    for doc_id in ("link", "linked-folder"):
        failure = results[doc_id]
        assert isinstance(failure, ParseFailure), doc_id
        assert failure.error_type == "outside-corpus" and "outside the corpus folder" in failure.message
    # The CLI writes the same rows, exits 1 and never writes the secret.
    out = corpus.parent / "passages.csv"
    result = CliRunner().invoke(app, ["parse", str(corpus), "-o", str(out), "--no-progress"])
    assert result.exit_code == 1, result.output
    assert SECRET not in out.read_text(encoding="utf-8")
    assert {r["doc_id"] for r in _rows(corpus.parent / "errors.csv")} == {"link", "linked-folder"}
    assert "outside-corpus" in result.output
    # A file named on the command line that is a link out of its folder is refused too, unless allowed.
    assert isinstance(read_one(discover([corpus / "link.txt"])[0]), ParseFailure)
    allowed = read_one(discover([corpus / "link.txt"], allow_outside=True)[0])
    assert isinstance(allowed, Document) and "secret text" in allowed.text


def test_hostile_files_link_swapped_after_discovery_is_still_refused(layout: dict[str, Path]):
    corpus, secret = layout["corpus"], layout["secret"]
    os.symlink(corpus / "good.txt", corpus / "swap.txt")
    (source,) = [s for s in discover([corpus]) if s.doc_id == "swap"]
    (corpus / "swap.txt").unlink()
    os.symlink(secret / "file.txt", corpus / "swap.txt")
    failure = read_one(source)
    assert isinstance(failure, ParseFailure) and failure.error_type == "outside-corpus"


def test_hostile_files_score_reports_outside_rows_without_reading_them(layout: dict[str, Path]):
    from cocreation_nlp.pipeline import run_score

    corpus = layout["corpus"]
    (corpus / "manifest.csv").write_text(
        "doc_id,file\ngood,good.txt\nout,../secret/file.txt\n", encoding="utf-8"
    )
    out = corpus.parent / "results"
    summary = run_score([corpus], out, model="rules", workers=1)
    assert summary.n_failed == 1
    assert SECRET not in (out / "passages.csv").read_text(encoding="utf-8")
    (row,) = _rows(out / "errors.csv")
    assert row["doc_id"] == "out" and row["error_type"] == "outside-corpus"


# ---------------------------------------------------------------- 2. decompression bombs and passage floods


def test_hostile_files_docx_bomb_is_refused_before_the_reader_runs(tmp_path: Path, monkeypatch):
    path = bad_files.docx_bomb(tmp_path / "bomb.docx")
    assert path.stat().st_size < 150_000  # small on disk, ~17 MB unpacked

    def must_not_run(*args, **kwargs):
        raise AssertionError("the DOCX reader ran on a decompression bomb")

    monkeypatch.setattr("cocreation_nlp.readers.docx.parse_docx", must_not_run)
    failure = read_one(Source(path, "bomb"))
    assert isinstance(failure, ParseFailure), failure
    assert failure.error_type == "compression-ratio"
    assert "word/document.xml" in failure.message and "--max-compression-ratio" in failure.message
    assert failure.source == str(path)


@pytest.mark.parametrize(
    ("limits", "kind", "option"),
    [
        (
            ReadLimits(max_member_bytes=2_000_000, max_compression_ratio=1e9),
            "unpacked-too-large",
            "--max-member-mb",
        ),
        (
            ReadLimits(max_unpacked_bytes=2_000_000, max_compression_ratio=1e9),
            "unpacked-too-large",
            "--max-unpacked-mb",
        ),
        (ReadLimits(), "compression-ratio", "--max-compression-ratio"),
    ],
)
def test_hostile_files_each_archive_cap_names_its_option(
    tmp_path: Path, limits: ReadLimits, kind: str, option: str
):
    path = bad_files.docx_one_huge_node(tmp_path / "node.docx", 3_000_000)
    failure = read_one(Source(path, "node"), limits=limits)
    assert isinstance(failure, ParseFailure) and failure.error_type == kind, failure
    assert option in failure.message
    # Under roomy limits the same file is an ordinary document.
    roomy = ReadLimits(max_member_bytes=10**9, max_unpacked_bytes=10**9, max_compression_ratio=1e9)
    doc = read_one(Source(path, "node"), limits=roomy)
    assert isinstance(doc, Document) and doc.text.count("co-design") == 300_000


def test_hostile_files_archive_with_other_compression_is_refused(tmp_path: Path):
    import zipfile

    path = tmp_path / "bz.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_BZIP2) as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    failure = read_one(Source(path, "bz"))
    assert isinstance(failure, ParseFailure) and failure.error_type == "unsupported"
    assert "compression method" in failure.message


def test_hostile_files_real_docx_pass_the_archive_caps():
    docs = sorted((Path(__file__).resolve().parents[1] / "corpora").rglob("*.docx"))
    assert docs, "the shipped corpora hold DOCX files"
    for path in docs:
        check_archive(path)  # raises on a false alarm


def test_hostile_files_passage_cap_gives_an_error_row(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "many.txt").write_text(
        "\n\n".join(f"Paragraph {i} says that residents took part in the review." for i in range(40)),
        encoding="utf-8",
    )
    # One block of 600 words: cut into several passages by the segmenter (max 250 words each).
    (corpus / "long.txt").write_text(" ".join(["Residents co-design services."] * 200), encoding="utf-8")
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    out = tmp_path / "passages.csv"
    result = CliRunner().invoke(
        app, ["parse", str(corpus), "-o", str(out), "--no-progress", "--max-passages", "2"]
    )
    assert result.exit_code == 1, result.output
    errors = {r["doc_id"]: r for r in _rows(tmp_path / "errors.csv")}
    assert set(errors) == {"many", "long"}
    assert (
        errors["many"]["error_type"] == "too-many-passages" and "--max-passages" in errors["many"]["message"]
    )
    assert errors["long"]["error_type"] == "too-many-passages"  # caught after segmentation
    assert {r["doc_id"] for r in _rows(out)} == {"good"}


# ---------------------------------------------------------------- 7. UTF-16 without a byte-order mark


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("suffix", [".txt", ".md"])
def test_hostile_files_utf16_without_bom_is_text(tmp_path: Path, encoding: str, suffix: str):
    text = GOOD.replace("Residents told", "Résidents told") + "\nLes usagers participent à la conception.\n"
    path = tmp_path / f"doc{suffix}"
    path.write_bytes(text.encode(encoding))
    assert not path.read_bytes().startswith((b"\xff\xfe", b"\xfe\xff"))
    doc = read_one(Source(path, "doc"))
    assert isinstance(doc, Document), doc
    assert "Résidents told us in twelve workshops" in doc.text and "participent à la conception" in doc.text
