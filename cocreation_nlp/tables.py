"""Reading and writing tables: the one CSV writer, typed Parquet, and CSV/JSONL readers.

Every CSV the toolkit writes (the tables of ``parse``, ``score``,
``classify``, ``summarize``, ``evaluate``, annotation exports) goes through
:func:`csv_cells`, which renders one row's cells, so a rule about cell
contents is made in one place. The one rule so far: a text cell that a
spreadsheet would run as a formula (it begins with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) gets a leading ``'``, the OWASP
convention (:mod:`.formulas`), unless ``raw=True`` (``--raw-csv``); Parquet
keeps text exactly. The readers here (:func:`read_rows`,
:func:`restore_frame`) undo the mark, so a CSV written by one command reads
back unchanged in the next. Files are
written atomically (temporary file + rename): an interrupted run never
leaves a half-written table and never destroys an earlier one.

This module knows no column names: the layouts live in :mod:`.export`
(analysts' tables) and in the modules that own a format (annotation records).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from .atomic import atomic_open, atomic_path
from .errors import InputError
from .formulas import neutralise, restore

Kind = Literal["str", "int", "float", "bool"]


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: its name and the type its values have (``None``: empty) in Parquet."""

    name: str
    kind: Kind = "str"


def names(columns: Sequence[Column]) -> list[str]:
    """The names of ``columns``, in order."""
    return [c.name for c in columns]


def csv_cells(row: Mapping[str, Any], columns: Sequence[str], *, raw: bool = False) -> list[Any]:
    """Render one row's cells for CSV, in column order: the single place cell values are shaped.

    ``None`` and NaN become an empty cell; a missing column is empty too; a
    text cell that would run as a spreadsheet formula gets a leading ``'``
    (not with ``raw``). Numbers are never touched.

    Example:
        >>> csv_cells({"a": None, "b": 1.5, "c": float("nan"), "d": "=1+1", "e": -2}, ["a", "b", "c", "d", "e", "f"])
        ['', 1.5, '', "'=1+1", -2, '']
    """
    out: list[Any] = []
    for name in columns:
        value = row.get(name)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            value = ""
        elif not raw:
            value = neutralise(value)
        out.append(value)
    return out


def write_csv_rows(
    fh: IO[str], columns: Sequence[str], rows: Iterable[Mapping[str, Any]], *, raw: bool = False
) -> int:
    """Write a header and ``rows`` as CSV (RFC 4180 line ends) to an open text file; return the row count."""
    writer = csv.writer(fh, lineterminator="\r\n")
    writer.writerow([neutralise(c) if not raw else c for c in columns])
    n = 0
    for row in rows:
        writer.writerow(csv_cells(row, columns, raw=raw))
        n += 1
    return n


def write_csv(
    path: str | Path, columns: Sequence[str], rows: Iterable[Mapping[str, Any]], *, raw: bool = False
) -> int:
    """Write a CSV file atomically; return the number of rows. ``raw``: leave formula-like cells as they are."""
    with atomic_open(path) as fh:
        return write_csv_rows(fh, columns, rows, raw=raw)


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]], *, raw: bool = False) -> str:
    """The CSV of ``rows`` as a string (for a download).

    Example:
        >>> csv_text(["a", "b"], [{"a": 1, "b": "x,y"}])
        'a,b\\r\\n1,"x,y"\\r\\n'
    """
    buf = io.StringIO()
    write_csv_rows(buf, columns, rows, raw=raw)
    return buf.getvalue()


class CsvSink:
    """A CSV file written row by row (for tables too large to hold in memory); open with ``with``."""

    def __init__(self, fh: IO[str], columns: Sequence[str], *, raw: bool = False) -> None:
        self._columns = list(columns)
        self._raw = raw
        self._writer = csv.writer(fh, lineterminator="\r\n")
        self._writer.writerow([neutralise(c) if not raw else c for c in self._columns])
        self.n_rows = 0

    def write(self, row: Mapping[str, Any]) -> None:
        """Append one row."""
        self._writer.writerow(csv_cells(row, self._columns, raw=self._raw))
        self.n_rows += 1


def arrow_schema(columns: Sequence[Column]):  # noqa: ANN201 - pyarrow.Schema, imported lazily
    """The Parquet schema of ``columns``: declared types, every column nullable."""
    import pyarrow as pa

    types = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
    return pa.schema([pa.field(c.name, types[c.kind], nullable=True) for c in columns])


class ParquetSink:
    """A Parquet file written from row dicts in batches, with the declared column types."""

    BATCH = 20_000

    def __init__(self, path: Path, columns: Sequence[Column]) -> None:
        import pyarrow.parquet as pq

        self._columns = list(columns)
        self._schema = arrow_schema(columns)
        self._writer = pq.ParquetWriter(str(path), self._schema)
        self._batch: list[Mapping[str, Any]] = []
        self.n_rows = 0

    def write(self, row: Mapping[str, Any]) -> None:
        """Append one row (values of the declared type, or ``None``)."""
        self._batch.append(row)
        self.n_rows += 1
        if len(self._batch) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._batch:
            cols = {
                c.name: [_parquet_value(r.get(c.name), c.kind) for r in self._batch] for c in self._columns
            }
            self._writer.write_table(pa.Table.from_pydict(cols, schema=self._schema))
            self._batch = []

    def close(self) -> None:
        """Write what is left and the file footer."""
        self._flush()
        self._writer.close()


def _parquet_value(value: Any, kind: Kind) -> Any:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    return value if isinstance(value, str) else str(value)


def write_parquet(path: str | Path, columns: Sequence[Column], rows: Iterable[Mapping[str, Any]]) -> int:
    """Write a Parquet file atomically with the declared column types; return the number of rows."""
    with atomic_path(path) as tmp:
        sink = ParquetSink(tmp, columns)
        try:
            for row in rows:
                sink.write(row)
        finally:
            sink.close()
    return sink.n_rows


# ----------------------------------------------------------------------------- reading


def restore_frame(df):  # noqa: ANN001, ANN201 - a pandas DataFrame, imported by the caller
    """Undo the formula mark (:func:`.formulas.restore`) in every text cell of a DataFrame read from CSV."""
    import pandas as pd
    from pandas.api.types import is_object_dtype, is_string_dtype

    for column in df.columns:
        series = df[column]
        if not (is_object_dtype(series) or is_string_dtype(series)):
            continue
        values = series.tolist()
        if any(isinstance(v, str) and v.startswith("'") for v in values):
            # Rebuilt with the column's own dtype: pandas' map() would turn an all-empty column into nulls.
            restored = [restore(v) if isinstance(v, str) else v for v in values]
            df[column] = pd.Series(restored, index=df.index, dtype=series.dtype)
    return df


def read_rows(path: str | Path) -> Iterator[dict[str, Any]]:
    """Rows of a CSV (all values strings) or JSONL file (values as JSON gives them) as dicts.

    CSV cells have the formula mark of :func:`csv_cells` undone; JSONL is read as it is.

    Raises:
        InputError: for another suffix, undecodable bytes or malformed JSON, naming the file and line.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                for lineno, row in enumerate(reader, start=2):
                    if None in row:
                        raise InputError(
                            f"{path}:{lineno}", "more cells than header columns", kind="bad-table"
                        )
                    yield {restore(k): restore(v) if isinstance(v, str) else v for k, v in row.items()}
        elif suffix in {".jsonl", ".ndjson"}:
            with path.open(encoding="utf-8-sig") as fh:
                for lineno, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as err:
                        raise InputError(
                            f"{path}:{lineno}", f"not valid JSON ({err.msg})", kind="bad-json"
                        ) from err
                    if not isinstance(row, dict):
                        raise InputError(
                            f"{path}:{lineno}", "expected a JSON object per line", kind="bad-json"
                        )
                    yield row
        else:
            raise InputError(
                str(path),
                f"unsupported table {suffix or '(no extension)'}: give a .csv or .jsonl file",
                kind="unsupported",
            )
    except UnicodeDecodeError as err:
        raise InputError(
            str(path), f"not UTF-8 ({err.reason} at byte {err.start})", kind="bad-table"
        ) from err
    except csv.Error as err:
        raise InputError(str(path), f"malformed CSV: {err}", kind="bad-table") from err
