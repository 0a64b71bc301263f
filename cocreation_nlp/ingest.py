"""Stage 1: find documents, read them with the right reader, and assemble cleaned text.

Every file yields either a :class:`~cocreation_nlp.types.Document` or a
:class:`~cocreation_nlp.types.ParseFailure` with a cause a person can act on;
one bad file never stops a batch.

Corpora come from the web, so their files are not trusted:

* Reading is confined to the corpus root: the folder given, the folder of a
  manifest, or the folder of a file named on the command line. A manifest row
  such as ``../secret.txt`` or ``/etc/passwd``, or a symbolic link that leads
  out of the corpus, is refused (``outside-corpus``) unless the caller passes
  ``allow_outside=True`` (``--allow-outside-corpus``). Paths are compared
  after resolving every link, and checked again when the file is read.
* Archives (DOCX) are checked against :class:`~cocreation_nlp.limits.ReadLimits`
  before any reader runs, and a document may yield only so many passages.
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
from .limits import DEFAULT_LIMITS, ReadLimits, check_archive, check_passage_count
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
    """One file to read, with the id and manifest metadata it will carry.

    ``root`` is the corpus folder the file must resolve into (``None``: no
    confinement, for callers that build sources themselves or allow outside
    paths).
    """

    path: Path
    doc_id: str
    meta: Mapping[str, str] = field(default_factory=dict)
    root: Path | None = None


def outside_root(source: Source) -> str | None:
    """Why ``source`` may not be read because it leads out of its corpus root, or ``None``.

    Both paths are resolved (every symbolic link followed), so neither
    ``../`` nor a link can lead elsewhere.

    Example:
        >>> print(outside_root(Source(Path("/corpus/../etc/passwd"), "x", root=Path("/corpus"))))
        resolves to /etc/passwd, outside the corpus folder /corpus; pass --allow-outside-corpus to read it
    """
    if source.root is None:
        return None
    root = source.root.resolve()
    real = source.path.resolve()
    if real == root or real.is_relative_to(root):
        return None
    return f"resolves to {real}, outside the corpus folder {root}; pass --allow-outside-corpus to read it"


def slugify(text: str) -> str:
    """Return a lower-case ASCII slug, used for doc ids derived from file names.

    Example:
        >>> slugify("Open Data Strategy (2012).pdf")
        'open-data-strategy-2012-pdf'
    """
    return _SLUG.sub("-", text.lower()).strip("-") or "doc"


def read_manifest(path: Path, *, allow_outside: bool = False) -> list[Source]:
    """Read a ``manifest.csv`` (columns ``doc_id``, ``file`` and any metadata).

    Files are relative to the manifest's folder and must resolve inside it,
    unless ``allow_outside``; a row that leads out is kept as a source that
    fails with ``outside-corpus`` when read, so it gets its ``errors.csv`` row.

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
        sources.append(Source(path.parent / file, doc_id, meta, None if allow_outside else path.parent))
    return sources


def discover(paths: Iterable[str | Path], *, allow_outside: bool = False) -> list[Source]:
    """Expand files, folders and manifests into a sorted, de-duplicated list of sources.

    A folder that holds a ``manifest.csv`` is read through it (so documents
    keep their ids and metadata); other folders are searched recursively for
    supported extensions. Each source must resolve inside its corpus root
    (see the module docstring) unless ``allow_outside``; one that does not is
    still listed, and fails with ``outside-corpus`` when read, so that it
    shows in ``errors.csv`` rather than vanishing. A linked folder is never
    descended into; one that leads out of the corpus is listed the same way.
    """
    sources: list[Source] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            manifest = path / "manifest.csv"
            if manifest.exists():
                sources.extend(read_manifest(manifest, allow_outside=allow_outside))
                continue
            root = None if allow_outside else path
            for child in sorted(path.rglob("*")):
                if child.name.startswith("."):
                    continue
                linked_dir = child.is_symlink() and child.is_dir()
                if linked_dir and root is not None:
                    probe = Source(child, "", root=root)
                    if outside_root(probe) is None:
                        continue  # its files are reached where they really are
                elif not (child.is_file() and child.suffix.lower() in SUPPORTED_SUFFIXES):
                    continue
                if linked_dir and root is None:
                    continue
                rel = child.relative_to(path)
                sources.append(Source(child, slugify(str(rel.with_suffix(""))), {"file": str(rel)}, root))
        elif path.name == "manifest.csv" or (path.suffix.lower() == ".csv" and _looks_like_manifest(path)):
            sources.extend(read_manifest(path, allow_outside=allow_outside))
        else:
            root = None if allow_outside else path.absolute().parent
            sources.append(Source(path, slugify(path.stem), {"file": path.name}, root))
    unique: dict[str, Source] = {}
    for src in sources:
        if src.doc_id in unique and unique[src.doc_id].path != src.path:
            # Two files with the same stem in different folders: disambiguate, deterministically.
            digest = hashlib.sha1(str(src.path).encode()).hexdigest()[:6]
            src = Source(src.path, f"{src.doc_id}-{digest}", src.meta, src.root)
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
        return "text" if utf16_without_bom(head) else "binary"
    return "text"


def utf16_without_bom(data: bytes) -> str | None:
    """``"utf-16-le"`` or ``"utf-16-be"`` when ``data`` reads as UTF-16 text without a byte-order mark.

    Text in a Latin script saved as UTF-16 has a NUL in (nearly) every other
    byte, at odd offsets for little-endian and even ones for big-endian;
    binary data does not. The guess is confirmed by decoding the first 4 KB
    and finding no NUL or other control characters but whitespace.

    Example:
        >>> utf16_without_bom("Citizens and staff co-design services.".encode("utf-16-le"))
        'utf-16-le'
        >>> utf16_without_bom(bytes(range(256))) is None
        True
    """
    sample = data[:4096]
    sample = sample[: len(sample) - len(sample) % 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    half = len(sample) // 2
    candidates = []
    if odd.count(0) >= 0.5 * half and even.count(0) <= 0.05 * half:
        candidates.append("utf-16-le")
    if even.count(0) >= 0.5 * half and odd.count(0) <= 0.05 * half:
        candidates.append("utf-16-be")
    for encoding in candidates:
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError:
            # The sample may end inside a surrogate pair.
            try:
                text = sample[:-2].decode(encoding)
            except UnicodeDecodeError:
                continue
        if not any(ord(ch) < 32 and ch not in "\t\n\r\f" for ch in text):
            return encoding
    return None


_EXPECTED_SNIFF = {
    "pdf": {"pdf"},
    "docx": {"zip"},
    "html": {"html", "text"},
    "markdown": {"text", "html"},
    "text": {"text", "html"},
}


def decode_text(data: bytes, source: str) -> str:
    """Decode text as UTF-8 (BOM allowed) or UTF-16 (with a BOM, or recognised by :func:`utf16_without_bom`).

    Raises:
        InputError: for anything else, naming the first bad byte, rather than
            guessing a legacy code page and silently producing mojibake.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as err:
            raise InputError(source, f"undecodable UTF-16 text ({err.reason})", kind="undecodable") from err
    if b"\x00" in data[:4096]:
        encoding = utf16_without_bom(data)
        if encoding is not None:
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as err:
                raise InputError(
                    source,
                    f"text looks like {encoding.upper()} without a byte-order mark but does not decode "
                    f"({err.reason} at byte {err.start})",
                    kind="undecodable",
                ) from err
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(
            source,
            f"text is not valid UTF-8: byte 0x{data[err.start]:02x} at position {err.start}. "
            "Re-save the file as UTF-8 (e.g. `iconv -f cp1252 -t utf-8`).",
            kind="undecodable",
        ) from err


def _read_blocks(
    path: Path, fmt: str, *, max_pages: int | None, limits: ReadLimits, ocr: str = "auto", language: str = ""
) -> ReadResult:
    if fmt == "pdf":
        from .readers.ocr import OcrSettings, read_pdf

        return read_pdf(path, max_pages=max_pages, settings=OcrSettings(mode=ocr, language=language))
    if fmt == "docx":
        from .readers.docx import parse_docx

        check_archive(path, limits)  # before python-docx inflates anything
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
        out.append(Block(raw.kind, pos, pos + len(clean), raw.page, raw.level, raw.ocr_confidence))
        pos += len(clean)
    return "".join(parts), tuple(out)


_NOT_BODY = frozenset({"header", "footer"})


def read_document(
    source: Source,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pages: int | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    ocr: str = "auto",
) -> Document:
    """Read one file into a cleaned :class:`Document`.

    ``ocr`` (``auto``, ``never``, ``always``) says which PDF pages are read by
    OCR; the manifest's ``language`` column, where present, picks its language.

    Raises:
        InputError: with a cause for missing, too large, wrong-format, corrupt,
            encrypted, binary or undecodable files, files outside the corpus
            root, archives past the unpacked-size caps and documents with too
            many passages.
        EmptyDocumentError: for files with no text.
    """
    name = str(source.path)
    outside = outside_root(source)
    if outside is not None:
        raise InputError(name, outside, kind="outside-corpus")
    # Read through the resolved path: what was checked is what is opened.
    path = source.path.resolve() if source.root is not None else source.path
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
    result = _read_blocks(
        path, fmt, max_pages=max_pages, limits=limits, ocr=ocr, language=source.meta.get("language", "")
    )
    if result.textless_pages:
        # Pages that gave no text, from a text layer or from OCR (the warnings say why, where known).
        shown = ", ".join(map(str, result.textless_pages[:10])) + (
            "..." if len(result.textless_pages) > 10 else ""
        )
        log.warning(
            "%s: %d page(s) gave no text and were skipped: %s", name, len(result.textless_pages), shown
        )
    # Refuse a flood of text blocks before assembling one huge text (the passages are counted again later).
    check_passage_count(
        name, sum(1 for b in result.blocks if b.kind not in _NOT_BODY), limits, what="text blocks"
    )
    text, blocks = assemble(result.blocks)
    body = [b for b in blocks if b.kind not in _NOT_BODY]
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
        warnings=tuple(result.warnings),
        ocr_pages=result.ocr_pages,
    )


def read_documents(
    paths: Iterable[str | Path] | Sequence[Source],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pages: int | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    allow_outside: bool = False,
    ocr: str = "auto",
) -> Iterator[Document | ParseFailure]:
    """Read every document under ``paths``, yielding a Document or a ParseFailure for each.

    Paths may be files, folders or manifest files. Unexpected exceptions from a
    third-party parser are caught too and reported as ``parser-error``: one
    odd file must not end a corpus run.
    """
    items = list(paths)
    sources = (
        items
        if items and all(isinstance(i, Source) for i in items)
        else discover(items, allow_outside=allow_outside)  # type: ignore[arg-type]
    )
    for source in sources:
        yield read_one(source, max_bytes=max_bytes, max_pages=max_pages, limits=limits, ocr=ocr)  # type: ignore[arg-type]


def read_one(
    source: Source,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pages: int | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    ocr: str = "auto",
) -> Document | ParseFailure:
    """Read one source, turning any failure into a :class:`ParseFailure`."""
    try:
        return read_document(source, max_bytes=max_bytes, max_pages=max_pages, limits=limits, ocr=ocr)
    except InputError as err:
        log.warning("%s", err)
        return ParseFailure(str(source.path), source.doc_id, err.kind, err.cause)
    except MemoryError:
        return ParseFailure(str(source.path), source.doc_id, "too-large", "ran out of memory while parsing")
    except Exception as err:  # noqa: BLE001 - a third-party parser failing on one file
        log.warning("%s: parser error: %r", source.path, err)
        return ParseFailure(str(source.path), source.doc_id, "parser-error", f"{type(err).__name__}: {err}")
