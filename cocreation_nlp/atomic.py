"""Atomic file writing: a crash never leaves a half-written output, and the previous file survives."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import OutputError


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    The temporary file lives in the same folder so that ``os.replace`` is an
    atomic rename on POSIX and Windows; it is fsynced first so that a power cut
    cannot leave an empty file under the final name.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # mkstemp creates 0600 files; give the result the usual umask-based mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_open(
    path: str | Path, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = ""
) -> Iterator[IO]:
    """Open a temporary file for writing that replaces ``path`` atomically on success."""
    with atomic_path(path) as tmp:
        if "b" in mode:
            with open(tmp, mode) as fh:
                yield fh
        else:
            with open(tmp, mode, encoding=encoding, newline=newline) as fh:
                yield fh


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_open(path, "w", newline=None) as fh:
        fh.write(text)


def check_writable(path: str | Path, *, folder: bool = False, option: str = "--output") -> None:
    """Refuse, before any work starts, an output path that cannot take what will be written there.

    A file output must not be an existing folder, and a folder output not an
    existing file; no part of the way to it may be a file. Checking first
    means a long run never ends in a traceback at its last step.

    Raises:
        OutputError: naming the path, what is in the way, and the option.

    Example:
        >>> folder = tempfile.mkdtemp()
        >>> check_writable(folder, folder=True)  # a folder where a folder goes: fine
        >>> try:
        ...     check_writable(folder, option="-o")
        ... except OutputError as err:
        ...     print("is an existing folder" in str(err))
        True
    """
    target = Path(path)
    if folder and target.exists() and not target.is_dir():
        raise OutputError(
            f"{option} {target} is an existing file, but the output is a folder (created if missing); "
            "choose another name"
        )
    if not folder and target.is_dir():
        suggestion = target / ("out" + (target.suffix or ".csv"))
        raise OutputError(f"{option} {target} is an existing folder; give a file name (e.g. {suggestion})")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"{option} {target}: {parent} is a file, not a folder")
            break
