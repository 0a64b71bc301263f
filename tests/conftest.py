from __future__ import annotations

import os
from pathlib import Path

import pytest

# Nothing may be fetched from a model hub, in tests or at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "corpora" / "sample"
OPEN_POLICY = ROOT / "corpora" / "open-policy"


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained once per session on the synthetic set (tests/synthetic.py); treat it as read-only."""
    from cocreation_nlp.train import TrainConfig, save_trained, train

    from .synthetic import dataset

    out = tmp_path_factory.mktemp("model") / "m"
    result = train(dataset(), TrainConfig(embedder="static", outer_folds=3, inner_folds=3, n_jobs=1))
    save_trained(result, out)
    return out


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    assert (SAMPLE / "manifest.csv").exists(), "corpora/sample/manifest.csv is missing"
    return SAMPLE


@pytest.fixture(scope="session")
def open_policy_dir() -> Path:
    if not (OPEN_POLICY / "manifest.csv").exists():
        pytest.fail(f"the open-policy training corpus is expected at {OPEN_POLICY}")
    return OPEN_POLICY


# Debian's chromium, driven by Playwright; never a browser download.
CHROMIUM = os.environ.get("COCREATION_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}. Install Debian's package with "
            "`apt-get install -y chromium` (or set COCREATION_CHROMIUM to its path). "
            "These tests never download a browser."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
