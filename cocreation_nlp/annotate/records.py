"""Annotation records: the exchange format between the annotation store, other tools and training.

One :class:`AnnotationRecord` is one annotator's current decision on one
passage, self-contained like a Prodigy JSONL line: it names the passage by
``doc_id`` + character offsets + text ``fingerprint`` (so a passage whose text
changed after re-segmentation is caught), says who decided what and when, and
carries the earlier versions of the decision in ``history``. The SQLite store
is the store of record; the three file formats here are for exchange, and a
write/read round trip through any of them loses nothing:

* **JSONL** (``.jsonl``): one record per line, exactly the model's fields.
* **CSV** (``.csv``, RFC 4180, UTF-8): one record per row, a ``labels``
  column (``;``-joined, the source of truth) plus one 0/1 column per
  codebook label for spreadsheets, and ``history`` as a JSON string.
* **Label Studio JSON** (``.json``): a list of Label Studio tasks, one per
  passage, each annotation a ``choices`` result; our fields Label Studio has
  no place for (annotator name, codebook version, comment, flag, history)
  ride in the annotation's ``meta``. :func:`label_studio_config` returns the
  matching labelling config. Genuine Label Studio exports (no passage ids,
  any Choices name, one task object) are mapped by :mod:`.label_studio`.

``lead_time`` is the seconds a version of a decision took the annotator, as
the web app measures it in the browser (Label Studio's field of the same
name); ``None`` where it was not measured (decisions made through the API or
imported from files that lack it). Each history entry keeps its own.

Every reader validates labels against the codebook and names the file and
line (or task) of a bad record.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..codebook import load_codebook
from ..errors import AnnotationError
from ..formulas import restore
from ..tables import csv_text
from .label_studio import LabelStudioMapping, dumps_label_studio, map_tasks
from .label_studio import label_studio_config as label_studio_config

# Names and times have their own module; these names stay importable from here too.
from .provenance import clean_name as clean_name
from .provenance import format_time as format_time
from .provenance import normalize_annotator as normalize_annotator
from .provenance import normalize_time as normalize_time
from .provenance import utc_now as utc_now

SCHEMA_VERSION = 1
"""Version of the record format. Bump it on any change of meaning and keep a reader for the old one."""

RecordFormat = Literal["jsonl", "csv", "label-studio"]
FORMATS: tuple[str, ...] = ("jsonl", "csv", "label-studio")

CSV_COLUMNS: tuple[str, ...] = (
    "schema_version",
    "doc_id",
    "passage_id",
    "fingerprint",
    "start_char",
    "end_char",
    "annotator",
    "created_at",
    "codebook_version",
    "labels",
    "comment",
    "flagged",
    "skipped",
    "gold",
    "lead_time",
    "history",
    "text",
)
"""Fixed column order of the CSV format; one 0/1 column per codebook label follows ``labels``."""

LABEL_SEPARATOR = ";"


def _check_labels(value: list[str]) -> list[str]:
    codebook = load_codebook()
    unknown = sorted(set(value) - set(codebook.label_names))
    if unknown:
        raise ValueError(
            f"unknown label(s) {', '.join(map(repr, unknown))}; "
            f"codebook {codebook.version} labels: {', '.join(codebook.label_names)}"
        )
    # Codebook order, no duplicates: two records with the same decision compare equal.
    return [name for name in codebook.label_names if name in set(value)]


class HistoryEntry(BaseModel):
    """An earlier version of a decision, kept when the annotator corrected it.

    ``created_at`` is when that version was made; it was replaced by the next
    entry, or by the record itself for the last entry.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    labels: list[str]
    created_at: str
    codebook_version: str
    comment: str = ""
    flagged: bool = False
    skipped: bool = False
    reviewer: str | None = Field(
        default=None, description="For gold labels: who decided this earlier version."
    )
    lead_time: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="Seconds this version took the annotator."
    )

    @field_validator("labels")
    @classmethod
    def _known_labels(cls, value: list[str]) -> list[str]:
        return _check_labels(value)

    @field_validator("created_at")
    @classmethod
    def _utc_time(cls, value: str) -> str:
        return normalize_time(value)

    @field_validator("reviewer")
    @classmethod
    def _clean_reviewer(cls, value: str | None) -> str | None:
        return None if value is None else clean_name(value)


class AnnotationRecord(BaseModel):
    """One annotator's current decision on one passage.

    ``labels`` are the accepted labels in codebook order; ``[]`` means the
    annotator looked and none applies. A ``skipped`` record means the
    annotator declined to decide: it is not a "none apply" and training and
    agreement must leave it out. ``gold`` marks an adjudicated label, whose
    ``annotator`` is the reviewer.
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    doc_id: str = Field(min_length=1)
    passage_id: str = Field(min_length=1)
    fingerprint: str
    start_char: int | None = None
    end_char: int | None = None
    labels: list[str]
    annotator: str = Field(min_length=1)
    created_at: str = Field(description="When this version of the decision was made, ISO 8601 UTC.")
    codebook_version: str
    comment: str = ""
    flagged: bool = False
    skipped: bool = False
    gold: bool = False
    lead_time: float | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description="Seconds this version of the decision took the annotator (browser-measured), if known.",
    )
    history: list[HistoryEntry] = Field(default_factory=list)
    text: str | None = None

    @field_validator("labels")
    @classmethod
    def _known_labels(cls, value: list[str]) -> list[str]:
        return _check_labels(value)

    @field_validator("created_at")
    @classmethod
    def _utc_time(cls, value: str) -> str:
        return normalize_time(value)

    @field_validator("annotator")
    @classmethod
    def _clean_name(cls, value: str) -> str:
        return clean_name(value)

    @field_validator("text")
    @classmethod
    def _no_empty_text(cls, value: str | None) -> str | None:
        # A passage never has empty text; reading "" as "no text" keeps CSV round trips exact.
        return value or None

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(
                f"schema_version {value} is not supported; this release reads version {SCHEMA_VERSION}"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AnnotationRecord:
        if self.gold and self.skipped:
            raise ValueError("a gold label cannot be skipped; give the adjudicated labels ([] for none)")
        if not self.gold and any(h.reviewer is not None for h in self.history):
            raise ValueError(
                "history 'reviewer' is only for gold records; a decision's history is its annotator's"
            )
        if self.gold and any(h.reviewer == self.annotator for h in self.history):
            # Canonical form: a reviewer is named only where it differs from the record's.
            self.history = [
                h.model_copy(update={"reviewer": None}) if h.reviewer == self.annotator else h
                for h in self.history
            ]
        if (self.start_char is None) != (self.end_char is None):
            raise ValueError("start_char and end_char must be given together")
        if (
            self.start_char is not None
            and self.end_char is not None
            and not 0 <= self.start_char <= self.end_char
        ):
            raise ValueError(
                f"offsets must satisfy 0 <= start_char <= end_char; got {self.start_char}, {self.end_char}"
            )
        return self


def _wrap(err: ValidationError | ValueError, where: str) -> AnnotationError:
    """Turn a validation error into an AnnotationError naming the file and line."""
    if isinstance(err, ValidationError):
        parts = []
        for item in err.errors():
            loc = ".".join(str(p) for p in item["loc"]) or "record"
            msg = str(item["msg"]).removeprefix("Value error, ")
            parts.append(f"{loc}: {msg}")
        detail = "; ".join(parts)
    else:
        detail = str(err)
    return AnnotationError(f"{where}: {detail}")


def parse_record(data: Any, *, where: str = "record") -> AnnotationRecord:
    """Validate one record, raising :class:`AnnotationError` that names ``where``."""
    if not isinstance(data, dict):
        raise AnnotationError(f"{where}: expected a JSON object, got {type(data).__name__}")
    try:
        return AnnotationRecord.model_validate(data)
    except ValidationError as err:
        raise _wrap(err, where) from err


# --------------------------------------------------------------------------- JSONL


def history_json(entry: HistoryEntry) -> dict[str, Any]:
    """A history entry as a JSON-ready dict (``reviewer`` left out where it does not apply)."""
    return entry.model_dump(mode="json", exclude_none=True)


def record_json(record: AnnotationRecord) -> dict[str, Any]:
    """A record as a JSON-ready dict: one JSONL line."""
    data = record.model_dump(mode="json")
    data["history"] = [history_json(h) for h in record.history]
    return data


def dumps_jsonl(records: Iterable[AnnotationRecord]) -> str:
    """Serialise records as JSONL text (one record per line, UTF-8, not ASCII-escaped)."""
    return "".join(json.dumps(record_json(r), ensure_ascii=False) + "\n" for r in records)


def iter_jsonl(path: Path) -> Iterator[AnnotationRecord]:
    """Read records from a JSONL file, naming the file and line of any bad record.

    Raises:
        AnnotationError: on malformed JSON, unknown fields or unknown labels.
    """
    with path.open(encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as err:
                raise AnnotationError(f"{where}: not valid JSON ({err.msg} at column {err.colno})") from err
            yield parse_record(data, where=where)


# --------------------------------------------------------------------------- CSV


def _flag(value: str, column: str, where: str) -> bool:
    text = value.strip().lower()
    if text in {"1", "true", "yes"}:
        return True
    if text in {"", "0", "false", "no"}:
        return False
    raise AnnotationError(f"{where}: column {column!r} must be 0 or 1, got {value!r}")


def _csv_columns() -> list[str]:
    names = list(load_codebook().label_names)
    at = CSV_COLUMNS.index("labels") + 1
    return [*CSV_COLUMNS[:at], *names, *CSV_COLUMNS[at:]]


def dumps_csv(records: Iterable[AnnotationRecord], *, raw: bool = False) -> str:
    """Serialise records as CSV text with the fixed column order of :data:`CSV_COLUMNS`.

    A record without text gets an empty ``text`` cell, which reads back as
    ``None``; this is lossless because a passage never has empty text. Text
    and comments a spreadsheet would run as formulas are marked (see
    :mod:`cocreation_nlp.tables`) unless ``raw``; :func:`iter_csv` undoes the mark.
    """
    names = load_codebook().label_names
    rows = []
    for rec in records:
        row: dict[str, Any] = {
            "schema_version": rec.schema_version,
            "doc_id": rec.doc_id,
            "passage_id": rec.passage_id,
            "fingerprint": rec.fingerprint,
            "start_char": "" if rec.start_char is None else rec.start_char,
            "end_char": "" if rec.end_char is None else rec.end_char,
            "annotator": rec.annotator,
            "created_at": rec.created_at,
            "codebook_version": rec.codebook_version,
            "labels": LABEL_SEPARATOR.join(rec.labels),
            "comment": rec.comment,
            "flagged": int(rec.flagged),
            "skipped": int(rec.skipped),
            "gold": int(rec.gold),
            "lead_time": "" if rec.lead_time is None else repr(rec.lead_time),
            "history": json.dumps([history_json(h) for h in rec.history], ensure_ascii=False)
            if rec.history
            else "",
            "text": rec.text if rec.text is not None else "",
        }
        for name in names:
            row[name] = int(name in rec.labels)
        rows.append(row)
    # RFC 4180 line ends (the table writer's): with "\r\n" as terminator the writer quotes
    # any field holding a lone "\r", which would otherwise split the row on reading.
    return csv_text(_csv_columns(), rows, raw=raw)


def iter_csv(path: Path) -> Iterator[AnnotationRecord]:
    """Read records from a CSV written by :func:`dumps_csv` (or edited in a spreadsheet).

    The ``labels`` column is the source of truth. When the per-label 0/1
    columns are present too they must agree with it: a spreadsheet edit of
    only one of them would otherwise be silently lost.

    Raises:
        AnnotationError: naming the file and line of a malformed row.
    """
    names = load_codebook().label_names
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        required = ("doc_id", "passage_id", "annotator", "created_at", "labels")
        missing = [c for c in required if c not in fields]
        if missing:
            raise AnnotationError(
                f"{path}:1: missing column(s) {', '.join(missing)}. "
                f"An annotation CSV needs at least {', '.join(required)}."
            )
        known = set(_csv_columns())
        extra = [c for c in fields if c not in known]
        if extra:
            raise AnnotationError(
                f"{path}:1: unknown column(s) {', '.join(extra)}. Allowed: {', '.join(_csv_columns())}."
            )
        for lineno, marked in enumerate(reader, start=2):
            where = f"{path}:{lineno}"
            if None in marked:
                raise AnnotationError(f"{where}: more cells than header columns")
            row = {k: restore(v) if isinstance(v, str) else v for k, v in marked.items()}
            raw_labels = [x.strip() for x in (row.get("labels") or "").split(LABEL_SEPARATOR) if x.strip()]
            for name in names:
                if name in row and row[name] not in (None, ""):
                    if _flag(row[name], name, where) != (name in raw_labels):
                        raise AnnotationError(
                            f"{where}: column {name!r} says {row[name]} but 'labels' is {row.get('labels')!r}; "
                            "make them agree ('labels' is the source of truth)"
                        )
            try:
                history = json.loads(row["history"]) if row.get("history") else []
            except json.JSONDecodeError as err:
                raise AnnotationError(f"{where}: column 'history' is not valid JSON ({err.msg})") from err

            def _float(column: str, row: dict[str, str] = row, where: str = where) -> float | None:
                value = (row.get(column) or "").strip()
                if not value:
                    return None
                try:
                    return float(value)
                except ValueError as err:
                    raise AnnotationError(
                        f"{where}: column {column!r} must be a number, got {value!r}"
                    ) from err

            def _int(column: str, row: dict[str, str] = row, where: str = where) -> int | None:
                value = (row.get(column) or "").strip()
                if not value:
                    return None
                try:
                    return int(value)
                except ValueError as err:
                    raise AnnotationError(
                        f"{where}: column {column!r} must be an integer, got {value!r}"
                    ) from err

            data: dict[str, Any] = {
                "schema_version": _int("schema_version") or SCHEMA_VERSION,
                "doc_id": row["doc_id"],
                "passage_id": row["passage_id"],
                "fingerprint": row.get("fingerprint") or "",
                "start_char": _int("start_char"),
                "end_char": _int("end_char"),
                "labels": raw_labels,
                "annotator": row["annotator"],
                "created_at": row["created_at"],
                "codebook_version": row.get("codebook_version") or "",
                "comment": row.get("comment") or "",
                "flagged": _flag(row.get("flagged") or "", "flagged", where),
                "skipped": _flag(row.get("skipped") or "", "skipped", where),
                "gold": _flag(row.get("gold") or "", "gold", where),
                "lead_time": _float("lead_time"),
                "history": history,
                "text": row.get("text") or None,
            }
            yield parse_record(data, where=where)


# --------------------------------------------------------------------------- Label Studio


def iter_label_studio(path: Path, *, mapping: LabelStudioMapping | None = None) -> Iterator[AnnotationRecord]:
    """Read records from a Label Studio JSON export (genuine, or from :func:`dumps_label_studio`).

    Tasks without passage ids are mapped as :mod:`.label_studio` describes;
    ``mapping`` supplies the known passages, the document to create passages
    under, and the other choices a genuine export may need.

    Raises:
        AnnotationError: naming the file and the task/annotation of a bad or unmappable record.
    """
    try:
        payload = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as err:
        raise AnnotationError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from err
    except UnicodeDecodeError as err:
        raise AnnotationError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from err
    except RecursionError as err:
        raise AnnotationError(f"{path}: JSON nested too deeply to be a Label Studio export") from err
    for where, fields in map_tasks(payload, source=str(path), mapping=mapping):
        yield parse_record(fields, where=where)


# --------------------------------------------------------------------------- dispatch


def guess_format(path: Path) -> RecordFormat:
    """Pick the format from the file suffix: ``.jsonl``/``.ndjson``, ``.csv``, or ``.json`` (Label Studio).

    Raises:
        AnnotationError: for any other suffix.
    """
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson"}:
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    if suffix == ".json":
        return "label-studio"
    raise AnnotationError(
        f"Cannot tell the format of {path} from its suffix {suffix!r}. "
        "Use .jsonl (records), .csv, or .json (Label Studio), or pass the format explicitly."
    )


def read_records(
    path: Path, *, fmt: RecordFormat | None = None, mapping: LabelStudioMapping | None = None
) -> list[AnnotationRecord]:
    """Read every record of an annotation file in any supported format.

    ``mapping`` tells how to map a genuine Label Studio export's tasks onto
    passages (see :mod:`.label_studio`); the other formats name their passages.

    Raises:
        AnnotationError: naming the file and line of the first bad record.
    """
    fmt = fmt or guess_format(path)
    try:
        if fmt == "jsonl":
            return list(iter_jsonl(path))
        if fmt == "csv":
            return list(iter_csv(path))
        if fmt == "label-studio":
            return list(iter_label_studio(path, mapping=mapping))
    except UnicodeDecodeError as err:
        raise AnnotationError(
            f"{path}: not UTF-8 text (byte 0x{err.object[err.start]:02x} at position {err.start}); "
            "re-save the file as UTF-8"
        ) from err
    except csv.Error as err:
        raise AnnotationError(f"{path}: malformed CSV ({err})") from err
    except RecursionError as err:
        raise AnnotationError(f"{path}: JSON nested too deeply to be annotation records") from err
    raise AnnotationError(f"Unknown format {fmt!r}. Available: {', '.join(FORMATS)}.")


def dumps_records(records: Sequence[AnnotationRecord], fmt: RecordFormat, *, raw_csv: bool = False) -> str:
    """Serialise records in ``fmt`` (``jsonl``, ``csv`` or ``label-studio``); ``raw_csv``: see :func:`dumps_csv`."""
    if fmt == "jsonl":
        return dumps_jsonl(records)
    if fmt == "csv":
        return dumps_csv(records, raw=raw_csv)
    if fmt == "label-studio":
        return dumps_label_studio(records)
    raise AnnotationError(f"Unknown format {fmt!r}. Available: {', '.join(FORMATS)}.")


def write_records(
    records: Sequence[AnnotationRecord], path: Path, *, fmt: RecordFormat | None = None, raw_csv: bool = False
) -> int:
    """Write records to ``path`` atomically (a temporary file, then a rename); return the count.

    Writing through a temporary file means a crash never leaves a half-written
    export where the last good one was.
    """
    fmt = fmt or guess_format(path)
    text = dumps_records(records, fmt, raw_csv=raw_csv)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    tmp.replace(path)
    return len(records)
