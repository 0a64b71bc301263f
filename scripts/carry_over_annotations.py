"""Carry the project's annotation records across a change of parser or segmentation.

Two steps, around the change:

    # 1. BEFORE changing the parser, with the old code: snapshot the passages (outside the repo)
    .venv/bin/python scripts/carry_over_annotations.py snapshot corpora/open-policy/manifest.csv \\
        -o /tmp/passages-before.jsonl

    # 2. After the change, with the new code: map the records, rewrite the files, write the queue
    .venv/bin/python scripts/carry_over_annotations.py apply --snapshot /tmp/passages-before.jsonl \\
        --corpus corpora/open-policy/manifest.csv \\
        annotations/pass1.jsonl annotations/pass2.jsonl annotations/adjudicated.jsonl \\
        --relabel-out /tmp/relabel-queue.jsonl --report /tmp/carry-over.json --write

``apply`` without ``--write`` only reports. The rules (exact text, or the union of
old passages with the same final labels) are those of :mod:`cocreation_nlp.carry_over`;
nothing is labelled here: passages that need labels go to the relabel queue, which
holds passage text and so must stay outside the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cocreation_nlp.annotate.records import read_records, write_records  # noqa: E402
from cocreation_nlp.carry_over import carry_over, read_snapshot, write_snapshot  # noqa: E402
from cocreation_nlp.codebook import LABELS  # noqa: E402
from cocreation_nlp.ingest import discover, read_one  # noqa: E402
from cocreation_nlp.segment import segment_document  # noqa: E402
from cocreation_nlp.types import Document  # noqa: E402

NOTE = "carried over after the parsing-fidelity change of segmentation (issue 10)"


def _apply(args: argparse.Namespace) -> None:
    old = read_snapshot(args.snapshot)
    files = {path.stem: read_records(path) for path in args.files}
    doc_ids = {r.doc_id for recs in files.values() for r in recs}
    new = {}
    for src in discover(args.corpus):
        if src.doc_id in doc_ids:
            doc = read_one(src)
            if isinstance(doc, Document):
                new[src.doc_id] = segment_document(doc)
    missing = sorted(doc_ids - set(new))
    if missing:
        print(
            f"warning: {len(missing)} annotated document(s) not parsed now: {', '.join(missing)}",
            file=sys.stderr,
        )
    result = carry_over(files, old, new, note=NOTE)
    summary = result.summary()
    summary["relabel_passages_by_doc"] = {}
    for item in result.relabel:
        summary["relabel_passages_by_doc"][item.doc_id] = (
            summary["relabel_passages_by_doc"].get(item.doc_id, 0) + 1
        )
    piece_labels: dict[str, int] = dict.fromkeys([*LABELS, "(none)"], 0)
    for item in result.relabel:
        finals = [p for p in item.old_pieces if p["file"] in ("pass1", "adjudicated") and not p["skipped"]]
        for p in finals:
            for lab in p["labels"] or ["(none)"]:
                piece_labels[lab] += 1
    summary["relabel_old_piece_labels"] = piece_labels
    print(json.dumps(summary, indent=1, ensure_ascii=False))
    if args.report:
        args.report.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.relabel_out:
        tmp = args.relabel_out.with_name(args.relabel_out.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for item in result.relabel:
                fh.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
        tmp.replace(args.relabel_out)
        print(f"wrote {len(result.relabel)} passages to relabel to {args.relabel_out}", file=sys.stderr)
    if args.write:
        for path in args.files:
            n = write_records(result.records[path.stem], path)
            print(f"rewrote {path} ({n} records)", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot", help="parse the corpus with the code installed now; write its passages")
    snap.add_argument("corpus", nargs="+", type=Path)
    snap.add_argument("-o", "--output", type=Path, required=True)
    app = sub.add_parser("apply", help="map the records onto the passages of the code installed now")
    app.add_argument("files", nargs="+", type=Path, help="annotation files (JSONL, CSV or Label Studio JSON)")
    app.add_argument("--snapshot", type=Path, required=True, help="the snapshot taken with the old code")
    app.add_argument(
        "--corpus", action="append", type=Path, required=True, help="corpus folder or manifest (repeatable)"
    )
    app.add_argument("--relabel-out", type=Path, help="write the passages that need labels here (JSONL)")
    app.add_argument("--report", type=Path, help="write the counts here (JSON)")
    app.add_argument("--write", action="store_true", help="rewrite the annotation files in place")
    args = ap.parse_args()
    if args.command == "snapshot":
        n = write_snapshot(args.output, args.corpus)
        print(f"wrote {n} documents to {args.output}", file=sys.stderr)
    else:
        _apply(args)


if __name__ == "__main__":
    main()
