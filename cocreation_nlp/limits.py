"""Caps on what one input file may cost, checked before any reader runs.

Corpora are downloaded from the web. A DOCX is a ZIP archive, and the size
on disk says little about its size once unpacked: a 66 KB file can unpack to
21 MB of XML (400,000 passages), a 1 MB file to one 1 GiB text node. The
archive's central directory states every member's unpacked size, and
Python's :mod:`zipfile` (which python-docx reads through) never returns more
than that stated size (a member that unpacks to more fails its CRC check), so
the caps can be checked from the directory alone, before a byte is inflated.
Only stored and deflated members (all that Office writes) are accepted:
zipfile inflates those in bounded steps.

Every cap is a setting (``--max-...`` on the command line, the same names in
the TOML config) and a refused file gets an ``errors.csv`` row naming the cap
and how to raise it; the batch goes on.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

__all__ = ["DEFAULT_LIMITS", "RATIO_MIN_BYTES", "ReadLimits", "check_archive", "check_passage_count"]

MB = 1_000_000
# Members smaller than this are not held to the ratio cap: small XML parts
# (styles, settings) legitimately compress 20-40x and cost nothing.
RATIO_MIN_BYTES = 1 * MB


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Caps on one document's unpacked size and passage count.

    The defaults sit far above real policy documents (the largest DOCX member
    in the shipped corpora unpacks to 0.75 MB at a ratio of 32) and far below
    what hurts a laptop.

    Attributes:
        max_member_bytes: largest unpacked size of one archive member.
        max_unpacked_bytes: largest unpacked size of all members together.
        max_compression_ratio: largest unpacked/packed ratio of a member above 1 MB unpacked.
        max_members: most members in one archive.
        max_passages: most passages one document may yield.
    """

    max_member_bytes: int = 100 * MB
    max_unpacked_bytes: int = 300 * MB
    max_compression_ratio: float = 100.0
    max_members: int = 10_000
    max_passages: int = 50_000

    @classmethod
    def from_mb(
        cls,
        *,
        max_member_mb: float | None = None,
        max_unpacked_mb: float | None = None,
        max_compression_ratio: float | None = None,
        max_passages: int | None = None,
    ) -> ReadLimits:
        """Limits from the megabyte figures of the CLI and config (``None``: the default)."""
        base = cls()
        return cls(
            max_member_bytes=base.max_member_bytes if max_member_mb is None else int(max_member_mb * MB),
            max_unpacked_bytes=base.max_unpacked_bytes
            if max_unpacked_mb is None
            else int(max_unpacked_mb * MB),
            max_compression_ratio=base.max_compression_ratio
            if max_compression_ratio is None
            else float(max_compression_ratio),
            max_members=base.max_members,
            max_passages=base.max_passages if max_passages is None else int(max_passages),
        )


DEFAULT_LIMITS = ReadLimits()


def check_archive(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> None:
    """Refuse a ZIP-based file (DOCX) whose members would unpack past the caps.

    Reads only the central directory; nothing is decompressed.

    Raises:
        InputError: ``unpacked-too-large`` (a member or the total above its cap),
            ``compression-ratio`` (a member that inflates suspiciously), or
            ``corrupt`` (no readable central directory).
    """
    name = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except Exception as err:  # noqa: BLE001 - zipfile raises BadZipFile, NotImplementedError, struct.error, ...
        raise InputError(
            name,
            f"not a readable ZIP/DOCX archive ({type(err).__name__}: {err}); the file may be corrupt",
            kind="corrupt",
        ) from err
    if len(members) > limits.max_members:
        raise InputError(
            name,
            f"the archive holds {len(members):,} members, above the limit of {limits.max_members:,}",
            kind="unpacked-too-large",
        )
    total = 0
    for info in members:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # Office files use deflate; bzip2/LZMA members are inflated in unbounded
            # chunks by zipfile, so their stated sizes do not bound the memory used.
            raise InputError(
                name,
                f"archive member {info.filename!r} uses compression method {info.compress_type}; "
                "only stored and deflated members are read (as in Office files)",
                kind="unsupported",
            )
        size = info.file_size
        if size > limits.max_member_bytes:
            raise InputError(
                name,
                f"archive member {info.filename!r} unpacks to {size / MB:,.1f} MB, above the "
                f"{limits.max_member_bytes / MB:,.0f} MB limit (raise it with --max-member-mb)",
                kind="unpacked-too-large",
            )
        if size >= RATIO_MIN_BYTES:
            ratio = size / max(1, info.compress_size)
            if ratio > limits.max_compression_ratio:
                raise InputError(
                    name,
                    f"archive member {info.filename!r} unpacks {ratio:,.0f} times its packed size "
                    f"({info.compress_size:,} -> {size:,} bytes), above the ratio limit of "
                    f"{limits.max_compression_ratio:g} (a decompression bomb?; raise it with "
                    "--max-compression-ratio)",
                    kind="compression-ratio",
                )
        total += size
        if total > limits.max_unpacked_bytes:
            raise InputError(
                name,
                f"the archive unpacks to more than {limits.max_unpacked_bytes / MB:,.0f} MB in total "
                "(raise the limit with --max-unpacked-mb)",
                kind="unpacked-too-large",
            )


def check_passage_count(
    source: str, count: int, limits: ReadLimits = DEFAULT_LIMITS, *, what: str = "passages"
) -> None:
    """Refuse a document with more passages (or, before segmenting, text blocks) than the cap.

    Raises:
        InputError: ``too-many-passages``, naming the count and the option to raise it.
    """
    if count > limits.max_passages:
        raise InputError(
            source,
            f"the document has {count:,} {what}, above the limit of {limits.max_passages:,} "
            "passages per document (raise it with --max-passages)",
            kind="too-many-passages",
        )
