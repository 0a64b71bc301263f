"""Learned passage classifier: load/save a model folder (filled in by the classifier work)."""

from __future__ import annotations

from pathlib import Path

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "default"


def load_model(path: Path):  # noqa: ANN201
    """Load a trained model folder."""
    raise NotImplementedError("learned models are not available yet")
