"""Where the shipped models live: inside the installed package, or in the repository's ``models/`` folder.

A built wheel carries the default model and the embedder it names as package
data under ``cocreation_nlp/_models/`` (``setup.py`` copies them at build
time, whatever files those folders hold). A source checkout (and an editable
install) has no ``_models`` and reads ``models/`` at the repository root, so
that a model trained or rebuilt there is used at once.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

ENV_EMBEDDERS_DIR = "COCREATION_EMBEDDERS_DIR"
PACKAGED_MODELS = "_models"
"""Folder inside the package that a wheel's shipped models are copied into."""


def models_dir() -> Path:
    """Return the folder holding the shipped models (``default/``, ``embedders/``, ...).

    The package's own ``_models`` folder when it is there (a wheel install),
    else the repository's ``models/`` folder (a checkout or editable install).

    Example:
        >>> (models_dir() / "default" / "meta.json").exists()
        True
    """
    packaged = resources.files("cocreation_nlp") / PACKAGED_MODELS
    # A zip import would give a Traversable without a file-system path; model
    # loaders need real folders, so only a real directory counts.
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[1] / "models"


def default_model_dir() -> Path:
    """Return the folder of the default model (``models/default``)."""
    return models_dir() / "default"


def embedders_dir() -> Path:
    """Return the folder that holds the embedder artefacts.

    It is ``embedders/`` beside the shipped models, or ``$COCREATION_EMBEDDERS_DIR``
    when set (to try a rebuilt artefact without replacing the shipped one).

    Example:
        >>> embedders_dir().name
        'embedders'
    """
    override = os.environ.get(ENV_EMBEDDERS_DIR)
    if override:
        return Path(override).expanduser()
    return models_dir() / "embedders"
