"""OCR benchmark: speed and word recall of scanned-page reading, and the measurements behind its settings.

Usage:
    .venv/bin/python benchmarks/ocr.py            # about 10 minutes on a quiet 2-core machine
    .venv/bin/python benchmarks/ocr.py --quick    # one seed, fewer documents
    .venv/bin/python benchmarks/ocr.py --sections 2,5   # some sections only

Scanned PDFs are generated from text with known words (cocreation_nlp.scans:
the sample corpus's English and French documents and short paragraphs in six
languages, laid out with a running header and "Page N of M" footers,
rasterised, tilted up to 1.2 degrees, blurred, speckled, JPEG-compressed).
Word recall is the share of the source's body words (case-folded, accents
counting) found in what was read. One process, one thread, as in a worker.

Sections:
1. resolution x binarisation: scans made at 150, 200 and 300 dpi, rendered for
   OCR at 150, 200 and 300 dpi, with Tesseract's Otsu or Sauvola thresholding;
2. binding: tesserocr (in process) against pytesseract (a tesseract process
   per page) and ocrmypdf (a new PDF per document), where those are installed;
3. language: identifying a document's language from a first pass with the
   English model or with all six models together, and the recall of each pass;
4. confidence: mean word confidence against recall as scans get worse (the
   low-confidence warning threshold);
5. reader end to end: `read_document` on scanned English and French reports
   and a mixed PDF: OCR pages/s, word recall of the passages, running
   headers left in passages, and peak memory after 1 and after 12 documents;
6. `cocreation score` with 2 worker processes on text documents plus copies
   of the sample corpus's scanned report, with OCR off and on: time, pages
   read and the peak memory of the whole process tree.

It ends with one ``name=value`` line per headline figure.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ocr_texts import PARAGRAPHS  # noqa: E402

from cocreation_nlp.scans import (  # noqa: E402
    Block,
    ScanSettings,
    body_reference,
    mix_pages,
    scan_pdf,
    text_pdf,
    word_recall,
)

SAMPLE_DOCS = ROOT / "corpora" / "sample" / "docs"
EN_TITLE, EN_PUB = "Listening to Residents", "Kestrel County Council"
FR_TITLE, FR_PUB = "Plan local des solidarités", "Ville de Montclair"


def blocks_from_text(path: Path, skip: int = 3) -> list[Block]:
    """Headings and paragraphs of a sample-corpus plain-text document (its title block skipped)."""
    paras = [" ".join(p.split()) for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    out = []
    for p in paras[skip:]:
        p = p.lstrip("* ").strip()
        heading = len(p.split()) <= 6 and not p.endswith((".", ":"))
        out.append(Block("heading" if heading else "paragraph", p))
    return out


def english_pdf() -> bytes:
    return text_pdf(
        blocks_from_text(SAMPLE_DOCS / "kestrel-feedback-guidance-2019.txt"), title=EN_TITLE, publisher=EN_PUB
    )


def french_pdf() -> bytes:
    return text_pdf(
        blocks_from_text(SAMPLE_DOCS / "montclair-plan-solidarites-2025.txt"),
        title=FR_TITLE,
        publisher=FR_PUB,
        language="fr",
        page_size="A5",
    )


def render(pdf: bytes, dpi: int) -> list[tuple[bytes, int, int, int]]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    out = []
    for i in range(len(doc)):
        page = doc[i]
        bm = page.render(scale=dpi / 72, grayscale=True)
        out.append((bytes(bm.buffer), bm.width, bm.height, bm.stride))
        bm.close()
        page.close()
    doc.close()
    return out


def read_pages(pages, *, languages: str, ppi: int, thresholding: str = "2") -> tuple[float, str]:
    """tesserocr on pre-rendered pages with the toolkit's line building; (seconds, text)."""
    from cocreation_nlp.readers.ocr import _engine, recognise_image

    api = _engine(languages)
    api.SetVariable("thresholding_method", thresholding)
    t0 = time.perf_counter()
    texts = []
    for buf, w, h, stride in pages:
        lines, _ = recognise_image(buf, w, h, stride, languages=languages, ppi=ppi)
        texts.append(" ".join(ln[4] for ln in lines))
    seconds = time.perf_counter() - t0
    api.SetVariable("thresholding_method", "2")
    return seconds, "\n".join(texts)


def section_resolution(quick: bool) -> dict[str, float]:
    print("\n## 1. Resolution and binarisation (English report: 2 pages per scan; 2 pages in 7 pt print)")
    print("scan | render dpi | binarisation | pages/s | recall mean | recall min")
    body = blocks_from_text(SAMPLE_DOCS / "kestrel-feedback-guidance-2019.txt")
    normal = text_pdf(body, title=EN_TITLE, publisher=EN_PUB)
    small = text_pdf(body + body, title=EN_TITLE, publisher=EN_PUB, font_size=7)
    scans = {
        "150 dpi": (normal, ScanSettings(dpi=150, noise=12)),
        "200 dpi": (normal, ScanSettings(dpi=200, noise=12)),
        "300 dpi": (normal, ScanSettings(dpi=300, noise=12)),
        "200 dpi, noisy": (normal, ScanSettings(dpi=200, noise=22)),
        "200 dpi, 7 pt": (small, ScanSettings(dpi=200, noise=12)),
    }
    seeds = range(1 if quick else 2)
    results: dict[tuple[str, int, str], list[tuple[float, float, int]]] = {}
    for scan_name, (pdf, settings) in scans.items():
        ref = " ".join(body_reference(pdf))
        for seed in seeds:
            scanned = scan_pdf(pdf, seed=seed, settings=settings)
            for dpi in (150, 200, 300):
                pages = render(scanned, dpi)
                for name, code in (("otsu", "0"), ("sauvola", "2")):
                    secs, text = read_pages(pages, languages="eng", ppi=dpi, thresholding=code)
                    results.setdefault((scan_name, dpi, name), []).append(
                        (secs, word_recall(ref, text), len(pages))
                    )
    for (scan_name, dpi, name), runs in results.items():
        pps = sum(r[2] for r in runs) / sum(r[0] for r in runs)
        recalls = [r[1] for r in runs]
        print(
            f"{scan_name} | {dpi} | {name} | {pps:.2f} | {statistics.mean(recalls):.4f} | {min(recalls):.4f}"
        )
    figures: dict[str, float] = {}
    for dpi in (150, 200, 300):
        for name in ("otsu", "sauvola"):
            runs = [r for (s, d, n), rs in results.items() if d == dpi and n == name for r in rs]
            figures[f"render{dpi}_{name}_pages_per_s"] = sum(r[2] for r in runs) / sum(r[0] for r in runs)
            figures[f"render{dpi}_{name}_recall_min"] = min(r[1] for r in runs)
            figures[f"render{dpi}_{name}_recall_mean"] = statistics.mean(r[1] for r in runs)
    return figures


def section_binding() -> dict[str, float]:
    print("\n## 2. Binding (English report scanned at 200 dpi, rendered at 200 dpi)")
    pdf = english_pdf()
    ref = " ".join(body_reference(pdf))
    scanned = scan_pdf(pdf, seed=11)
    pages = render(scanned, 200)
    figures: dict[str, float] = {}
    read_pages(pages[:1], languages="eng", ppi=200)  # engine loaded once per worker: not timed
    secs, text = read_pages(pages * 3, languages="eng", ppi=200)
    figures["tesserocr_pages_per_s"] = 3 * len(pages) / secs
    print(f"tesserocr: {figures['tesserocr_pages_per_s']:.2f} pages/s, recall {word_recall(ref, text):.4f}")
    try:
        import pytesseract
        from PIL import Image
    except ImportError:
        print("pytesseract: not installed (pip install pytesseract to compare)")
    else:
        images = [Image.frombuffer("L", (w, h), buf, "raw", "L", stride, 1) for buf, w, h, stride in pages]
        t0 = time.perf_counter()
        texts = [
            pytesseract.image_to_data(im, lang="eng", config="-c thresholding_method=2") for im in images * 3
        ]
        secs = time.perf_counter() - t0
        words = " ".join(
            row.split("\t")[-1] for t in texts[: len(images)] for row in t.splitlines()[1:] if "\t" in row
        )
        figures["pytesseract_pages_per_s"] = 3 * len(images) / secs
        print(
            f"pytesseract: {figures['pytesseract_pages_per_s']:.2f} pages/s, recall {word_recall(ref, words):.4f}"
        )
    ocrmypdf = shutil.which("ocrmypdf") or os.environ.get("OCRMYPDF")
    if not ocrmypdf:
        print("ocrmypdf: not on PATH (set OCRMYPDF to its executable to compare)")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp) / "in.pdf", Path(tmp) / "out.pdf"
            src.write_bytes(scanned)
            t0 = time.perf_counter()
            subprocess.run(
                [ocrmypdf, "-q", "-j", "1", "-l", "eng", "--output-type", "pdf", "--optimize", "0", src, dst],
                check=True,
            )
            secs = time.perf_counter() - t0
            from cocreation_nlp.scans import page_texts

            text = "\n".join(page_texts(dst.read_bytes()))
        figures["ocrmypdf_pages_per_s"] = len(pages) / secs
        print(
            f"ocrmypdf (one {len(pages)}-page document, start-up included): "
            f"{figures['ocrmypdf_pages_per_s']:.2f} pages/s, recall {word_recall(ref, text):.4f}"
        )
    return figures


def section_language() -> dict[str, float]:
    import py3langid

    from cocreation_nlp.readers.ocr import TESSERACT_CODES, _engine

    print("\n## 3. Language of a document without a manifest language (half a page per language)")
    print("language | first pass | seconds | identified | recall of the pass | recall in its own language")
    combo = "+".join(TESSERACT_CODES[iso] for iso in PARAGRAPHS)
    correct = {"eng": 0, combo: 0}
    seconds = {"eng": 0.0, combo: 0.0}
    for codes in ("eng", combo, *[TESSERACT_CODES[iso] for iso in PARAGRAPHS]):
        _engine(codes)  # load outside the timing
    for iso, paras in PARAGRAPHS.items():
        pdf = text_pdf(
            [Block("paragraph", p) for p in paras], title="Report", publisher="Council", language=iso
        )
        ref = " ".join(body_reference(pdf))
        pages = render(scan_pdf(pdf, seed=7), 200)
        _, own = read_pages(pages, languages=TESSERACT_CODES[iso], ppi=200)
        for codes in ("eng", combo):
            secs, text = read_pages(pages, languages=codes, ppi=200)
            found = py3langid.classify(text)[0]
            correct[codes] += found == iso
            seconds[codes] += secs
            label = "eng" if codes == "eng" else "all six"
            print(
                f"{iso} | {label} | {secs:.2f} | {found} | {word_recall(ref, text):.3f} | {word_recall(ref, own):.3f}"
            )
    n = len(PARAGRAPHS)
    print(f"identified correctly: English pass {correct['eng']}/{n}, six-language pass {correct[combo]}/{n}")
    return {
        "language_first_pass_eng_correct": correct["eng"] / n,
        "language_first_pass_all_correct": correct[combo] / n,
        "language_first_pass_all_vs_eng_time": seconds[combo] / seconds["eng"],
    }


def section_confidence(quick: bool) -> dict[str, float]:
    from cocreation_nlp.readers.ocr import LOW_CONFIDENCE, DocumentOcr, OcrSettings

    print("\n## 4. Mean word confidence against recall as scans degrade (English, first page)")
    print("scan dpi | noise | blur | mean confidence | recall | warning")
    import pypdfium2 as pdfium

    pdf = english_pdf()
    ref = body_reference(pdf)[0]
    levels = [(200, 10, 0.6), (200, 25, 0.9), (200, 35, 1.1), (150, 35, 1.1), (150, 45, 1.2), (150, 55, 1.3)]
    pairs = []
    for seed in range(1 if quick else 2):
        for dpi, noise, blur in levels:
            scanned = scan_pdf(pdf, seed=seed, settings=ScanSettings(dpi=dpi, noise=noise, blur=blur))
            doc = pdfium.PdfDocument(scanned)
            reader = DocumentOcr("bench", OcrSettings(language="en"), len(doc))
            page = doc[0]
            result = reader.recognise(page, 1)
            page.close()
            doc.close()
            rec = word_recall(ref, " ".join(ln.text for ln in result.lines))
            conf = result.mean_confidence
            pairs.append((conf, rec))
            kinds = ",".join(w.kind for w in reader.warnings) or "-"
            print(f"{dpi} | {noise} | {blur} | {'' if conf is None else f'{conf:.3f}'} | {rec:.3f} | {kinds}")
    print(f"(warning threshold LOW_CONFIDENCE = {LOW_CONFIDENCE})")
    return {}


def section_reader(quick: bool) -> dict[str, float]:
    from cocreation_nlp.ingest import Source, read_document
    from cocreation_nlp.segment import segment_document

    print("\n## 5. Reader end to end (read_document + segmentation)")
    en = english_pdf()
    fr = french_pdf()
    cases = {
        "english scan": (scan_pdf(en, seed=21), en, [EN_TITLE, EN_PUB], ""),
        "french scan": (scan_pdf(fr, seed=22), fr, [FR_TITLE, FR_PUB], ""),
        "mixed (page 2 scanned)": (mix_pages(en, scan_pdf(en, seed=23), [2]), en, [EN_TITLE, EN_PUB], "en"),
    }
    figures: dict[str, float] = {}
    ocr_pages = 0
    ocr_seconds = 0.0
    recalls = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (pdf, source_pdf, running, lang) in cases.items():
            path = Path(tmp) / (re.sub(r"\W+", "-", name) + ".pdf")
            path.write_bytes(pdf)
            t0 = time.perf_counter()
            doc = read_document(Source(path, "d", {"language": lang} if lang else {}))
            secs = time.perf_counter() - t0
            passages = segment_document(doc)
            text = "\n".join([p.text for p in passages] + list(dict.fromkeys(p.heading for p in passages)))
            ref = " ".join(body_reference(source_pdf))
            rec = word_recall(ref, text)
            # Running lines left: occurrences of the header and footer beyond those in the body text.
            left = text.count(running[1]) - ref.count(running[1]) + len(re.findall(r"Page \d+ of \d+", text))
            ocr_pages += doc.ocr_pages
            ocr_seconds += secs
            recalls.append(rec)
            print(
                f"{name}: {doc.n_pages} pages, {doc.ocr_pages} by OCR, {secs:.2f} s, language {doc.language}, "
                f"word recall {rec:.4f}, running lines left in passages {left}, "
                f"warnings {[w.kind for w in doc.warnings]}"
            )
        figures["reader_ocr_pages_per_s"] = ocr_pages / ocr_seconds
        figures["reader_word_recall_min"] = min(recalls)
        # Memory: a worker reads document after document; its peak must not grow with their number.
        path = Path(tmp) / "mem.pdf"
        path.write_bytes(cases["english scan"][0])
        read_document(Source(path, "m", {"language": "en"}))
        rss_1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        for i in range(3 if quick else 11):
            read_document(Source(path, f"m{i}", {"language": "en"}))
        rss_n = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        n = 4 if quick else 12
        print(f"peak RSS of this process: {rss_1:.0f} MB after 1 scanned document, {rss_n:.0f} MB after {n}")
        figures["peak_rss_mb_after_1"] = rss_1
        figures[f"peak_rss_mb_after_{n}"] = rss_n
    return figures


def section_workers(quick: bool) -> dict[str, float]:
    """`cocreation score` with 2 worker processes on text documents plus scanned ones, OCR on and off."""
    import csv
    import json

    from perf import build_corpus
    from perf import score as perf_score

    print("\n## 6. `cocreation score` with 2 worker processes: text documents and scanned reports")
    scanned = ROOT / "corpora" / "sample" / "docs" / "greyfield-library-readers-review-2009.pdf"
    n_text, n_scan = (60, 6) if quick else (150, 12)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = build_corpus(Path(tmp) / "corpus", n_text, seed=5)
        with (corpus / "manifest.csv").open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        for i in range(n_scan):
            name = f"scan{i:03d}.pdf"
            (corpus / name).write_bytes(scanned.read_bytes() + f"\n% copy {i}\n".encode())
            # Spread through the corpus, as scans are in an archive (and so the two workers share them).
            rows.insert(
                1 + (i * n_text) // n_scan + i, [f"scan{i:03d}", name, f"scan{i:03d}", "Greyfield", "2009"]
            )
        with (corpus / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
        runs = {}
        for mode in ("never", "auto"):
            out = Path(tmp) / f"out-{mode}"
            secs, peak_mb = perf_score(corpus, out, args=["--workers", "2", "--ocr", mode])
            run = json.loads((out / "run.json").read_text(encoding="utf-8"))
            runs[mode] = (secs, peak_mb, run["counts"]["ocr_pages_read"])
            print(
                f"--ocr {mode}: {n_text} text + {n_scan} scanned documents, {secs:.1f} s, "
                f"{runs[mode][2]} pages read by OCR, peak RSS of the process tree {runs[mode][1]:.0f} MB"
            )
    # (The difference in run time is not reported as a rate: on a shared machine it is mostly noise.)
    figures["pool_peak_rss_mb_ocr_never"] = runs["never"][1]
    figures["pool_peak_rss_mb_ocr_auto"] = runs["auto"][1]
    figures["pool_ocr_extra_mb"] = runs["auto"][1] - runs["never"][1]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed, fewer documents")
    parser.add_argument("--sections", default="1,2,3,4,5,6", help="comma-separated sections to run")
    args = parser.parse_args()
    from cocreation_nlp.readers.ocr import check_available

    check_available()
    import tesserocr

    print(f"Tesseract {tesserocr.tesseract_version().splitlines()[0]} via tesserocr {tesserocr.__version__}")
    t0 = time.perf_counter()
    figures: dict[str, float] = {}
    chosen = {int(x) for x in args.sections.split(",")}
    sections = {
        1: lambda: section_resolution(args.quick),
        2: section_binding,
        3: section_language,
        4: lambda: section_confidence(args.quick),
        5: lambda: section_reader(args.quick),
        6: lambda: section_workers(args.quick),
    }
    for number, run in sections.items():
        if number in chosen:
            figures |= run()
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")
    for key, value in figures.items():
        print(f"{key}={value:.4g}")


if __name__ == "__main__":
    main()
