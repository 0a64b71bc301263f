"""The files a model's predictions come from: their recorded hashes, checked on every load.

Model folders travel between researchers, so a weight file can change under
a folder whose ``meta.json`` still says the same thing; predictions would
then change silently (one probability moved from 0.85 to 0.36 when an
embedder weight file was swapped) and the score cache would keep serving
results of the old files. Therefore:

* ``meta.json`` records a SHA-256 for every file that shapes predictions:
  ``files`` for the model folder's own files (``head.skops``), and
  ``embedder.files`` (plus ``embedder.source.files`` for a tokenizer taken
  from the weights package) for the embedder, which lives elsewhere.
* :func:`verify_model_files` re-hashes each of them when the model is loaded
  and refuses, naming the file, on any difference, and when ``head.skops``
  has no recorded hash at all (a model that cannot be checked).
* :func:`cocreation_nlp.model.model_id_of` folds the verified hashes into the
  model id that cache keys use, so results computed with other files are never reused.

A hash in the same folder is a check of integrity (a changed or corrupted
file), not of authenticity: whoever can rewrite ``head.skops`` can rewrite
``meta.json`` too. What a hostile ``head.skops`` can do is bounded by the
skops type allow-list and by rebuilding its text vectoriser
(:func:`cocreation_nlp.model.rebuild_tfidf`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .errors import ModelLoadError
from .util import file_sha256

__all__ = [
    "HEAD_FILE",
    "ModelIntegrityError",
    "embedder_folder",
    "record_model_hashes",
    "verify_model_files",
]

HEAD_FILE = "head.skops"


class ModelIntegrityError(ModelLoadError):
    """A model file differs from the hash its ``meta.json`` records, or cannot be checked."""


def embedder_folder(embedder: dict) -> Path | None:
    """Where the files of a model's embedder are on this machine, found as the embedder loader finds them.

    The absolute ``path`` recorded at training time is only a last resort:
    model folders move between machines.
    """
    from . import embed
    from .resources import embedders_dir

    name = str(embedder.get("name", ""))
    if name in embed._ARTEFACT_DIRS:
        return embedders_dir() / embed._ARTEFACT_DIRS[name]
    if name == "minilm":
        return embed._minilm_dir()
    if name and Path(name).is_dir():
        return Path(name)
    recorded = embedder.get("path")
    if recorded and Path(recorded).is_dir():
        return Path(recorded)
    if name:
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(name, local_files_only=True))
        except Exception:  # noqa: BLE001 - not a hub name, or not in the local cache
            return None
    return None


def _source_folder(embedder: dict) -> Path | None:
    from . import embed

    if (embedder.get("source") or {}).get("package") == embed.SOURCE_PACKAGE:
        return embed._minilm_dir()
    return None


def _expected_files(path: Path, meta: dict) -> list[tuple[Path, str, str]]:
    """``(file, recorded hash, label)`` for every file the model's predictions come from."""
    out: list[tuple[Path, str, str]] = []
    files = meta.get("files") or {}
    unrecorded = [HEAD_FILE] if (path / HEAD_FILE).exists() and HEAD_FILE not in files else []
    if unrecorded or not files:
        what = f"no hash for {HEAD_FILE}" if unrecorded else "no file hashes"
        raise ModelIntegrityError(
            f"{path / 'meta.json'} records {what}, so the model cannot be checked. "
            "Models saved by this release record them; for an older model whose files you trust, run "
            f"`python -c \"from cocreation_nlp.model_files import record_model_hashes; record_model_hashes('{path}')\"`."
        )
    for rel, digest in sorted(files.items()):
        out.append((path / rel, str(digest), rel))
    embedder = meta.get("embedder") or {}
    if embedder.get("files"):
        folder = embedder_folder(embedder)
        if folder is None:
            raise ModelIntegrityError(
                f"{path}: the files of embedder {embedder.get('name')!r} are not on this machine, "
                "so the model cannot be checked"
            )
        out += [(folder / rel, str(h), f"embedder {rel}") for rel, h in sorted(embedder["files"].items())]
    source_files = (embedder.get("source") or {}).get("files") or {}
    if source_files:
        folder = _source_folder(embedder)
        if folder is not None:
            out += [
                (folder / rel, str(h), f"embedder source {rel}") for rel, h in sorted(source_files.items())
            ]
    return out


def verify_model_files(path: Path, meta: dict) -> str:
    """Check every recorded hash of a single model; return a digest of them all.

    Raises:
        ModelIntegrityError: naming the first file that is missing or whose
            bytes differ from the recorded hash, or saying why the model cannot be checked.
    """
    lines = []
    for file, expected, label in _expected_files(Path(path), meta):
        if not file.is_file():
            raise ModelIntegrityError(
                f"{file}: missing; model {path} records it ({label}) and cannot be used without it"
            )
        actual = file_sha256(file)
        if actual != expected:
            raise ModelIntegrityError(
                f"{file}: its SHA-256 is {actual[:16]}..., but {path / 'meta.json'} records {expected[:16]}... "
                f"({label}). The file changed since the model was saved; refusing to load it. Restore the "
                "original file, or re-train the model with the new one."
            )
        lines.append(f"{label}={actual}")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def record_model_hashes(path: str | Path) -> dict[str, str]:
    """Record the SHA-256 of a model folder's ``head.skops`` in its ``meta.json`` (for models saved before hashes).

    Only run it on a model whose files you trust: it makes the present bytes the reference.
    """
    from .atomic import write_text_atomic

    path = Path(path)
    meta_file = path / "meta.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta["files"] = {**(meta.get("files") or {}), HEAD_FILE: file_sha256(path / HEAD_FILE)}
    write_text_atomic(meta_file, json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return meta["files"]
