"""Parsing fidelity against reference text written by others, beside a naive extraction, in one run.

Usage:
    .venv/bin/python benchmarks/parse_fidelity.py                 # the committed set (benchmarks/fidelity)
    .venv/bin/python benchmarks/parse_fidelity.py --per-doc       # one row per document too
    .venv/bin/python benchmarks/parse_fidelity.py --code /tmp/old # measure another checkout's parser

The documents and their reference texts come from other projects' public test
suites (see ``benchmarks/fidelity/README.md`` for sources, commits and
licences): docling's PDF/DOCX/HTML/Markdown test data with its ground truth
(docling's own output), pdfplumber's transcript comparison, the py-pdf text
extraction benchmark's ground truth for a LaTeX book, and an Arabic sample
with the HTML it was printed from. Nothing here was written by this project.

For each document the passages that ``cocreation parse`` would write (every
kind: paragraphs, list items, headings, table rows) are concatenated in order
and compared with the reference, and so is a naive extraction of the same
file:

- PDF: pypdfium2's page text (``get_text_range``), page after page;
- DOCX: python-docx's body paragraphs, then each table's cells;
- HTML: all text of ``<body>`` without scripts and styles (lxml);
- Markdown: the source text as it is.

Measures (words are NFKC-normalised, lower-cased runs of letters and digits,
hyphenated compounds kept whole):

- recall: share of the reference's words (as a multiset) found in the output;
- precision: share of the output's words found in the reference;
- order: longest common subsequence of the two word sequences over the
  reference length (1.0 = every reference word, in reference order);
- garbled per 1,000: output words that are broken versions of reference
  words: a piece of one (a word split by a stray space or an unrepaired
  line-end hyphen: "partici", "Open -source"), two fused together, or one
  with a doubled run of letters (glyphs drawn twice: "TETEX", "yoyou").
  A word found in the reference or in the English word list never counts,
  and extra words (a figure's labels the reference left out) are a matter
  of precision, not garbling;
- residue (PDF): running header/footer lines, found from PDFium's raw page
  text independently of the parser (first or last two lines of a page whose
  digit-masked text recurs there on three pages or more, and seldom elsewhere), that survive in the output beyond
  the number of times the reference itself has them, over the same count in
  the raw text (naive = 1.0 by construction; 0 = all removed). Where a
  reference keeps such lines itself (a whole line of its text), they are
  removed from it first: dropping them is the parser's job, not a loss.

It ends with one ``name=value`` line per target figure.
"""

from __future__ import annotations

import argparse
import importlib
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "fidelity"
FORMATS = {".pdf": "pdf", ".docx": "docx", ".html": "html", ".md": "markdown"}
REF_SUFFIXES = (".ref.md", ".ref.txt", ".ref.html")

_WORD = re.compile(r"[^\W_]+(?:[-\u2010\u2011'’][^\W_]+)*")
_HAS_LETTER = re.compile(r"[^\W\d_]")


# --------------------------------------------------------------------------- words


def words(text: str) -> list[str]:
    """Normalised word tokens of ``text``: NFKC, lower case, hyphenated compounds whole.

    Example:
        >>> words("Co-design, 12 ﬁles and Open-Source")
        ['co-design', '12', 'files', 'and', 'open-source']
    """
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    # Combining marks (Arabic harakat, Hebrew points) and the Arabic kashida are not letters.
    text = "".join(ch for ch in text if not unicodedata.combining(ch) and ch != "\u0640")
    return _WORD.findall(text)


_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_TAG = re.compile(r"<[^>]+>")


def reference_text(path: Path) -> str:
    """The plain text of a reference file: Markdown/HTML markup removed, words kept."""
    raw = path.read_text(encoding="utf-8")
    if path.name.endswith(".ref.html"):
        raw = re.sub(r"<(script|style|title)[^>]*>.*?</\1>", " ", raw, flags=re.S | re.I)
        return _TAG.sub(" ", raw)
    if path.name.endswith(".ref.md"):
        # Formulas rendered as LaTeX and task-list boxes are the reference tool's
        # markup, not words of the document.
        raw = re.sub(r"\$\$.*?\$\$|\$[^$\n]+\$", " ", raw, flags=re.S)
        raw = re.sub(r"\[[ xX]\]", " ", raw)
        raw = _HTML_COMMENT.sub(" ", raw)
        raw = _MD_IMAGE.sub(r"\1", raw)
        raw = _MD_LINK.sub(r"\1", raw)
        raw = _TAG.sub(" ", raw)
        # Table rules and emphasis markers are markup, not words.
        raw = re.sub(r"^\s*\|?\s*:?-{2,}.*$", " ", raw, flags=re.M)
        raw = re.sub(r"[*_`|#>]+", " ", raw)
    return raw


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two token lists (bit-parallel, Hyyrö 2004).

    Runs in O(len(a) * len(b) / w) with Python's big integers, so a 30,000
    word book compares in about a second.

    Example:
        >>> lcs_length("a b c d".split(), "a c b d".split())
        3
    """
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, tok in enumerate(b):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    full = (1 << len(b)) - 1
    v = full
    for tok in a:
        m = masks.get(tok, 0)
        u = v & m
        v = ((v + u) | (v - u)) & full
    return len(b) - bin(v).count("1")


def english_words() -> frozenset[str]:
    from cocreation_nlp.readers.hyphenation import _english_words

    return _english_words()


@dataclass
class Scores:
    recall: float
    precision: float
    order: float
    garbled: float
    residue: float | None
    n_ref: int
    n_out: int


_DOUBLED = re.compile(r"(.{1,4}?)\1")


def is_garbled(word: str, ref_vocab: set[str], pieces: set[str], vocabulary: frozenset[str]) -> bool:
    """Whether an output word is a broken form of reference words (see the module docstring).

    Example:
        >>> vocab = {"participation", "open-source", "you", "tex"}
        >>> pieces = reference_pieces(vocab)
        >>> [is_garbled(w, vocab, pieces, frozenset()) for w in ("partici", "yoyou", "tetex", "youtex", "plan")]
        [True, True, True, True, False]
    """
    if word in ref_vocab or word in vocabulary or not _HAS_LETTER.search(word):
        return False
    if word in pieces:
        return True
    if _DOUBLED.search(word) and _DOUBLED.sub(r"\1", word) in ref_vocab:
        return True
    return any(word[:i] in ref_vocab and word[i:] in ref_vocab for i in range(2, len(word) - 1))


def reference_pieces(ref_vocab: set[str]) -> set[str]:
    """Every leading and trailing piece (two letters or more) of the reference's longer words."""
    out: set[str] = set()
    for w in ref_vocab:
        for k in range(2, len(w) - 1):
            out.add(w[:k])
            out.add(w[k:])
        if "-" in w:
            out.update(p for p in w.split("-") if len(p) >= 2)
    return out


def compare(ref: list[str], out: list[str], vocabulary: frozenset[str]) -> Scores:
    """Recall, precision, order and garbled words of ``out`` against ``ref``."""
    rc, oc = Counter(ref), Counter(out)
    common = sum((rc & oc).values())
    ref_vocab = set(rc)
    pieces = reference_pieces(ref_vocab)
    garbled = sum(n for w, n in oc.items() if is_garbled(w, ref_vocab, pieces, vocabulary))
    return Scores(
        recall=common / max(len(ref), 1),
        precision=common / max(len(out), 1),
        order=lcs_length(ref, out) / max(len(ref), 1),
        garbled=1000 * garbled / max(len(out), 1),
        residue=None,
        n_ref=len(ref),
        n_out=len(out),
    )


# --------------------------------------------------------------------------- naive extraction


def pdf_page_texts(path: Path) -> list[str]:
    """PDFium's plain page text, one string per page: the naive PDF extraction."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        out = []
        for i in range(len(pdf)):
            page = pdf[i]
            tp = page.get_textpage()
            out.append(tp.get_text_range())
            tp.close()
            page.close()
        return out
    finally:
        pdf.close()


def naive_text(path: Path, fmt: str) -> str:
    if fmt == "pdf":
        return "\n".join(pdf_page_texts(path))
    if fmt == "docx":
        import docx

        d = docx.Document(str(path))
        parts = [p.text for p in d.paragraphs]
        for table in d.tables:
            for row in table.rows:
                parts.extend(c.text for c in row.cells)
        return "\n".join(parts)
    if fmt == "html":
        import lxml.html

        tree = lxml.html.fromstring(path.read_bytes())
        for bad in tree.xpath("//script|//style|//head"):
            bad.drop_tree()
        return tree.text_content()
    return path.read_text(encoding="utf-8")


def running_lines(pages: list[str]) -> list[str]:
    """Running header/footer lines of a PDF, from its raw page texts (independent of the parser)."""
    n = len(pages)
    if n < 3:
        return []
    counts: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    originals: dict[str, str] = {}
    for text in pages:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        anywhere.update(re.sub(r"\d+", "#", ln.lower()) for ln in lines)
        for ln in set(lines[:2] + lines[-2:]):
            key = re.sub(r"\d+", "#", ln.lower())
            counts[key] += 1
            originals.setdefault(key, ln)
    # A running line sits at the edge of a page nearly every time it occurs; a line
    # of content that happens to open three pages ("Beispiel 10") occurs inside pages too.
    return [
        originals[k]
        for k, c in counts.items()
        if c >= 3 and c >= 0.8 * anywhere[k] and len(re.sub(r"[\W\d_#]", "", k)) >= 8
    ]


def strip_running(ref: str, lines: list[str]) -> str:
    """Remove the reference's own copies of running headers/footers (whole lines only).

    Some references keep every line of a page (a book's chapter header on
    each page); the parser is meant to drop them, so they are measured as
    residue rather than counted as lost words.
    """
    if not lines:
        return ref
    masked = {re.sub(r"\s+", " ", re.sub(r"\d+", "#", ln.lower())).strip() for ln in lines}
    keep = [
        ln
        for ln in ref.split("\n")
        if re.sub(r"\s+", " ", re.sub(r"\d+", "#", ln.lower())).strip() not in masked
    ]
    return "\n".join(keep)


def _masked_count(pattern: str, text: str) -> int:
    """Occurrences of a digit-masked line in text (digits may differ, spacing is free)."""
    parts = [re.escape(p) for p in re.sub(r"\d+", "#", pattern.lower()).split()]
    rx = r"\s+".join(parts).replace("\\#", "#").replace("#", r"\d+")
    return len(re.findall(rx, text.lower()))


def residue(lines: list[str], raw: str, out: str, ref: str) -> float | None:
    """Share of running-line occurrences (beyond the reference's own) that survive in ``out``."""
    if not lines:
        return None
    num = den = 0
    for ln in lines:
        r = _masked_count(ln, ref)
        den += max(0, _masked_count(ln, raw) - r)
        num += max(0, _masked_count(ln, out) - r)
    return None if den == 0 else min(1.0, num / den)


# --------------------------------------------------------------------------- the parser under test


def parse_text(path: Path, doc_id: str) -> tuple[str, int]:
    """Every passage ``cocreation parse`` writes for ``path``, joined in order; and the page count."""
    ingest = importlib.import_module("cocreation_nlp.ingest")
    segment = importlib.import_module("cocreation_nlp.segment")
    doc = ingest.read_one(ingest.Source(path, doc_id, {}))
    if not hasattr(doc, "text"):
        print(f"PARSE FAILED {path.name}: {doc.message}", file=sys.stderr)  # type: ignore[union-attr]
        return "", 0
    passages = segment.segment_document(doc)
    return "\n\n".join(p.text for p in passages), doc.n_pages or 0


def find_documents(data: Path) -> list[tuple[Path, Path, str]]:
    out = []
    for path in sorted(data.rglob("*")):
        fmt = FORMATS.get(path.suffix.lower())
        if fmt is None or path.name.endswith(REF_SUFFIXES) or not path.is_file():
            continue
        refs = [path.with_name(path.name + s) for s in REF_SUFFIXES if path.with_name(path.name + s).exists()]
        if refs:
            out.append((path, refs[0], fmt))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--per-doc", action="store_true")
    ap.add_argument("--code", type=Path, help="import cocreation_nlp from this checkout instead")
    args = ap.parse_args()
    if args.code:
        # An editable install maps the package name to this checkout whatever sys.path says.
        sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
    sys.path.insert(0, str(args.code.resolve() if args.code else ROOT))
    vocabulary = english_words()
    docs = find_documents(args.data)
    if not docs:
        raise SystemExit(f"no documents with a reference text under {args.data}")
    rows: list[tuple[str, str, Scores, Scores]] = []
    t_parse = 0.0
    for path, ref_path, fmt in docs:
        ref_plain = reference_text(ref_path)
        lines: list[str] = []
        if fmt == "pdf":
            lines = running_lines(pdf_page_texts(path))
            ref_plain = strip_running(ref_plain, lines)
        ref = words(ref_plain)
        t0 = time.perf_counter()
        ours_text, _ = parse_text(path, re.sub(r"[^a-z0-9]+", "-", path.stem.lower()))
        t_parse += time.perf_counter() - t0
        raw = naive_text(path, fmt)
        ours = compare(ref, words(ours_text), vocabulary)
        naive = compare(ref, words(raw), vocabulary)
        if fmt == "pdf":
            ours.residue = residue(lines, raw, ours_text, ref_plain)
            naive.residue = residue(lines, raw, raw, ref_plain)
        rows.append((str(path.relative_to(args.data)), fmt, ours, naive))

    def fmt_r(x: float | None) -> str:
        return "" if x is None else f"{x:.3f}"

    if args.per_doc:
        print(
            f"{'document':52} {'words':>6} | {'recall':>6} {'naive':>6} | {'prec':>6} {'naive':>6} | "
            f"{'order':>6} {'naive':>6} | {'garb/k':>6} {'naive':>6} | {'resid':>5} {'naive':>5}"
        )
        for name, _, o, n in rows:
            print(
                f"{name[:52]:52} {o.n_ref:6d} | {o.recall:6.3f} {n.recall:6.3f} | {o.precision:6.3f} {n.precision:6.3f} | "
                f"{o.order:6.3f} {n.order:6.3f} | {o.garbled:6.1f} {n.garbled:6.1f} | {fmt_r(o.residue):>5} {fmt_r(n.residue):>5}"
            )
        print()
    print(
        "| format | documents | reference words | recall (naive) | precision (naive) | order (naive) | garbled / 1,000 (naive) | header residue (naive) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    summary: dict[str, float] = {}
    for fmt in ("pdf", "docx", "html", "markdown"):
        sel = [(o, n) for _, f, o, n in rows if f == fmt]
        if not sel:
            continue

        def mean(vals: list[float]) -> float:
            return statistics.fmean(vals) if vals else float("nan")

        m = {
            k: (mean([getattr(o, k) for o, _ in sel]), mean([getattr(n, k) for _, n in sel]))
            for k in ("recall", "precision", "order", "garbled")
        }
        res_o = [o.residue for o, _ in sel if o.residue is not None]
        res_n = [n.residue for _, n in sel if n.residue is not None]
        res = f"{mean(res_o):.3f} ({mean(res_n):.3f})" if res_o else "n/a"
        n_words = sum(o.n_ref for o, _ in sel)
        print(
            f"| {fmt} | {len(sel)} | {n_words:,} | {m['recall'][0]:.3f} ({m['recall'][1]:.3f}) | "
            f"{m['precision'][0]:.3f} ({m['precision'][1]:.3f}) | {m['order'][0]:.3f} ({m['order'][1]:.3f}) | "
            f"{m['garbled'][0]:.1f} ({m['garbled'][1]:.1f}) | {res} |"
        )
        for k, (a, b) in m.items():
            summary[f"{fmt}_{k}"] = a
            summary[f"{fmt}_{k}_naive"] = b
        if fmt == "pdf":
            summary["pdf_worst_recall_gap"] = max(n.recall - o.recall for o, n in sel)
            if res_o:
                summary["pdf_residue"] = mean(res_o)
    print()
    print(f"parse_seconds={t_parse:.2f}")
    for k, v in summary.items():
        print(f"{k}={v:.4f}")


if __name__ == "__main__":
    main()
