"""Performance harness: throughput, re-runs, memory and scaling of `cocreation score`, measured side by side.

Usage:
    .venv/bin/python benchmarks/perf.py --docs 1000            # a few minutes
    .venv/bin/python benchmarks/perf.py --docs 1000,10000      # adds per_doc_large_vs_small

It builds a synthetic corpus by scaling up the sample corpus (corpora/sample):
Markdown, text and HTML variants of its documents with shuffled paragraphs,
changed numbers and place names, plus PDF and DOCX copies, and a boilerplate
paragraph repeated across documents the way licences and contact blocks are in
real corpora. Then, in one run, it measures:

- end-to-end `cocreation score` throughput (documents/s, passages/s, words/s), default configuration;
- `cocreation parse` alone on the same corpus (`end_to_end_vs_parse`: score's documents/s over
  parse's, both as command-line runs with start-up included; how much classifying and scoring
  cost on top of reading);
- the raw throughput of the default embedder on the same passages (the ceiling of a run that embeds every passage once);
- PDF parsing against a plain pypdfium2 page-text extraction of the same PDFs (`parse_vs_raw_text`:
  pages/s of reading and segmenting, as `parse` does for each document, over pages/s of
  `get_text_range()` page by page, both in this process after a warm-up, so start-up is left out of
  both; CPU time, fastest of five alternating passes per file). The PDFs are the training corpus's
  (`corpora/open-policy`, in the repository) unless `--pdfs` names others. Like for like, the
  headline figure reads text layers only (`--ocr never`); `parse_vs_raw_text_ocr_auto` is the same
  with the default `--ocr auto`, which also reads the few scanned pages of those PDFs by OCR
  (benchmarks/ocr.py measures OCR itself);
- end-to-end throughput of a plain all-MiniLM-L6-v2 configuration (models/minilm: torch, no TF-IDF) on a slice of the corpus;
- end-to-end throughput of the shipped cascade (models/cascade) on the same slice (`cascade_vs_default`);
- rule-only matching against spaCy's bare tokenizer on the same text;
- a re-run on the unchanged corpus, and a re-run after adding 1% new documents;
- peak resident memory (the whole process tree, sampled from /proc);
- time per document at each corpus size.

It ends with one `name=value` line per result. Absolute times vary between
machines; the ratios, measured in the same run, are what to compare.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SAMPLE = ROOT / "corpora" / "sample"
BOILERPLATE = (
    "This document is published under the Open Government Licence v3.0. For alternative formats, "
    "contact the publications team at the address above; we aim to reply within ten working days."
)
PLACES = [
    "Northbridge",
    "Port Halden",
    "Kestrel",
    "Ashford",
    "Riverside",
    "Estmark",
    "Montclair",
    "Greyfield",
]


def _variants(text: str, rng: random.Random) -> str:
    """Shuffle paragraphs (keeping the first), change numbers and places, add boilerplate."""
    paras = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    head, body = paras[:1], paras[1:]
    rng.shuffle(body)
    out = "\n\n".join(head + body + [BOILERPLATE])
    out = re.sub(r"\b\d{2,4}\b", lambda m: str(int(m.group()) + rng.randint(1, 9)), out)
    return re.sub("|".join(PLACES), lambda m: rng.choice(PLACES), out)


def build_corpus(dest: Path, n_docs: int, seed: int = 0) -> Path:
    """Write n_docs documents and a manifest.csv into dest."""
    rng = random.Random(seed)
    dest.mkdir(parents=True, exist_ok=True)
    sources = [p.read_text(encoding="utf-8") for p in sorted((SAMPLE / "src").glob("*.md"))]
    # PDF and DOCX copies; the scanned sample document is left out (OCR, a second per page, would
    # swamp these figures: benchmarks/ocr.py measures it, memory in worker processes included).
    with (SAMPLE / "expected.csv").open(encoding="utf-8") as fh:
        scanned = {SAMPLE / r["file"] for r in csv.DictReader(fh) if r["format"] == "scan"}
    binaries = [
        p
        for p in sorted((SAMPLE / "docs").glob("*.pdf")) + sorted((SAMPLE / "docs").glob("*.docx"))
        if p not in scanned
    ]
    rows = []
    for i in range(n_docs):
        doc_id = f"syn{i:05d}"
        roll = rng.random()
        if roll < 0.08 and binaries:
            # PDF/DOCX copies: identical text, distinct files (a trailing comment keeps PDFs valid).
            src = rng.choice(binaries)
            if src.suffix == ".pdf":
                data = src.read_bytes() + f"\n% copy {doc_id}\n".encode()
                name = f"{doc_id}.pdf"
                (dest / name).write_bytes(data)
            else:
                name = f"{doc_id}.docx"
                shutil.copyfile(src, dest / name)
        else:
            text = _variants(re.sub(r"\{\{[^}]*\}\}", "", rng.choice(sources)), rng)
            kind = rng.choice(["md", "txt", "html"])
            name = f"{doc_id}.{kind}"
            if kind == "html":
                body = "".join(f"<p>{p}</p>" for p in text.split("\n\n"))
                text = f"<html><body><nav>Home | News | Contact</nav><main>{body}</main><footer>Copyright</footer></body></html>"
            (dest / name).write_text(text, encoding="utf-8")
        rows.append(
            {
                "doc_id": doc_id,
                "file": name,
                "title": doc_id,
                "publisher": rng.choice(PLACES),
                "year": str(2018 + i % 8),
            }
        )
    with (dest / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["doc_id", "file", "title", "publisher", "year"])
        w.writeheader()
        w.writerows(rows)
    return dest


class TreeRSS:
    """Peak resident memory of a process and all its descendants, sampled from /proc every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                    children.setdefault(ppid, []).append(int(entry))
                except (OSError, ValueError, IndexError):
                    continue
        out, stack = [], [self.pid]
        while stack:
            p = stack.pop()
            out.append(p)
            stack.extend(children.get(p, []))
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for p in self._tree():
                try:
                    with open(f"/proc/{p}/status") as fh:
                        for line in fh:
                            if line.startswith("VmRSS:"):
                                total += int(line.split()[1])
                except OSError:
                    continue
            self.peak_kb = max(self.peak_kb, total)
            self._stop.wait(0.05)

    def __enter__(self) -> TreeRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def parse_cli(corpus: Path, out: Path) -> float:
    """Run `cocreation parse` in a subprocess (start-up included, like `score`); return seconds."""
    cmd = [
        sys.executable,
        "-m",
        "cocreation_nlp",
        "parse",
        str(corpus / "manifest.csv"),
        "-o",
        str(out),
        "--no-progress",
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"parse failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds


def parse_vs_raw_text(pdfs: list[Path], repeats: int = 5, ocr: str = "never") -> dict[str, float]:
    """Pages/s of reading + segmenting PDFs (what `parse` does per document) and of raw page text.

    Both run in this process after a warm-up, so neither carries start-up
    costs. Each file is read both ways ``repeats`` times, alternately, and the
    fastest time of each way is kept per file; times are CPU time of this
    process, so that other work on a shared machine does not tilt the ratio.
    ``ocr`` is the parse's OCR mode: ``never`` compares text-layer reading
    with text-layer extraction; ``auto`` adds the OCR of scanned pages.
    """
    import pypdfium2 as pdfium

    from cocreation_nlp.ingest import Source, read_one
    from cocreation_nlp.segment import segment_document
    from cocreation_nlp.types import Document

    def raw(path: Path) -> int:
        pdf = pdfium.PdfDocument(str(path))
        n = len(pdf)
        for i in range(n):
            page = pdf[i]
            textpage = page.get_textpage()
            textpage.get_text_range()
            textpage.close()
            page.close()
        pdf.close()
        return n

    def parse(path: Path) -> None:
        doc = read_one(Source(path, path.stem), ocr=ocr)
        if isinstance(doc, Document):
            segment_document(doc)

    parse(pdfs[0])  # warm-up: imports, caches
    pages = t_raw = t_parse = 0.0
    for path in pdfs:
        best_raw = best_parse = float("inf")
        n = 0
        for _ in range(repeats):
            t0 = time.process_time()
            n = raw(path)
            best_raw = min(best_raw, time.process_time() - t0)
            t0 = time.process_time()
            parse(path)
            best_parse = min(best_parse, time.process_time() - t0)
        pages += n
        t_raw += best_raw
        t_parse += best_parse
    return {
        "pdfs": len(pdfs),
        "pages": pages,
        "raw_pages_per_s": pages / max(t_raw, 1e-9),
        "parse_pages_per_s": pages / max(t_parse, 1e-9),
    }


def score(
    corpus: Path,
    out: Path,
    *,
    model: str | None = None,
    docs: list[str] | None = None,
    args: Sequence[str] = (),
) -> tuple[float, float]:
    """Run `cocreation score` in a subprocess (``args`` appended); return (seconds, peak tree RSS in MB)."""
    cmd = [
        sys.executable,
        "-m",
        "cocreation_nlp",
        "score",
        str(corpus / "manifest.csv"),
        "-o",
        str(out),
        "--no-progress",
    ]
    if model:
        cmd += ["--model", model]
    cmd += list(args)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    with TreeRSS(proc.pid) as rss:
        _, err = proc.communicate()
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"score {' '.join(args)} failed ({proc.returncode}): {err[-2000:]}")
    return seconds, rss.peak_kb / 1024


def passages_of(out: Path) -> tuple[list[str], int]:
    import pandas as pd

    df = pd.read_csv(out / "passages.csv", usecols=["text", "n_words"], keep_default_na=False)
    return df["text"].tolist(), int(df["n_words"].sum())


def slice_corpus(corpus: Path, dest: Path, n: int) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    with (corpus / "manifest.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[:n]
    for r in rows:
        os.link(corpus / r["file"], dest / r["file"])
    with (dest / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return dest


def measure(n_docs: int, work: Path, transformer_docs: int) -> dict[str, float]:
    from cocreation_nlp.embed import get_embedder
    from cocreation_nlp.model import default_model, read_meta

    res: dict[str, float] = {}
    corpus = build_corpus(work / f"corpus-{n_docs}", n_docs)
    out = work / f"out-{n_docs}"
    cold, rss = score(corpus, out)
    texts, words = passages_of(out)
    res["docs"] = n_docs
    res["passages"] = len(texts)
    res["cold_seconds"] = cold
    res["docs_per_s"] = n_docs / cold
    res["passages_per_s"] = len(texts) / cold
    res["words_per_s"] = words / cold
    res["peak_rss_mb"] = rss
    res["seconds_per_doc"] = cold / n_docs
    print(
        f"[{n_docs} docs] cold run: {cold:.1f}s, {res['docs_per_s']:.1f} docs/s, {res['passages_per_s']:.0f} passages/s, {res['words_per_s']:.0f} words/s, peak RSS {rss:.0f} MB",
        flush=True,
    )

    # Parse alone on the same corpus, as a command-line run like score's.
    parse_seconds = parse_cli(corpus, work / f"parse-{n_docs}.csv")
    res["parse_seconds"] = parse_seconds
    res["parse_docs_per_s"] = n_docs / parse_seconds
    print(
        f"[{n_docs} docs] parse alone: {parse_seconds:.1f}s, {res['parse_docs_per_s']:.1f} docs/s", flush=True
    )

    # Raw embedder throughput on the same passages (every passage, duplicates included, as a naive run would).
    model_dir = default_model()
    embedder_name = read_meta(Path(model_dir))["embedder"]["name"] if model_dir != "rules" else "static"
    emb = get_embedder(embedder_name)
    emb.encode(texts[:64])
    t0 = time.perf_counter()
    for i in range(0, len(texts), 4096):
        emb.encode(texts[i : i + 4096])
    enc = time.perf_counter() - t0
    res["encoder_passages_per_s"] = len(texts) / enc
    print(
        f"[{n_docs} docs] embedder '{embedder_name}' alone: {res['encoder_passages_per_s']:.0f} passages/s",
        flush=True,
    )

    # Re-run unchanged, then grow by 1%.
    rerun, _ = score(corpus, out)
    res["rerun_seconds"] = rerun
    extra = build_corpus(work / f"extra-{n_docs}", max(1, n_docs // 100), seed=99)
    with (corpus / "manifest.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with (extra / "manifest.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            new_id = "new" + r["doc_id"][3:]
            suffix = Path(r["file"]).suffix
            shutil.copyfile(extra / r["file"], corpus / f"{new_id}{suffix}")
            rows.append({**r, "doc_id": new_id, "file": f"{new_id}{suffix}"})
    with (corpus / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    grow, _ = score(corpus, out)
    res["grow_seconds"] = grow
    print(f"[{n_docs} docs] re-run unchanged: {rerun:.1f}s; after +1% documents: {grow:.1f}s", flush=True)

    # A plain all-MiniLM-L6-v2 configuration on a slice (it is ~10-100x slower; per-document time is flat).
    minilm = ROOT / "models" / "minilm"
    if minilm.exists() and transformer_docs:
        k = min(transformer_docs, n_docs)
        sl = slice_corpus(corpus, work / f"slice-{n_docs}", k)
        one = slice_corpus(corpus, work / f"one-{n_docs}", 1)
        # Fixed costs (interpreter, imports, model loading) measured on a one-document run and
        # subtracted, so the ratio compares per-document work, not start-up.
        t_small, _ = score(sl, work / f"slice-out-default-{n_docs}")
        t_one, _ = score(one, work / f"one-out-default-{n_docs}")
        t_tr, _ = score(sl, work / f"slice-out-minilm-{n_docs}", model=str(minilm))
        t_tr_one, _ = score(one, work / f"one-out-minilm-{n_docs}", model=str(minilm))
        res["slice_docs"] = k
        res["default_slice_seconds"] = max(t_small - t_one, 1e-6)
        res["transformer_slice_seconds"] = max(t_tr - t_tr_one, 1e-6)
        cascade = ROOT / "models" / "cascade"
        if (cascade / "meta.json").exists():
            # The shipped cascade (default model everywhere, the accurate tier on uncertain passages),
            # start-up subtracted the same way.
            t_c, _ = score(sl, work / f"slice-out-cascade-{n_docs}", model=str(cascade))
            t_c_one, _ = score(one, work / f"one-out-cascade-{n_docs}", model=str(cascade))
            res["cascade_slice_seconds"] = max(t_c - t_c_one, 1e-6)
            print(f"[{n_docs} docs] slice of {k}: cascade {t_c:.1f}s (1 doc: {t_c_one:.1f}s)", flush=True)
        print(
            f"[{n_docs} docs] slice of {k}: default {t_small:.1f}s (1 doc: {t_one:.1f}s), "
            f"plain MiniLM {t_tr:.1f}s (1 doc: {t_tr_one:.1f}s)",
            flush=True,
        )
    return res


def rules_vs_tokenizer(texts: list[str]) -> tuple[float, float]:
    import spacy

    from cocreation_nlp.rules import RuleMatcher, rule_probabilities

    tok = spacy.blank("en").tokenizer
    matcher = RuleMatcher("en")
    list(matcher.match_many(texts[:200]))
    best_tok = best_rules = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for t in texts:
            tok(t)
        best_tok = min(best_tok, time.perf_counter() - t0)
        t0 = time.perf_counter()
        for hits in matcher.match_many(texts):
            rule_probabilities(hits)
        best_rules = min(best_rules, time.perf_counter() - t0)
    words = sum(len(t.split()) for t in texts)
    return words / best_tok, words / best_rules


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", default="1000", help="corpus size(s), comma-separated, e.g. 1000,10000")
    ap.add_argument(
        "--transformer-docs", type=int, default=100, help="documents in the plain-MiniLM slice (0 to skip)"
    )
    ap.add_argument("--keep", type=Path, help="keep the work folder here instead of a temporary one")
    ap.add_argument(
        "--pdfs",
        type=Path,
        default=ROOT / "corpora" / "open-policy" / "docs",
        help="folder of PDFs for parse_vs_raw_text (default: the training corpus in the repository)",
    )
    args = ap.parse_args()
    sizes = [int(x) for x in args.docs.split(",")]
    work = args.keep or Path(tempfile.mkdtemp(prefix="cocreation-perf-"))
    work.mkdir(parents=True, exist_ok=True)
    t_cli = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cocreation_nlp", "--help"], stdout=subprocess.DEVNULL, check=True)
    help_seconds = time.perf_counter() - t_cli
    print(f"cocreation --help: {help_seconds:.2f}s", flush=True)
    pdfs = sorted(args.pdfs.glob("*.pdf"))
    pdf_speed = parse_vs_raw_text(pdfs) if pdfs else {}
    pdf_speed_ocr = parse_vs_raw_text(pdfs, ocr="auto") if pdfs else {}
    if pdf_speed:
        print(
            f"PDF: {pdf_speed['pdfs']} files, {pdf_speed['pages']} pages: raw page text "
            f"{pdf_speed['raw_pages_per_s']:.0f} pages/s, parse {pdf_speed['parse_pages_per_s']:.0f} pages/s "
            f"(--ocr never), {pdf_speed_ocr['parse_pages_per_s']:.0f} pages/s (--ocr auto)",
            flush=True,
        )
    results = [measure(n, work, args.transformer_docs) for n in sizes]
    texts, _ = passages_of(work / f"out-{sizes[0]}")
    tok_wps, rules_wps = rules_vs_tokenizer(texts[:20000])
    print(f"spaCy tokenizer {tok_wps:.0f} words/s, rules {rules_wps:.0f} words/s", flush=True)
    first = results[0]
    lines = {
        "end_to_end_vs_parse": first["docs_per_s"] / first["parse_docs_per_s"],
        "rules_vs_tokenizer": rules_wps / tok_wps,
        "rerun_vs_cold": first["rerun_seconds"] / first["cold_seconds"],
        "grow_vs_cold": first["grow_seconds"] / first["cold_seconds"],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
        "help_seconds": help_seconds,
    }
    if pdf_speed:
        lines["parse_vs_raw_text"] = pdf_speed["parse_pages_per_s"] / pdf_speed["raw_pages_per_s"]
        lines["parse_vs_raw_text_ocr_auto"] = (
            pdf_speed_ocr["parse_pages_per_s"] / pdf_speed_ocr["raw_pages_per_s"]
        )
    if "transformer_slice_seconds" in first:
        lines["default_vs_transformer"] = first["transformer_slice_seconds"] / first["default_slice_seconds"]
    if "cascade_slice_seconds" in first:
        # Throughput of the cascade over throughput of the default on the same slice (< 1: slower).
        lines["cascade_vs_default"] = first["default_slice_seconds"] / first["cascade_slice_seconds"]
    if len(results) > 1:
        lines["per_doc_large_vs_small"] = results[-1]["seconds_per_doc"] / results[0]["seconds_per_doc"]
    for r in results:
        print(
            f"docs={r['docs']} passages={r['passages']} docs_per_s={r['docs_per_s']:.2f} "
            f"parse_docs_per_s={r['parse_docs_per_s']:.2f} passages_per_s={r['passages_per_s']:.1f} "
            f"words_per_s={r['words_per_s']:.0f} encoder_passages_per_s={r['encoder_passages_per_s']:.0f} peak_rss_mb={r['peak_rss_mb']:.0f}"
        )
    for k, v in lines.items():
        print(f"{k}={v:.3f}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
