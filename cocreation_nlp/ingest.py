"""Stage 1: find documents, read them with the right reader, and assemble cleaned text.

Every file yields either a :class:`~cocreation_nlp.types.Document` or a
:class:`~cocreation_nlp.types.ParseFailure` with a cause a person can act on;
one bad file never stops a batch.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import EmptyDocumentError, InputError
from .readers import RawBlock, ReadResult
from .types import Block, Document, ParseFailure
from .util import file_sha256

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES: dict[str, str] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
}
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
MANIFEST_REQUIRED = ("doc_id", "file")
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Source:
    """One file to read, with the id and manifest metadata it will carry."""

    path: Path
    doc_id: str
    meta: Mapping[str, str] = field(default_factory=dict)


def slugify(text: str) -> str:
    """Return a lower-case ASCII slug, used for doc ids derived from file names.

    Example:
        >>> slugify("Open Data Strategy (2012).pdf")
        'open-data-strategy-2012-pdf'
    """
    return _SLUG.sub("-", text.lower()).strip("-") or "doc"


def read_manifest(path: Path) -> list[Source]:
    """Read a ``manifest.csv`` (columns ``doc_id``, ``file`` and any metadata).

    Raises:
        InputError: when the CSV is malformed, misses required columns, or repeats a doc_id.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            missing = [c for c in MANIFEST_REQUIRED if c not in fields]
            if missing:
                raise InputError(
                    str(path),
                    f"manifest lacks column(s) {', '.join(missing)}; found {', '.join(fields) or 'none'}. "
                    "A manifest needs at least doc_id and file (relative to the manifest).",
                    kind="bad-manifest",
                )
            rows = list(reader)
    except UnicodeDecodeError as err:
        raise InputError(
            str(path), f"manifest is not UTF-8 ({err.reason} at byte {err.start})", kind="bad-manifest"
        ) from err
    except csv.Error as err:
        raise InputError(str(path), f"malformed CSV: {err}", kind="bad-manifest") from err
    sources: list[Source] = []
    seen: set[str] = set()
    for lineno, row in enumerate(rows, start=2):
        if None in row:
            raise InputError(str(path), f"line {lineno} has more fields than the header", kind="bad-manifest")
        doc_id = (row.get("doc_id") or "").strip()
        file = (row.get("file") or "").strip()
        if not doc_id or not file:
            raise InputError(str(path), f"line {lineno}: empty doc_id or file", kind="bad-manifest")
        if doc_id in seen:
            raise InputError(
                str(path), f"line {lineno}: doc_id {doc_id!r} appears twice", kind="bad-manifest"
            )
        seen.add(doc_id)
        meta = {k: (v or "") for k, v in row.items() if k not in ("doc_id",)}
        sources.append(Source(path.parent / file, doc_id, meta))
    return sources


def discover(paths: Iterable[str | Path]) -> list[Source]:
    """Expand files, folders and manifests into a sorted, de-duplicated list of sources.

    A folder that holds a ``manifest.csv`` is read through it (so documents
    keep their ids and metadata); other folders are searched recursively for
    supported extensions.
    """
    sources: list[Source] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            manifest = path / "manifest.csv"
            if manifest.exists():
                sources.extend(read_manifest(manifest))
                continue
            for child in sorted(path.rglob("*")):
                if (
                    child.is_file()
                    and child.suffix.lower() in SUPPORTED_SUFFIXES
                    and not child.name.startswith(".")
                ):
                    rel = child.relative_to(path).with_suffix("")
                    sources.append(Source(child, slugify(str(rel)), {"file": str(child.relative_to(path))}))
        elif path.name == "manifest.csv" or (path.suffix.lower() == ".csv" and _looks_like_manifest(path)):
            sources.extend(read_manifest(path))
        else:
            sources.append(Source(path, slugify(path.stem), {"file": path.name}))
    unique: dict[str, Source] = {}
    for src in sources:
        if src.doc_id in unique and unique[src.doc_id].path != src.path:
            # Two files with the same stem in different folders: disambiguate, deterministically.
            digest = hashlib.sha1(str(src.path).encode()).hexdigest()[:6]
            src = Source(src.path, f"{src.doc_id}-{digest}", src.meta)
        unique.setdefault(src.doc_id, src)
    return list(unique.values())


def _looks_like_manifest(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8-sig") as fh:
            header = fh.readline()
    except (OSError, UnicodeDecodeError):
        return False
    cols = [c.strip() for c in header.split(",")]
    return all(c in cols for c in MANIFEST_REQUIRED)


def sniff_format(head: bytes) -> str:
    """Guess a file's real format from its first bytes: pdf, zip, html, binary or text.

    Example:
        >>> sniff_format(b"%PDF-1.7 ...")
        'pdf'
    """
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    low = stripped[:512].lower()
    if low.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in low[:300]:
        return "html"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "text"  # UTF-16 with BOM
    if b"\x00" in head[:4096]:
        return "binary"
    return "text"


_EXPECTED_SNIFF = {
    "pdf": {"pdf"},
    "docx": {"zip"},
    "html": {"html", "text"},
    "markdown": {"text", "html"},
    "text": {"text", "html"},
}


def decode_text(data: bytes, source: str) -> str:
    """Decode text as UTF-8 (BOM allowed) or UTF-16 with a BOM.

    Raises:
        InputError: for anything else, naming the first bad byte, rather than
            guessing a legacy code page and silently producing mojibake.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as err:
            raise InputError(source, f"undecodable UTF-16 text ({err.reason})", kind="undecodable") from err
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(
            source,
            f"text is not valid UTF-8: byte 0x{data[err.start]:02x} at position {err.start}. "
            "Re-save the file as UTF-8 (e.g. `iconv -f cp1252 -t utf-8`).",
            kind="undecodable",
        ) from err


def _read_blocks(path: Path, fmt: str, *, max_pages: int | None) -> ReadResult:
    if fmt == "pdf":
        from .readers.pdf import parse_pdf

        return parse_pdf(path, max_pages=max_pages)
    if fmt == "docx":
        from .readers.docx import parse_docx

        try:
            return parse_docx(path)
        except Exception as err:  # noqa: BLE001 - python-docx raises many types on a broken package
            if isinstance(err, InputError):
                raise
            raise InputError(
                str(path), f"not a readable DOCX ({err}); the file may be corrupt", kind="corrupt"
            ) from err
    data = path.read_bytes()
    text = decode_text(data, str(path))
    if "\x00" in text:
        raise InputError(str(path), "binary content (NUL bytes) in a text file", kind="binary")
    if fmt == "html":
        from .readers.html import parse_html

        return parse_html(text)
    if fmt == "markdown":
        from .readers.markdown import parse_markdown

        return parse_markdown(text)
    from .readers.text import parse_plain_text

    return parse_plain_text(text)


def detect_language(text: str) -> str:
    """Detect a document's language (ISO 639-1) with py3langid, from up to 20,000 characters.

    Returns ``"und"`` when there is too little text to tell.

    Example:
        >>> detect_language("Les citoyens participent à la conception des services publics locaux.")
        'fr'
    """
    sample = text[:20000]
    if len(sample.split()) < 5:
        return "und"
    import py3langid

    lang, _ = py3langid.classify(sample)
    return str(lang)


# Zero-width spaces, word joiners, byte-order marks, soft hyphens and the Arabic
# kashida (a stretching stroke) carry no letters.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u2060\ufeff\u00ad\u0640"), None)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_COMPAT = re.compile("[\ufb00-\ufb06\ufb13-\ufb17\ufb50-\ufdff\ufe70-\ufefc]+")


def clean_text(text: str) -> str:
    """Normalise one block's text: invisible characters out, ligatures unfolded, spaces single.

    Typographic ligatures ("ﬁ") and Arabic presentation forms are how PDFs
    store shapes, not letters: unfolded (NFKC, on those characters only) they
    match the words a reader types and searches for.

    Example:
        >>> clean_text("e\ufb03cient  co\u00adoperation\u200b")
        'efficient cooperation'
    """
    text = _CONTROL.sub(" ", text.translate(_INVISIBLE))
    if _COMPAT.search(text):
        text = _COMPAT.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return " ".join(text.split())


def _clean_block(raw: RawBlock) -> str:
    if raw.kind == "table":
        # One row per line: white space is normalised within rows, the line breaks are kept.
        rows = (clean_text(row) for row in raw.text.split("\n"))
        return "\n".join(row for row in rows if row.strip(" |"))
    return clean_text(raw.text)


def assemble(blocks: Sequence[RawBlock]) -> tuple[str, tuple[Block, ...]]:
    """Join block texts with blank lines and record each block's offsets.

    Example:
        >>> text, blocks = assemble([RawBlock("heading", "Aims"), RawBlock("paragraph", "To  include.")])
        >>> text, [text[b.start_char:b.end_char] for b in blocks]
        ('Aims\\n\\nTo include.', ['Aims', 'To include.'])
    """
    parts: list[str] = []
    out: list[Block] = []
    pos = 0
    for raw in blocks:
        clean = _clean_block(raw)
        if not clean:
            continue
        if parts:
            parts.append("\n\n")
            pos += 2
        parts.append(clean)
        out.append(Block(raw.kind, pos, pos + len(clean), raw.page, raw.level))
        pos += len(clean)
    return "".join(parts), tuple(out)


def read_document(
    source: Source, *, max_bytes: int = DEFAULT_MAX_BYTES, max_pages: int | None = None
) -> Document:
    """Read one file into a cleaned :class:`Document`.

    Raises:
        InputError: with a cause for missing, too large, wrong-format, corrupt,
            encrypted, binary or undecodable files.
        EmptyDocumentError: for files with no text.
    """
    path = source.path
    name = str(path)
    if not path.exists():
        raise InputError(name, "file not found", kind="missing")
    if not path.is_file():
        raise InputError(name, "not a regular file", kind="missing")
    size = path.stat().st_size
    if size == 0:
        raise EmptyDocumentError(name, "the file is empty (0 bytes)")
    if size > max_bytes:
        raise InputError(
            name,
            f"the file is {size / 1e6:.1f} MB, above the {max_bytes / 1e6:.0f} MB limit (raise it with --max-file-mb)",
            kind="too-large",
        )
    fmt = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            name,
            f"unsupported extension {path.suffix or '(none)'}; supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}",
            kind="unsupported",
        )
    with path.open("rb") as fh:
        head = fh.read(8192)
    sniffed = sniff_format(head)
    if sniffed == "binary" and fmt in ("text", "markdown", "html"):
        raise InputError(name, "binary content (NUL bytes) in a file named as text", kind="binary")
    if sniffed not in _EXPECTED_SNIFF[fmt]:
        actual = {
            "pdf": "a PDF",
            "zip": "a ZIP/Office file",
            "html": "HTML",
            "binary": "binary data",
            "text": "plain text",
        }[sniffed]
        raise InputError(
            name,
            f"the extension says {fmt.upper()} but the content is {actual}; rename the file or fix its format",
            kind="wrong-format",
        )
    result = _read_blocks(path, fmt, max_pages=max_pages)
    if result.textless_pages:
        # Some pages are scanned images: their words are missing until they are OCRed.
        shown = ", ".join(map(str, result.textless_pages[:10])) + (
            "..." if len(result.textless_pages) > 10 else ""
        )
        log.warning(
            "%s: %d page(s) have no text layer and were skipped: %s", name, len(result.textless_pages), shown
        )
    text, blocks = assemble(result.blocks)
    body = [b for b in blocks if b.kind not in ("header", "footer")]
    if not body:
        raise EmptyDocumentError(
            name, "no text found after parsing (only running headers, footers or nothing)"
        )
    meta = dict(source.meta)
    if result.title and not meta.get("title"):
        meta["title"] = result.title
    # Prose paragraphs say the language best: lists and tables in policy
    # documents are often reference lists in another language.
    prose = [b for b in body if b.kind == "paragraph"]
    running = [b for b in body if b.kind in ("paragraph", "list_item")] or body
    chosen = prose if sum(b.end_char - b.start_char for b in prose) >= 300 else running
    body_text = " ".join(text[b.start_char : b.end_char] for b in chosen[:200])
    language = detect_language(body_text)
    return Document(
        doc_id=source.doc_id,
        text=text,
        source=name,
        format=fmt,
        blocks=blocks,
        language=language,
        n_pages=result.n_pages,
        meta=meta,
        content_sha256=file_sha256(path),
    )


def read_documents(
    paths: Iterable[str | Path] | Sequence[Source],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pages: int | None = None,
) -> Iterator[Document | ParseFailure]:
    """Read every document under ``paths``, yielding a Document or a ParseFailure for each.

    Paths may be files, folders or manifest files. Unexpected exceptions from a
    third-party parser are caught too and reported as ``parser-error``: one
    odd file must not end a corpus run.
    """
    items = list(paths)
    sources = items if items and all(isinstance(i, Source) for i in items) else discover(items)  # type: ignore[arg-type]
    for source in sources:
        yield read_one(source, max_bytes=max_bytes, max_pages=max_pages)


def read_one(
    source: Source, *, max_bytes: int = DEFAULT_MAX_BYTES, max_pages: int | None = None
) -> Document | ParseFailure:
    """Read one source, turning any failure into a :class:`ParseFailure`."""
    try:
        return read_document(source, max_bytes=max_bytes, max_pages=max_pages)
    except InputError as err:
        log.warning("%s", err)
        return ParseFailure(str(source.path), source.doc_id, err.kind, err.cause)
    except MemoryError:
        return ParseFailure(str(source.path), source.doc_id, "too-large", "ran out of memory while parsing")
    except Exception as err:  # noqa: BLE001 - a third-party parser failing on one file
        log.warning("%s: parser error: %r", source.path, err)
        return ParseFailure(str(source.path), source.doc_id, "parser-error", f"{type(err).__name__}: {err}")
