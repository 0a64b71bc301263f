"""Choose train-split passages for hand labelling and write them as batches outside the repository.

Selection never labels anything: it decides which passages people read.
Every train document is covered, passages likely to carry the rarer labels
are oversampled with a crude keyword screen written here (not the project's
rule lexicon, so the baseline is not favoured), and the rest is random.
``reserved`` documents are never read.

Usage:
    .venv/bin/python scripts/sample_for_annotation.py corpora/open-policy/manifest.csv \
        --out /tmp/labelling --n 1800 --per-doc 15 --batches 8 --double 300
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cocreation_nlp.ingest import read_manifest, read_one  # noqa: E402
from cocreation_nlp.segment import segment_document  # noqa: E402
from cocreation_nlp.types import ParseFailure, is_labelling_unit  # noqa: E402

SCREEN = re.compile(
    r"nurse|teacher|social worker|caseworker|case worker|frontline|front-line|front line|practitioner|staff|doctor|"
    r"physician|clinician|officer|librarian|workforce|"
    r"civil society|association|ngo|charit|voluntary|third sector|non-profit|not-for-profit|nonprofit|union|"
    r"cooperative|community organi|community group|advocacy|"
    r"disadvantag|marginali|vulnerab|disab|accessib|inclusi|exclu|low income|digital skill|digital divide|"
    r"interpret|language|older people|elderly|migrant|equit|"
    r"institutionali|embed|culture|mindset|sustain|long-term|scale|routine|permanent|statutory|"
    r"co-design|codesign|co-produc|coproduc|co-creat|cocreat|participatory budget|peer support|co-deliver|"
    r"association|asociaci|associazion|vereniging|verband|verein|sociedad civil|société civile|"
    r"enseignant|infirmi|docente|profesional|fachkr|professionnel",
    re.I,
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("manifest", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n", type=int, default=1800)
    ap.add_argument("--per-doc", type=int, default=15)
    ap.add_argument("--batches", type=int, default=8)
    ap.add_argument("--double", type=int, default=300)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--screened-share", type=float, default=0.5)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with args.manifest.open(newline="", encoding="utf-8") as fh:
        split = {r["doc_id"]: r["split"] for r in csv.DictReader(fh)}
    sources = [s for s in read_manifest(args.manifest) if split.get(s.doc_id) == "train"]
    pool: list[dict] = []
    for src in sources:
        doc = read_one(src)
        if isinstance(doc, ParseFailure):
            print("FAILED", doc, file=sys.stderr)
            continue
        passages = segment_document(doc)
        for i, p in enumerate(passages):
            if not is_labelling_unit(p.kind):
                continue  # headings and tables are not labelled
            pool.append(
                {
                    "passage_id": p.passage_id,
                    "doc_id": p.doc_id,
                    "doc_title": doc.meta.get("title", ""),
                    "language": doc.language,
                    "page": p.page,
                    "heading": p.heading,
                    "context": p.context,
                    "prev_text": passages[i - 1].text[-300:] if i else "",
                    "text": p.text,
                    "fingerprint": p.fingerprint,
                    "start_char": p.start_char,
                    "end_char": p.end_char,
                }
            )
    by_doc: dict[str, list[dict]] = {}
    for item in pool:
        by_doc.setdefault(item["doc_id"], []).append(item)
    chosen: dict[str, dict] = {}
    for items in by_doc.values():
        for item in rng.sample(items, min(args.per_doc, len(items))):
            chosen[item["passage_id"]] = item
    screened = [
        i
        for i in pool
        if i["passage_id"] not in chosen and SCREEN.search(i["text"]) and len(i["text"].split()) >= 6
    ]
    rng.shuffle(screened)
    n_screen = int(args.n * args.screened_share)
    for item in screened[:n_screen]:
        chosen[item["passage_id"]] = item
    # Random fill, round-robin over documents so that one long report (a
    # thousand table cells) does not dominate; fragments under 8 words are
    # left out of the fill (they are still covered by the per-document draw).
    queues = []
    for items in by_doc.values():
        rest = [i for i in items if i["passage_id"] not in chosen and len(i["text"].split()) >= 8]
        rng.shuffle(rest)
        queues.append(rest)
    while len(chosen) < args.n and any(queues):
        for queue in queues:
            if queue and len(chosen) < args.n:
                item = queue.pop()
                chosen[item["passage_id"]] = item
    items = list(chosen.values())
    rng.shuffle(items)
    args.out.mkdir(parents=True, exist_ok=True)
    size = -(-len(items) // args.batches)
    for b in range(args.batches):
        batch = items[b * size : (b + 1) * size]
        with (args.out / f"batch_{b + 1:02d}.jsonl").open("w", encoding="utf-8") as fh:
            for k, item in enumerate(batch, start=1):
                fh.write(json.dumps({"item": k, **item}, ensure_ascii=False) + "\n")
    double = rng.sample(items, min(args.double, len(items)))
    half = -(-len(double) // 2)
    for b, chunk in enumerate((double[:half], double[half:]), start=1):
        with (args.out / f"second_{b:02d}.jsonl").open("w", encoding="utf-8") as fh:
            for k, item in enumerate(chunk, start=1):
                fh.write(json.dumps({"item": k, **item}, ensure_ascii=False) + "\n")
    print(f"pool={len(pool)} chosen={len(items)} docs={len(by_doc)} screened_available={len(screened)}")


if __name__ == "__main__":
    main()
