"""A truncated or damaged cache entry is a cache miss that names the file, never a bare "Aborted."."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocreation_nlp.cache import read_cached
from cocreation_nlp.cli import app
from cocreation_nlp.errors import CacheEntryError
from cocreation_nlp.pipeline import run_score

from . import bad_files


@pytest.mark.parametrize("damage", ["truncate", "garble", "empty"])
def test_cache_damaged_entry_is_recomputed_and_named(tmp_path: Path, damage: str):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    bad_files.good_text(corpus / "a.txt")
    (corpus / "b.txt").write_text("Tenants' groups sat on the board that chose the new repairs contractor.\n")
    out = tmp_path / "out"
    run_score([corpus], out, model="rules", workers=1)
    entries = sorted((out / ".cache").rglob("*.json.gz"))
    assert len(entries) == 2
    victim = entries[0]
    data = victim.read_bytes()
    victim.write_bytes(
        {"truncate": data[: len(data) // 2], "garble": b"\x1f\x8b" + data[2:][::-1], "empty": b""}[damage]
    )
    with pytest.raises(CacheEntryError, match=str(victim)):
        read_cached(victim)
    result = CliRunner().invoke(
        app, ["score", str(corpus), "-o", str(out), "--model", "rules", "--workers", "1", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "Aborted" not in result.output
    assert f"Note: {victim}: damaged cache entry" in result.stderr
    assert "1 from cache" in result.stderr
    with (out / "documents.csv").open(encoding="utf-8") as fh:
        assert {r["doc_id"] for r in csv.DictReader(fh)} == {"a", "b"}
    assert read_cached(victim).doc_id in {"a", "b"}  # rewritten whole
