"""Three small helpers that every layer needs, each written once.

* :func:`file_sha256`: the fingerprint of a file's bytes (cache keys, model
  cards, embedder manifests, run records).
* :func:`usable_cores`: how many CPU cores this process may really use. A
  container limited by a CPU quota still reports the host's cores through
  ``os.cpu_count()``; sizing a worker pool or a thread pool from that
  oversubscribes the container and makes everything slower.
* :func:`language_code`: the base language of a language tag. Language codes
  reach the toolkit as ``en``, ``en-GB``, ``en_GB`` or ``EN``; every place that
  compares languages (rule lexicons, a model's languages, the
  ``model_covers_language`` column) goes through this one function, so a tag
  works everywhere or nowhere.

This module imports nothing from the package.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

UNDETERMINED = "und"
"""ISO 639-2 code for "language not known"."""


def file_sha256(path: str | Path) -> str:
    """Return the hex SHA-256 of a file's bytes, read in 1 MiB chunks.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
        >>> _ = p.write_bytes(b"abc")
        >>> file_sha256(p)[:16]
        'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _cgroup_cpu_limit(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPU quota of this process's cgroup in cores, or ``None`` when there is none.

    cgroup v2 writes ``"<quota> <period>"`` (or ``"max <period>"``) to
    ``cpu.max``; cgroup v1 splits them over ``cpu.cfs_quota_us`` (-1: none)
    and ``cpu.cfs_period_us``.
    """
    try:
        quota, period = (root / "cpu.max").read_text(encoding="ascii").split()[:2]
        if quota == "max":
            return None
        return int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text(encoding="ascii"))
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def usable_cores() -> int:
    """Return the number of CPU cores this process may use: its affinity mask, capped by a cgroup quota.

    Example:
        >>> usable_cores() >= 1
        True
    """
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    limit = _cgroup_cpu_limit()
    if limit is not None:
        n = min(n, math.ceil(limit))
    return max(1, n)


def language_code(tag: str | None) -> str:
    """Return the lower-case base language of a tag (``en_GB`` -> ``en``); ``und`` when there is none.

    Example:
        >>> [language_code(t) for t in ("en", "en-GB", "en_GB", " FR ", "", None)]
        ['en', 'en', 'en', 'fr', 'und', 'und']
    """
    if not tag or not isinstance(tag, str):
        return UNDETERMINED
    base = tag.strip().lower().replace("_", "-").split("-", 1)[0]
    return base or UNDETERMINED
