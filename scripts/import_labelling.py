"""Turn hand-labelling batches into the project's standoff annotation records.

The batches (passage references + text, written outside the repository so that no corpus text is
committed) and the annotators' answers live in a labelling folder::

    batches/<name>.jsonl   one passage per line: item, doc_id, passage_id, fingerprint, offsets, text ...
    out/<name>.jsonl       one answer per line: item, passage_id, labels, note (or reason)

This script keeps only references (doc_id, passage_id, fingerprint, offsets) plus labels, the
annotator and the note, and merges them into ``annotations/``:

- ``op_*`` / ``ps_*`` (first-pass batches)      -> ``pass1.jsonl``, annotator ``ann-<batch>``
- ``second_*`` (blind second pass)               -> ``pass2.jsonl``, annotator ``ann-<batch>``
- ``adjudicate_*`` (a reviewer)                 -> ``adjudicated.jsonl`` (gold, the reason as comment)
- ``audit_*`` (annotator ``auditor``)             -> ``adjudicated.jsonl`` (gold; later than an adjudication, so it wins)

Answers are checked against their batch (same item and passage id, known labels) and a batch whose
answers are incomplete is refused, naming the file. Re-importing the same batch replaces its records.

Usage:
    .venv/bin/python scripts/import_labelling.py /path/to/labelling annotations/ [--only ps_01 ps_02]
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cocreation_nlp.annotate.records import AnnotationRecord, read_records, write_records  # noqa: E402
from cocreation_nlp.codebook import LABELS, load_codebook  # noqa: E402

TARGETS = (("adjudicate_", "adjudicated"), ("audit_", "adjudicated"), ("second_", "pass2"), ("", "pass1"))


def target_of(name: str) -> str:
    """Which annotation file a batch's answers belong to."""
    return next(t for prefix, t in TARGETS if name.startswith(prefix))


def load_batch(root: Path, name: str) -> list[AnnotationRecord]:
    """The records of one answered batch; raises SystemExit naming the file when anything is off."""
    items = {}
    for line in (root / "batches" / f"{name}.jsonl").open(encoding="utf-8"):
        d = json.loads(line)
        items[d["item"]] = d
    out_file = root / "out" / f"{name}.jsonl"
    answers = [json.loads(line) for line in out_file.open(encoding="utf-8") if line.strip()]
    by_item = {a["item"]: a for a in answers}
    if len(by_item) != len(answers) or set(by_item) != set(items):
        missing = sorted(set(items) - set(by_item))[:10]
        raise SystemExit(
            f"{out_file}: {len(by_item)} answers for {len(items)} items (missing e.g. {missing})"
        )
    when = datetime.fromtimestamp(out_file.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    target = target_of(name)
    # Audits are a later, separate review: their own annotator id, so an audit never replaces (on
    # re-import) the adjudication record of the same passage; the later gold record wins in training.
    annotator = (
        "auditor"
        if name.startswith("audit_")
        else "reviewer"
        if target == "adjudicated"
        else f"ann-{name.replace('_', '')}"
    )
    records = []
    for k, item in sorted(items.items()):
        a = by_item[k]
        if a["passage_id"] != item["passage_id"]:
            raise SystemExit(
                f"{out_file}: item {k} answers {a['passage_id']}, batch has {item['passage_id']}"
            )
        unknown = set(a["labels"]) - set(LABELS)
        if unknown:
            raise SystemExit(f"{out_file}: item {k} has unknown labels {sorted(unknown)}")
        records.append(
            AnnotationRecord(
                doc_id=item["doc_id"],
                passage_id=item["passage_id"],
                fingerprint=item["fingerprint"],
                start_char=item["start_char"],
                end_char=item["end_char"],
                labels=[label for label in LABELS if label in a["labels"]],
                annotator=annotator,
                created_at=when,
                codebook_version=load_codebook().version,
                comment=(a.get("reason") or a.get("note") or "").strip(),
                gold=target == "adjudicated",
            )
        )
    return records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("annotations", type=Path)
    ap.add_argument("--only", nargs="*", help="batch names to import (default: every answered batch)")
    args = ap.parse_args()
    names = args.only or sorted(p.stem for p in (args.root / "out").glob("*.jsonl"))
    new: dict[str, list[AnnotationRecord]] = {}
    for name in names:
        new.setdefault(target_of(name), []).extend(load_batch(args.root, name))
    for target, recs in new.items():
        path = args.annotations / f"{target}.jsonl"
        # Re-importing a batch replaces its records: same annotator, same passage.
        fresh = {(r.annotator, r.doc_id, r.passage_id) for r in recs}
        kept = [
            r
            for r in (read_records(path) if path.exists() else [])
            if (r.annotator, r.doc_id, r.passage_id) not in fresh
        ]
        merged = kept + recs
        merged.sort(key=lambda r: (r.doc_id, r.start_char or 0, r.annotator))
        write_records(merged, path)
        print(f"{target}: +{len(recs)} records ({len(merged)} in {path})")


if __name__ == "__main__":
    main()
