"""Decide a new document's split from its doc_id alone, before anyone reads the document.

One document in four is ``reserved``: those whose SHA-256 of the UTF-8 doc_id,
read as a big integer, is divisible by 4. The rule depends on nothing but the
id, so it can be applied the moment a document is named (before it is opened),
and anyone can check a manifest against it (``--check``). Reserved documents
are parsed and scored like any other but never labelled, never used to choose
settings and never given pseudo-labels.

Usage:
    python scripts/assign_split.py DOC_ID [DOC_ID ...]        # prints doc_id<TAB>split
    python scripts/assign_split.py --check corpora/NAME/manifest.csv
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys


def split_for(doc_id: str) -> str:
    """``reserved`` for one doc_id in four (by hash), else ``train``.

    Example:
        >>> split_for("example-doc")  in ("train", "reserved")
        True
    """
    return "reserved" if int(hashlib.sha256(doc_id.encode("utf-8")).hexdigest(), 16) % 4 == 0 else "train"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="doc_ids to assign")
    parser.add_argument("--check", metavar="MANIFEST", help="check every row's split against the rule")
    args = parser.parse_args(argv)
    if args.check:
        bad = []
        with open(args.check, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row.get("split") != split_for(row["doc_id"]):
                    bad.append(
                        f"{row['doc_id']}: split {row.get('split')!r}, rule says {split_for(row['doc_id'])!r}"
                    )
        print("\n".join(bad) or "all splits follow the rule")
        return 1 if bad else 0
    for doc_id in args.ids:
        print(f"{doc_id}\t{split_for(doc_id)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
