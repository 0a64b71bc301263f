"""Turn the hand-labelling batches into the project's standoff annotation records.

The batches (passage references + the annotators' labels) were produced
outside the repository so that no corpus text is committed; this script keeps
only references (doc_id, passage_id, fingerprint, offsets) plus labels.

Usage:
    .venv/bin/python scripts/import_labelling.py /path/to/labelling annotations/
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cocreation_nlp.annotate.records import AnnotationRecord, write_records  # noqa: E402
from cocreation_nlp.codebook import LABELS, load_codebook  # noqa: E402


def _items(root: Path) -> dict[str, dict]:
    items = {}
    for f in sorted((root / "batches").glob("*.jsonl")):
        if f.name.startswith("adjudicate"):
            continue
        for line in f.open(encoding="utf-8"):
            d = json.loads(line)
            items[d["passage_id"]] = d
    return items


def _record(
    item: dict, labels: list[str], annotator: str, when: str, *, gold: bool = False, comment: str = ""
) -> AnnotationRecord:
    return AnnotationRecord(
        doc_id=item["doc_id"],
        passage_id=item["passage_id"],
        fingerprint=item["fingerprint"],
        start_char=item["start_char"],
        end_char=item["end_char"],
        labels=[label for label in LABELS if label in labels],
        annotator=annotator,
        created_at=when,
        codebook_version=load_codebook().version,
        comment=comment,
        gold=gold,
    )


def main() -> None:
    root, out = Path(sys.argv[1]), Path(sys.argv[2])
    items = _items(root)
    stamp = {
        f: datetime.fromtimestamp(f.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for f in (root / "out").glob("*.jsonl")
    }
    groups: dict[str, list[AnnotationRecord]] = {"pass1": [], "pass2": [], "adjudicated": []}
    for f in sorted((root / "out").glob("*.jsonl")):
        for line in f.open(encoding="utf-8"):
            d = json.loads(line)
            item = items[d["passage_id"]]
            if f.name.startswith("batch_"):
                groups["pass1"].append(
                    _record(item, d["labels"], f"ann-b{f.stem[-2:]}", stamp[f], comment=d.get("note", ""))
                )
            elif f.name.startswith("second_"):
                groups["pass2"].append(
                    _record(item, d["labels"], f"ann-s{f.stem[-2:]}", stamp[f], comment=d.get("note", ""))
                )
            elif f.name.startswith("adjudicated"):
                groups["adjudicated"].append(
                    _record(item, d["labels"], "reviewer", stamp[f], gold=True, comment=d.get("reason", ""))
                )
    out.mkdir(parents=True, exist_ok=True)
    for name, recs in groups.items():
        recs.sort(key=lambda r: (r.doc_id, r.start_char or 0))
        write_records(recs, out / f"{name}.jsonl")
        print(f"{name}: {len(recs)} records")


if __name__ == "__main__":
    main()
