"""``cocreation summarize``: per-group statistics of the document scores, as a tidy table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .errors import InputError
from .formulas import restore
from .score import FLAGS, SCORES
from .tables import restore_frame, write_csv

SUMMARY_COLUMNS: tuple[str, ...] = (
    "score",
    "n_documents",
    "n_defined",
    "n_undefined",
    "mean",
    "median",
    "std",
    "q25",
    "q75",
    "min",
    "max",
)


def summarize(out_dir: Path, by: Sequence[str] = ()):  # noqa: ANN201 - pandas.DataFrame
    """Summarise ``documents.csv`` of a score run by groups.

    One row per group and score (tidy): the number of documents, of defined
    and undefined values, and the mean, median, standard deviation,
    quartiles and range of the defined values. The risk flags are summarised
    as shares (mean of 0/1 over documents where the flag is defined).

    Raises:
        InputError: when the run folder has no documents.csv or a grouping column is unknown.
    """
    import pandas as pd

    path = out_dir / "documents.csv" if out_dir.is_dir() else out_dir
    if not path.exists():
        raise InputError(str(path), "no documents.csv here: run `cocreation score` first", kind="missing")
    df = restore_frame(pd.read_csv(path, dtype={"year": "string", "doc_id": "string"}))
    df.columns = [restore(str(c)) for c in df.columns]
    unknown = [c for c in by if c not in df.columns]
    if unknown:
        raise InputError(
            str(path),
            f"unknown grouping column(s) {', '.join(unknown)}; available: {', '.join(df.columns[:10])}, ...",
            kind="bad-column",
        )
    rows = []
    groups = df.groupby(list(by), dropna=False, sort=True) if by else [((), df)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        for score in (*SCORES, *FLAGS):
            vals = pd.to_numeric(g[score], errors="coerce")
            defined = vals.dropna()
            row = dict(zip(by, key, strict=False))
            row.update(
                score=score,
                n_documents=len(g),
                n_defined=int(defined.size),
                n_undefined=int(vals.isna().sum()),
                mean=defined.mean() if defined.size else None,
                median=defined.median() if defined.size else None,
                std=defined.std(ddof=1) if defined.size > 1 else None,
                q25=defined.quantile(0.25) if defined.size else None,
                q75=defined.quantile(0.75) if defined.size else None,
                min=defined.min() if defined.size else None,
                max=defined.max() if defined.size else None,
            )
            rows.append(row)
    return pd.DataFrame(rows, columns=[*by, *SUMMARY_COLUMNS])


def write_summary(out_dir: Path, output: Path, by: Sequence[str] = (), *, raw_csv: bool = False) -> int:
    """Write the summary CSV atomically; return its number of rows (``raw_csv``: see :mod:`.tables`)."""
    df = summarize(out_dir, by)
    # Missing values (NaN, pandas' NA in grouping columns) become None, which the writer leaves empty.
    clean = df.astype(object).where(df.notna(), None)
    return write_csv(output, [str(c) for c in df.columns], clean.to_dict("records"), raw=raw_csv)
