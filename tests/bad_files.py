"""Generators of bad input files, one per failure mode the ingest stage must report."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path


def good_text(path: Path) -> Path:
    path.write_text(
        "Residents' panel\n\nResidents told us in twelve workshops that the forms were too long, "
        "and the council changed them with their help.\n",
        encoding="utf-8",
    )
    return path


def corrupt_pdf(path: Path) -> Path:
    path.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R\nthis is not a pdf body\x00\x01\x02")
    return path


def _pdf_bytes(draw_text: bool = True, encrypt: str | None = None) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, encrypt=encrypt, invariant=1)
    if draw_text:
        c.drawString(72, 760, "Citizens co-designed the new library service with staff.")
    else:
        # A "scan": an image-like filled shape, no text layer.
        c.setFillGray(0.3)
        c.rect(72, 400, 400, 300, fill=1, stroke=0)
    c.showPage()
    c.save()
    return buf.getvalue()


def encrypted_pdf(path: Path) -> Path:
    from reportlab.lib import pdfencrypt

    enc = pdfencrypt.StandardEncryption("user-secret", ownerPassword="owner-secret", canPrint=0)
    path.write_bytes(_pdf_bytes(encrypt=enc))  # type: ignore[arg-type]
    return path


def scanned_pdf(path: Path) -> Path:
    path.write_bytes(_pdf_bytes(draw_text=False))
    return path


def empty_file(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def wrong_extension(path: Path) -> Path:
    """HTML content saved as .pdf."""
    path.write_text("<!DOCTYPE html><html><body><p>Not a PDF at all.</p></body></html>", encoding="utf-8")
    return path


def binary_as_text(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 40)
    return path


def undecodable_text(path: Path) -> Path:
    path.write_bytes("Participation des usagers à la conception des services. ".encode("cp1252") * 10)
    return path


def corrupt_docx(path: Path) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document>broken")
    path.write_bytes(buf.getvalue())
    return path


def large_text(path: Path, n_bytes: int) -> Path:
    line = b"Residents and community organisations co-design the service together.\n"
    path.write_bytes(line * (n_bytes // len(line) + 1))
    return path


def markup_only_markdown(path: Path) -> Path:
    # Front matter, a template tag and a comment: no text a reader would see.
    path.write_text("---\ntitle: Plan\n---\n{% include nav.html %}\n\n<!-- draft -->\n", encoding="utf-8")
    return path


ALL = {
    "corrupt.pdf": (corrupt_pdf, "corrupt"),
    "encrypted.pdf": (encrypted_pdf, "encrypted"),
    "scanned.pdf": (scanned_pdf, "empty"),
    "empty.txt": (empty_file, "empty"),
    "html-named.pdf": (wrong_extension, "wrong-format"),
    "binary.txt": (binary_as_text, "binary"),
    "latin1.txt": (undecodable_text, "undecodable"),
    "broken.docx": (corrupt_docx, "corrupt"),
    "markup-only.md": (markup_only_markdown, "empty"),
}


def docx_with_body(path: Path, body_xml: str | bytes, *, level: int = 9) -> Path:
    """A real DOCX (made by python-docx) whose ``word/document.xml`` body is replaced by ``body_xml``."""
    import docx

    base = io.BytesIO()
    docx.Document().save(base)
    body = body_xml.encode() if isinstance(body_xml, str) else body_xml
    out = io.BytesIO()
    with (
        zipfile.ZipFile(base) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as dst,
    ):
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "word/document.xml":
                head, _, _ = data.partition(b"<w:body>")
                data = head + b"<w:body>" + body + b"</w:body></w:document>"
            dst.writestr(info.filename, data)
    path.write_bytes(out.getvalue())
    return path


def docx_bomb(path: Path, n_paragraphs: int = 400_000) -> Path:
    """A small DOCX that unpacks to ~20 MB of one-word paragraphs (the issue's 66 KB -> 403,280 passages)."""
    return docx_with_body(path, "<w:p><w:r><w:t>Residents.</w:t></w:r></w:p>" * n_paragraphs)


def docx_one_huge_node(path: Path, n_bytes: int) -> Path:
    """A DOCX holding one text node of ``n_bytes`` (the issue's 1 MB file with a 1 GiB node, scaled down)."""
    return docx_with_body(path, "<w:p><w:r><w:t>" + "co-design " * (n_bytes // 10) + "</w:t></w:r></w:p>")
