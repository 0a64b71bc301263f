"""Stage 5: the analyst's tables, assembled from cached document records and written atomically.

``passages.csv`` (one row per passage, a probability and a decision column
per label), ``documents.csv`` (one row per document, every score with its
interval, the reason where undefined, the counts behind each ratio and how
they were estimated),
``evidence.csv`` (the passages that drive each score), ``errors.csv`` and,
on request, Parquet copies.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from .atomic import atomic_open, atomic_path
from .codebook import LABELS
from .ingest import Source
from .parse import ERROR_COLUMNS
from .score import FLAGS, SCORES

_PASSAGE_FIELDS: tuple[str, ...] = (
    "doc_id",
    "passage_id",
    "index",
    "page",
    "heading",
    "kind",
    "n_words",
    "start_char",
    "end_char",
    "fingerprint",
    "language",
    "in_scope",
    "scope_reason",
    "text",
)
"""Columns copied as they are from a cached passage record."""
PASSAGE_COLUMNS: tuple[str, ...] = (
    *_PASSAGE_FIELDS,
    *[c for label in LABELS for c in (f"{label}_prob", label)],
    "evidence",
)
META_COLUMNS: tuple[str, ...] = ("file", "title", "publisher", "country", "year", "doc_type")
DOCUMENT_COLUMNS: tuple[str, ...] = (
    "doc_id",
    *META_COLUMNS,
    "manifest_language",
    "format",
    "language",
    "model_covers_language",
    "n_pages",
    "n_passages",
    "n_scored",
    *[c for s in SCORES for c in (s, f"{s}_low", f"{s}_high", f"{s}_reason")],
    *FLAGS,
    *[f"n_{label}" for label in LABELS],
    "n_individual_or_collective",
    "n_individual_or_collective_or_cocreation",
    "n_individual_or_collective_or_cocreation_or_consultation",
    "n_consultation_or_cocreation",
    "count_method",
    "content_sha256",
    "model_id",
)
EVIDENCE_COLUMNS: tuple[str, ...] = (
    "doc_id",
    "score",
    "role",
    "rank",
    "passage_id",
    "page",
    "heading",
    "probability",
    "text",
)


def passage_rows(record: Mapping) -> Iterator[dict]:
    """Flatten a cached document record into passages.csv rows."""
    for p in record["passages"]:
        row = {k: p[k] for k in _PASSAGE_FIELDS}
        row["page"] = "" if p["page"] is None else p["page"]
        for label, prob, dec in zip(LABELS, p["probs"], p["decisions"], strict=True):
            row[f"{label}_prob"] = prob if p["in_scope"] else ""
            row[label] = int(dec) if p["in_scope"] else ""
        row["evidence"] = json.dumps(p["evidence"], ensure_ascii=False) if p["evidence"] else ""
        yield row


def extra_meta_columns(sources: Sequence[Source]) -> list[str]:
    """Manifest columns beyond the standard ones (a corpus's own split, licence, region ...), in manifest order."""
    known = set(DOCUMENT_COLUMNS) | {"language"}
    seen: dict[str, None] = {}
    for src in sources:
        for key in src.meta:
            if key not in known:
                seen.setdefault(key, None)
    return list(seen)


def document_columns(extra: Sequence[str] = ()) -> list[str]:
    """documents.csv columns: the fixed ones, with any extra manifest columns after the standard metadata."""
    cols = list(DOCUMENT_COLUMNS)
    at = cols.index("manifest_language")
    return cols[:at] + list(extra) + cols[at:]


def document_row(record: Mapping, extra: Sequence[str] = ()) -> dict:
    """One documents.csv row from a cached document record."""
    meta = record.get("meta", {})
    s = record["scores"]
    row: dict[str, object] = {"doc_id": record["doc_id"]}
    for col in (*META_COLUMNS, *extra):
        row[col] = meta.get(col, "")
    row["manifest_language"] = meta.get("language", "")
    row["format"] = record["format"]
    row["language"] = record["language"]
    row["model_covers_language"] = record["model_covers_language"]
    row["n_pages"] = "" if record["n_pages"] is None else record["n_pages"]
    row["n_passages"] = s["n_passages"]
    row["n_scored"] = s["n_scored"]
    for name in SCORES:
        v = s["values"][name]
        row[name] = "" if v is None else v
        row[f"{name}_low"] = "" if s["low"][name] is None else s["low"][name]
        row[f"{name}_high"] = "" if s["high"][name] is None else s["high"][name]
        row[f"{name}_reason"] = s["reasons"].get(name, "")
    for flag in FLAGS:
        v = s["flags"][flag]
        row[flag] = "" if v is None else int(v)
    for key, value in s["counts"].items():
        if key in DOCUMENT_COLUMNS:
            row[key] = value
    row["count_method"] = s.get("count_method", "probabilities")
    row["content_sha256"] = record["content_sha256"]
    row["model_id"] = record["model_id"]
    return row


def evidence_rows(record: Mapping) -> Iterator[dict]:
    """The evidence passages of each score, with page and heading for the reader to check."""
    passages = record["passages"]
    for ev in record["scores"]["evidence"]:
        p = passages[ev["passage_index"]]
        yield {
            "doc_id": record["doc_id"],
            "score": ev["score"],
            "role": ev["role"],
            "rank": ev["rank"],
            "passage_id": p["passage_id"],
            "page": "" if p["page"] is None else p["page"],
            "heading": p["heading"],
            "probability": ev["probability"],
            "text": p["text"],
        }


def write_outputs(
    out_dir: Path,
    *,
    sources: Sequence[Source],
    cache_files: Mapping[str, Path],
    failures: Mapping[str, Mapping],
    formats: Sequence[str] = ("csv",),
) -> int:
    """Write every table of a run from the cache; return the number of passages written."""
    from .pipeline import read_cache

    order = sorted(cache_files)
    n_passages = 0
    with (
        atomic_open(out_dir / "passages.csv") as pf,
        atomic_open(out_dir / "documents.csv") as df,
        atomic_open(out_dir / "evidence.csv") as ef,
    ):
        pw = csv.DictWriter(pf, fieldnames=PASSAGE_COLUMNS)
        extra = extra_meta_columns(sources)
        dw = csv.DictWriter(df, fieldnames=document_columns(extra))
        ew = csv.DictWriter(ef, fieldnames=EVIDENCE_COLUMNS)
        pw.writeheader()
        dw.writeheader()
        ew.writeheader()
        # One record in memory at a time: a 10,000-document corpus streams through.
        for doc_id in order:
            record = read_cache(cache_files[doc_id])
            for row in passage_rows(record):
                pw.writerow(row)
                n_passages += 1
            dw.writerow(document_row(record, extra))
            for row in evidence_rows(record):
                ew.writerow(row)
    by_id = {s.doc_id: s for s in sources}
    with atomic_open(out_dir / "errors.csv") as fh:
        w = csv.DictWriter(fh, fieldnames=ERROR_COLUMNS)
        w.writeheader()
        for doc_id in sorted(failures):
            f = failures[doc_id]
            w.writerow(
                {
                    "doc_id": doc_id,
                    "source": f.get("source", str(by_id[doc_id].path)),
                    "error_type": f["error_type"],
                    "message": f["message"],
                }
            )
    if "parquet" in formats:
        write_parquet(out_dir)
    return n_passages


def write_parquet(out_dir: Path) -> None:
    """Parquet copies of the CSV tables (dtypes survive; read with pandas or DuckDB)."""
    import pandas as pd

    for name in ("passages", "documents", "evidence", "errors"):
        csv_path = out_dir / f"{name}.csv"
        df = pd.read_csv(csv_path, keep_default_na=True, dtype={"doc_id": "string", "passage_id": "string"})
        with atomic_path(out_dir / f"{name}.parquet") as tmp:
            df.to_parquet(tmp, index=False)


def write_run_record(out_dir: Path, info: dict) -> None:
    """Write ``run.json`` last: its presence marks a completed run."""
    with atomic_open(out_dir / "run.json", newline=None) as fh:
        json.dump(info, fh, indent=2, ensure_ascii=False, default=str)
        fh.write("\n")
