"""The per-document cache of a score run: its key, one read and one write.

Each scored document is stored under ``OUTDIR/.cache/<2 hex>/<key>.json.gz``
as :meth:`ScoredDocument.to_dict <cocreation_nlp.scored.ScoredDocument.to_dict>`
JSON, written atomically, so a re-run (after a crash, or on a grown corpus)
takes every unchanged document from here.

The key covers everything the record depends on: the file's SHA-256, the
document's id and manifest metadata, the model id, the codebook version, the
settings, the package version and the record layout. Anything else that
should invalidate entries belongs in :func:`cache_key`; reading an entry is
:func:`read_cached` and nothing else.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from pathlib import Path

from ._version import __version__
from .atomic import atomic_path
from .codebook import load_codebook
from .config import RunConfig
from .errors import CacheEntryError
from .ingest import Source
from .scored import SCORED_SCHEMA_VERSION, ScoredDocument

CACHE_SCHEMA = 4
"""Version of the cache layout (2: typed ScoredDocument records; 3: document scores carry their count method;
4: passages carry their source and OCR confidence, documents their page warnings and OCR page count)."""
CACHE_DIR = ".cache"


def cache_key(source: Source, file_sha256: str, model_id: str, config: RunConfig) -> str:
    """The key of one document's cached record.

    The doc_id and manifest metadata are part of the record, so they are part
    of the key: two documents with identical bytes must not share a record.

    Example:
        >>> from pathlib import Path
        >>> k = cache_key(Source(Path("a.txt"), "a"), "0" * 64, "m1", RunConfig())
        >>> len(k), k == cache_key(Source(Path("a.txt"), "a"), "0" * 64, "m2", RunConfig())
        (32, False)
    """
    material = "|".join(
        [
            str(CACHE_SCHEMA),
            str(SCORED_SCHEMA_VERSION),
            __version__,
            load_codebook().version,
            file_sha256,
            source.doc_id,
            json.dumps(dict(source.meta), sort_keys=True),
            model_id,
            config.digest(),
        ]
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def cache_path(out_dir: Path, key: str) -> Path:
    """Where the record with ``key`` lives under ``out_dir``."""
    return out_dir / CACHE_DIR / key[:2] / f"{key}.json.gz"


def write_cached(path: Path, doc: ScoredDocument) -> None:
    """Store one scored document atomically (a crash never leaves a half-written entry)."""
    with atomic_path(path) as tmp, gzip.open(tmp, "wt", encoding="utf-8", compresslevel=1) as fh:
        json.dump(doc.to_dict(), fh, ensure_ascii=False)


def read_cached(path: Path) -> ScoredDocument:
    """Load one cached scored document.

    Raises:
        CacheEntryError: naming the file when it is truncated or otherwise
            damaged (gzip's own EOFError would reach the command line as a bare "Aborted.").
    """
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return ScoredDocument.from_dict(json.load(fh))
    except (EOFError, OSError, ValueError, KeyError, TypeError, zlib.error) as err:
        # ValueError covers bad JSON, bad UTF-8 and records of another layout.
        raise CacheEntryError(f"{path}: damaged cache entry ({type(err).__name__}: {err})") from err


def cached_entry_usable(path: Path) -> str | None:
    """Why the entry at ``path`` cannot be used (``None``: it can, or there is none).

    A damaged entry is removed, so that the run that finds it computes and
    writes the document again: a damaged entry is a cache miss, never a failed run.
    The check reads the gzip stream to its end (its CRC and length catch truncated,
    garbled and empty files) without decoding the record: a re-run of an unchanged
    corpus checks every entry, and decoding each one cost more than the rest of the
    re-run. The record layout is part of the cache key (``SCORED_SCHEMA_VERSION``).
    """
    if not path.exists():
        return None
    try:
        if path.stat().st_size == 0:
            raise EOFError("empty file")
        with gzip.open(path, "rb") as fh:
            while fh.read(1 << 20):
                pass
    except (EOFError, OSError, zlib.error) as err:
        path.unlink(missing_ok=True)
        return f"{path}: damaged cache entry ({type(err).__name__}: {err})"
    return None
    try:
        read_cached(path)
    except CacheEntryError as err:
        path.unlink(missing_ok=True)
        return str(err)
    return None
