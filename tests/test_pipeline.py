from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cocreation_nlp.cli import app
from cocreation_nlp.pipeline import run_score

from . import bad_files

TEXT = """Community health plan

Residents told us in twelve workshops that the forms were too long, and the council changed them with their help.

Nurses and social workers will receive training to work with patients as partners.

The tenants' association will co-design the new repairs service and sit on the service board.

Interpreters and childcare make the sessions accessible to recent migrants and single parents.

The co-design method will be written into the commissioning rules so that it outlasts the pilot.
"""


def _corpus(root: Path, n: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"doc{i:03d}.txt").write_text(TEXT.replace("twelve", f"{i + 2}"), encoding="utf-8")
    return root


def _frame(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / name, keep_default_na=False, dtype=str)


def test_pipeline_writes_all_tables_and_run_record(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c", 3)
    bad_files.encrypted_pdf(corpus / "locked.pdf")
    out = tmp_path / "out"
    summary = run_score([corpus], out, model="rules", workers=1, formats=("csv", "parquet"))
    assert summary.n_documents == 4 and summary.n_failed == 1
    docs = _frame(out, "documents.csv")
    assert list(docs["doc_id"]) == ["doc000", "doc001", "doc002"]
    passages = _frame(out, "passages.csv")
    assert {"individual_prob", "individual", "systemic_prob", "systemic", "evidence"} <= set(passages.columns)
    # Five paragraphs and a heading per document: the heading is a row of its own, not classified.
    assert len(passages) == 3 * 6
    headings = passages[passages["kind"] == "heading"]
    assert list(headings["text"]) == ["Community health plan"] * 3
    assert set(headings["in_scope"]) == {"False"}
    assert all(r.startswith("heading: not a labelling unit") for r in headings["scope_reason"])
    assert set(headings["individual_prob"]) == {""}  # no prediction, as for any out-of-scope row
    assert list(docs["n_passages"]) == ["5", "5", "5"]  # scores count the labelling units only
    errors = _frame(out, "errors.csv")
    assert list(errors["error_type"]) == ["encrypted"]
    run = json.loads((out / "run.json").read_text())
    assert run["counts"] == {
        "documents": 4,
        "failed": 1,
        "processed": 4,
        "from_cache": 0,
        "passages": 18,
        "ocr_pages_read": 0,
    }
    assert run["settings"]["score"]["min_denominator"] == 2.0
    assert run["codebook_version"] == "1.1"
    pq = pd.read_parquet(out / "documents.parquet")
    assert len(pq) == 3
    assert (out / "evidence.csv").exists()


def test_pipeline_rerun_uses_cache_and_grows_incrementally(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c", 4)
    out = tmp_path / "out"
    first = run_score([corpus], out, model="rules", workers=1)
    assert first.n_processed == 4
    before = _frame(out, "documents.csv")
    again = run_score([corpus], out, model="rules", workers=1)
    assert again.n_processed == 0 and again.n_cached == 4
    pd.testing.assert_frame_equal(before, _frame(out, "documents.csv"))
    # One changed and one new document: only those two are processed.
    (corpus / "doc001.txt").write_text(
        TEXT + "\nParticipatory budgeting lets residents decide.\n", encoding="utf-8"
    )
    (corpus / "doc999.txt").write_text(TEXT, encoding="utf-8")
    grown = run_score([corpus], out, model="rules", workers=1)
    assert grown.n_processed == 2 and grown.n_cached == 3
    assert len(_frame(out, "documents.csv")) == 5


def test_pipeline_settings_change_invalidates_cache(tmp_path: Path) -> None:
    from cocreation_nlp.config import load_config

    corpus = _corpus(tmp_path / "c", 2)
    out = tmp_path / "out"
    run_score([corpus], out, model="rules", workers=1)
    s = run_score(
        [corpus], out, model="rules", workers=1, config=load_config(None, **{"score.min_denominator": 1.0})
    )
    assert s.n_processed == 2


def test_pipeline_parallel_equals_inline(tmp_path: Path) -> None:
    # 12 documents and 2 workers: above the inline cut-off, so the process pool really runs.
    corpus = _corpus(tmp_path / "c", 12)
    run_score([corpus], tmp_path / "a", model="rules", workers=1)
    summary = run_score([corpus], tmp_path / "b", model="rules", workers=2)
    assert summary.n_processed == 12
    for name in ("documents.csv", "passages.csv", "evidence.csv"):
        pd.testing.assert_frame_equal(_frame(tmp_path / "a", name), _frame(tmp_path / "b", name))


@pytest.mark.slow
def test_pipeline_dask_local_cluster_equals_local(tmp_path: Path) -> None:
    from distributed import LocalCluster

    corpus = _corpus(tmp_path / "c", 5)
    run_score([corpus], tmp_path / "local", model="rules", workers=1)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as cluster:
        run_score([corpus], tmp_path / "dask", model="rules", scheduler=cluster.scheduler_address)
    for name in ("documents.csv", "passages.csv", "evidence.csv"):
        pd.testing.assert_frame_equal(_frame(tmp_path / "local", name), _frame(tmp_path / "dask", name))
    run = json.loads((tmp_path / "dask" / "run.json").read_text())
    assert run["execution"]["scheduler"].startswith("tcp://127.0.0.1")


@pytest.mark.slow
def test_pipeline_resumes_after_kill_9(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c", 60)
    out = tmp_path / "out"
    (out).mkdir()
    (out / "documents.csv").write_text("earlier results\n", encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "cocreation_nlp",
        "score",
        str(corpus),
        "-o",
        str(out),
        "--model",
        "rules",
        "--workers",
        "1",
        "--no-progress",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        cached = list((out / ".cache").rglob("*.json.gz")) if (out / ".cache").exists() else []
        if len(cached) >= 5:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    n_cached = len(list((out / ".cache").rglob("*.json.gz")))
    assert 5 <= n_cached < 60, "the run should have been killed part-way"
    # The earlier result was not lost or half-written by the killed run.
    assert (out / "documents.csv").read_text(encoding="utf-8") == "earlier results\n"
    assert not list(out.glob("*.tmp")) or all(p.name.startswith(".") for p in out.glob("*.tmp"))
    resumed = run_score([corpus], out, model="rules", workers=1)
    assert resumed.n_cached >= n_cached and resumed.n_processed == 60 - resumed.n_cached
    clean = tmp_path / "clean"
    run_score([corpus], clean, model="rules", workers=1)
    pd.testing.assert_frame_equal(_frame(out, "documents.csv"), _frame(clean, "documents.csv"))


def test_cli_score_happy_and_error_paths(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c", 2)
    out = tmp_path / "out"
    r = CliRunner().invoke(
        app, ["score", str(corpus), "-o", str(out), "--model", "rules", "--workers", "1", "--no-progress"]
    )
    assert r.exit_code == 0, r.output
    assert "Scored 2/2 documents" in r.stderr and "with model rules-" in r.stderr
    bad_files.corrupt_pdf(corpus / "broken.pdf")
    r = CliRunner().invoke(
        app, ["score", str(corpus), "-o", str(out), "--model", "rules", "--workers", "1", "--no-progress"]
    )
    assert r.exit_code == 1
    assert "broken.pdf" in r.stderr and "corrupt" in r.stderr
    r = CliRunner().invoke(app, ["score", str(corpus), "-o", str(out), "--format", "xlsx"])
    assert r.exit_code == 2
    bad_cfg = tmp_path / "bad.toml"
    bad_cfg.write_text("[score]\nmin_denominatr = 3\n", encoding="utf-8")
    r = CliRunner().invoke(
        app, ["score", str(corpus), "-o", str(out), "--config", str(bad_cfg), "--model", "rules"]
    )
    assert r.exit_code == 2 and "min_denominatr" in r.stderr


def test_cli_summarize_groups(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c", 3)
    out = tmp_path / "out"
    run_score([corpus], out, model="rules", workers=1)
    r = CliRunner().invoke(app, ["summarize", str(out), "--by", "format", "-o", str(tmp_path / "s.csv")])
    assert r.exit_code == 0, r.output
    s = pd.read_csv(tmp_path / "s.csv")
    row = s[(s["score"] == "participation")].iloc[0]
    assert row["n_documents"] == 3 and row["format"] == "text"
    assert list(s.columns[:4]) == ["format", "score", "n_documents", "n_defined"]
    r = CliRunner().invoke(app, ["summarize", str(out), "--by", "nope", "-o", str(tmp_path / "s.csv")])
    assert r.exit_code == 2 and "nope" in r.stderr


def test_cli_report_needs_a_run(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["report", str(tmp_path), "-o", str(tmp_path / "r.html")])
    assert r.exit_code == 2 and "cocreation score" in r.stderr
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_pipeline_identical_files_keep_their_own_ids(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c", 1)
    (corpus / "copy.txt").write_bytes((corpus / "doc000.txt").read_bytes())
    out = tmp_path / "out"
    run_score([corpus], out, model="rules", workers=1)
    run_score([corpus], out, model="rules", workers=1)
    docs = _frame(out, "documents.csv")
    assert sorted(docs["doc_id"]) == ["copy", "doc000"]
    passages = _frame(out, "passages.csv")
    assert set(passages[passages["doc_id"] == "copy"]["passage_id"].str.split(":").str[0]) == {"copy"}


def test_pipeline_keeps_extra_manifest_columns(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c", 2)
    (corpus / "manifest.csv").write_text(
        "doc_id,file,title,split,region\nd0,doc000.txt,First,train,North\nd1,doc001.txt,Second,reserved,South\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    run_score([corpus / "manifest.csv"], out, model="rules", workers=1)
    docs = _frame(out, "documents.csv")
    assert list(docs["split"]) == ["train", "reserved"] and list(docs["region"]) == ["North", "South"]
    cols = list(docs.columns)
    assert cols.index("doc_type") < cols.index("split") < cols.index("manifest_language")
    r = CliRunner().invoke(app, ["summarize", str(out), "--by", "split", "-o", str(tmp_path / "s.csv")])
    assert r.exit_code == 0, r.output


def test_cli_score_says_which_model_ran(tmp_path: Path) -> None:
    from cocreation_nlp.model import default_model

    corpus = _corpus(tmp_path / "c", 1)
    meta = json.loads((Path(default_model()) / "meta.json").read_text())
    r = CliRunner().invoke(
        app, ["score", str(corpus), "-o", str(tmp_path / "out"), "--workers", "1", "--no-progress"]
    )
    assert r.exit_code == 0, r.output
    assert f"with model {meta['model_id']}@" in r.stderr and f"({default_model()})" in r.stderr


def test_pipeline_accepts_one_path_as_a_string(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c", 2)
    summary = run_score(str(corpus), str(tmp_path / "out"), model="rules", workers=1)
    assert summary.n_documents == 2 and summary.n_failed == 0


def test_classify_table_skips_headings_and_tables(tmp_path: Path) -> None:
    from cocreation_nlp.predict import classify_table

    table = tmp_path / "passages.csv"
    rows = [
        ("heading", "Working with residents"),
        ("paragraph", "Residents and nurses will co-design the new discharge service together."),
        ("table", "Ward | Meetings\nNorth | 12"),
    ]
    pd.DataFrame({"kind": [k for k, _ in rows], "text": [t for _, t in rows], "language": "en"}).to_csv(
        table, index=False
    )
    out = tmp_path / "classified.csv"
    counts = classify_table(table, out, model="rules")
    df = _frame(out.parent, out.name)
    assert counts.predicted == 1
    assert df["prediction_note"][0].startswith("heading: not a labelling unit")
    assert df["prediction_note"][2].startswith("table: not a labelling unit")
    assert df["cocreation"][1] == "1" and df["cocreation"][0] == ""
