from __future__ import annotations

import os
from pathlib import Path

import pytest

# Nothing may be fetched from a model hub, in tests or at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "corpora" / "sample"
OPEN_POLICY = ROOT.parent / "shared" / "corpora" / "open-policy"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    assert (SAMPLE / "manifest.csv").exists(), "corpora/sample/manifest.csv is missing"
    return SAMPLE


@pytest.fixture(scope="session")
def open_policy_dir() -> Path:
    if not (OPEN_POLICY / "manifest.csv").exists():
        pytest.fail(f"the open-policy corpus is expected at {OPEN_POLICY} (../shared beside the repository)")
    return OPEN_POLICY
