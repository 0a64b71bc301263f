"""Parse-quality report over a corpus: the figures behind the README's ingestion table.

Usage:
    .venv/bin/python benchmarks/parse_quality.py ../shared/corpora/open-policy [--per-doc]

Measures, per corpus and per document:
- passages per document;
- split sentences: passages that stop mid-sentence (no terminal punctuation)
  and continue in the next passage (which starts in lower case);
- header/footer residue: passages containing a running header/footer line.
  The running lines are found independently of the parser, from PDFium's raw
  per-page text: first/last lines of a page whose digit-masked text repeats on
  at least 40% of pages and has three words and ten letters or more (a one- or
  two-word line at the top of every page, such as a form's column label
  "Pass / Not Pass" or a field name, cannot be told from content by its text);
- unrepaired hyphen breaks: tokens "xx-yy" / "xx- yy" whose joined form is an
  English word while the halves are not both words (e.g. "partici-pation");
- passage length: median and 95th percentile of words over the labelling
  units (paragraph and list passages; headings and tables are reported apart);
- PDF pages per second (parse time of PDFs only).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cocreation_nlp.ingest import discover, read_one  # noqa: E402
from cocreation_nlp.readers.hyphenation import _english_words  # noqa: E402
from cocreation_nlp.segment import segment_document  # noqa: E402
from cocreation_nlp.types import ParseFailure, is_labelling_unit  # noqa: E402

_TERMINAL = tuple('.!?:;"”’)»')
_HYPH = re.compile(r"\b([a-z]{2,})- ?([a-z]{2,})\b")


def running_lines(path: Path) -> set[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    counts: Counter[str] = Counter()
    originals: dict[str, str] = {}
    n = len(pdf)
    for i in range(n):
        page = pdf[i]
        tp = page.get_textpage()
        lines = [ln.strip() for ln in tp.get_text_range().splitlines() if ln.strip()]
        tp.close()
        page.close()
        cands = set(lines[:2] + lines[-2:])
        for ln in cands:
            key = re.sub(r"\d+", "#", ln.lower())
            counts[key] += 1
            originals.setdefault(key, ln)
    pdf.close()
    if n < 3:
        return set()
    return {
        originals[k]
        for k, c in counts.items()
        if c >= max(2, 0.4 * n) and len(re.findall(r"[^\W\d_]", k)) >= 10 and len(k.split()) >= 3
    }


# Prefixes whose hyphenated forms are standard spellings ("re-use", "co-design").
_STANDARD_PREFIXES = {"re", "co", "pre", "non", "self", "e", "anti", "multi", "sub"}


def unrepaired(text: str, words: frozenset[str]) -> int:
    n = 0
    for m in _HYPH.finditer(text.lower()):
        a, b = m.group(1), m.group(2)
        joined = a + b
        if a in _STANDARD_PREFIXES:
            continue
        if joined in words and not (a in words and b in words):
            n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--per-doc", action="store_true")
    args = ap.parse_args()
    words = _english_words()
    sources = discover(args.paths)
    tot_p = tot_split = tot_resid = tot_hyph = tot_words = pdf_pages = 0
    pdf_time = 0.0
    failures = 0
    rows = []
    unit_words: list[int] = []
    kinds: Counter[str] = Counter()
    t_all = time.perf_counter()
    for src in sources:
        t0 = time.perf_counter()
        doc = read_one(src)
        dt = time.perf_counter() - t0
        if isinstance(doc, ParseFailure):
            failures += 1
            print(f"FAILED {src.path}: {doc.error_type}: {doc.message}")
            continue
        passages = segment_document(doc)
        split = 0
        for a, b in zip(passages, passages[1:], strict=False):
            if (
                a.kind == "paragraph"
                and b.kind == "paragraph"
                and not a.text.rstrip().endswith(_TERMINAL)
                and b.text[:1].islower()
            ):
                split += 1
        resid = 0
        if doc.format == "pdf":
            pdf_pages += doc.n_pages or 0
            pdf_time += dt
            running = running_lines(src.path)
            resid = sum(1 for p in passages if any(r in p.text for r in running))
        hyph = sum(unrepaired(p.text, words) for p in passages) if doc.language == "en" else 0
        nw = sum(p.n_words for p in passages)
        unit_words.extend(p.n_words for p in passages if is_labelling_unit(p.kind))
        kinds.update(p.kind for p in passages)
        tot_p += len(passages)
        tot_split += split
        tot_resid += resid
        tot_hyph += hyph
        tot_words += nw
        rows.append((doc.doc_id, doc.format, len(passages), split, resid, hyph))
    elapsed = time.perf_counter() - t_all
    if args.per_doc:
        print(f"{'doc_id':50} fmt   passages split resid hyph")
        for r in rows:
            print(f"{r[0][:50]:50} {r[1]:5} {r[2]:8} {r[3]:5} {r[4]:5} {r[5]:4}")
    n_docs = len(rows)
    print(f"documents={n_docs} failed={failures} passages={tot_p} words={tot_words}")
    print(f"passages_per_doc={tot_p / max(n_docs, 1):.1f}")
    print("passages_by_kind=" + ",".join(f"{k}:{v}" for k, v in sorted(kinds.items())))
    unit_words.sort()
    if unit_words:
        p95 = unit_words[min(len(unit_words) - 1, int(0.95 * len(unit_words)))]
        print(
            f"labelling_units={len(unit_words)} median_words={statistics.median(unit_words):g} p95_words={p95}"
        )
    print(f"split_sentence_share={tot_split / max(tot_p, 1):.4f}")
    print(f"header_footer_residue_share={tot_resid / max(tot_p, 1):.4f}")
    print(f"unrepaired_hyphens={tot_hyph} per_1000_words={1000 * tot_hyph / max(tot_words, 1):.3f}")
    print(f"pdf_pages={pdf_pages} pdf_pages_per_s={pdf_pages / max(pdf_time, 1e-9):.1f}")
    print(f"total_seconds={elapsed:.1f}")


if __name__ == "__main__":
    main()
