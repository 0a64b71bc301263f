"""A built wheel carries the default model and its embedder, and scores with them away from the checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from cocreation_nlp.pipeline import run_score

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # --no-build-isolation: build with the setuptools already installed (offline, no index needed).
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    (whl,) = out.glob("cocreation_nlp-*.whl")
    return whl


def _shipped_files(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


@pytest.mark.slow
def test_packaging_wheel_ships_the_default_model_and_the_embedder_it_names(wheel: Path) -> None:
    meta = json.loads((ROOT / "models" / "default" / "meta.json").read_text())
    embedder = next(
        m.parent
        for m in (ROOT / "models" / "embedders").glob("*/manifest.json")
        if json.loads(m.read_text())["name"] == meta["embedder"]["name"]
    )
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    prefix = "cocreation_nlp/_models/"
    assert {f"{prefix}default/{f}" for f in _shipped_files(ROOT / "models" / "default")} <= names
    assert {f"{prefix}embedders/{embedder.name}/{f}" for f in _shipped_files(embedder)} <= names
    # Only what the default model needs: no other model or embedder rides along.
    shipped_dirs = {n[len(prefix) :].rsplit("/", 1)[0] for n in names if n.startswith(prefix)}
    assert shipped_dirs == {"default", f"embedders/{embedder.name}"}


@pytest.mark.slow
def test_packaging_installed_wheel_scores_with_the_default_model(
    wheel: Path, tmp_path: Path, sample_dir: Path
) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    script = (
        "import json, sys, cocreation_nlp as c, cocreation_nlp.resources as r\n"
        "run = c.score_corpus(sys.argv[1], 'out', workers=1)\n"
        "print(json.dumps({'file': c.__file__, 'models': str(r.models_dir()), 'model': run.model,\n"
        "                  'model_id': run.model_id, 'failed': run.n_failed}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("COCREATION_EMBEDDERS_DIR", None)
    done = subprocess.run(
        [sys.executable, "-c", script, str(sample_dir)],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    info = json.loads(done.stdout.strip().splitlines()[-1])
    # The installed copy ran, with the model shipped inside it, not the checkout's models/.
    assert info["file"].startswith(str(site)) and info["models"].startswith(str(site))
    assert Path(info["model"]) == site / "cocreation_nlp" / "_models" / "default"
    meta = json.loads((ROOT / "models" / "default" / "meta.json").read_text())
    # The run's model id is meta.json's id with the verified file hashes folded in.
    assert info["model_id"].split("@")[0] == meta["model_id"] and info["failed"] == 0
    assert "sentence-transformers" not in done.stderr  # no warning about a library the model never loads
    here = tmp_path / "here"
    run_score([sample_dir], here, workers=1)
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "out" / "documents.csv"), pd.read_csv(here / "documents.csv")
    )
