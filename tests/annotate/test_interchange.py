"""Export and import lose nothing: JSONL, CSV and Label Studio JSON, file-level and through the store."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cocreation_nlp.annotate.cli import annotate_app
from cocreation_nlp.annotate.records import (
    SCHEMA_VERSION,
    AnnotationRecord,
    HistoryEntry,
    dumps_records,
    format_time,
    read_records,
    write_records,
)
from cocreation_nlp.annotate.store import AnnotationStore, PassageRow
from cocreation_nlp.codebook import LABELS, load_codebook
from cocreation_nlp.errors import AnnotationError
from cocreation_nlp.types import fingerprint

FORMATS = [("jsonl", "jsonl"), ("csv", "csv"), ("label-studio", "json")]
VERSION = load_codebook().version

# Any text a document or a person could produce: quotes, commas, semicolons,
# newlines, lone carriage returns, HTML, emoji, right-to-left scripts. Only
# surrogates (not encodable) and NUL (never in decoded documents) are left out.
text_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
free_text = st.text(text_chars, max_size=80)
ids = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=20).filter(
    lambda s: s.strip() == s and s
)
names = st.text(st.characters(blacklist_categories=("Cs", "C")), min_size=1, max_size=20).filter(
    lambda s: s.strip() == s and s
)
label_lists = st.lists(st.sampled_from(LABELS), unique=True).map(lambda xs: [n for n in LABELS if n in xs])
# Seconds an answer took (browser-measured), or unknown; any finite non-negative float must survive.
lead_times = st.one_of(
    st.none(), st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False)
)
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))


@st.composite
def history_entries(draw, before: datetime, n_max: int = 3, reviewers: bool = False) -> list[HistoryEntry]:
    n = draw(st.integers(0, n_max))
    gaps = draw(st.lists(st.integers(1, 10**9), min_size=n, max_size=n))
    out, moment = [], before
    for gap in gaps:
        moment = moment - timedelta(microseconds=gap)
        out.append(
            HistoryEntry(
                labels=draw(label_lists),
                created_at=format_time(moment),
                codebook_version=draw(st.sampled_from([VERSION, "1.0"])),
                comment=draw(free_text),
                flagged=draw(st.booleans()),
                skipped=False if reviewers else draw(st.booleans()),
                reviewer=draw(st.one_of(st.none(), names)) if reviewers else None,
                lead_time=draw(lead_times),
            )
        )
    return list(reversed(out))


@st.composite
def records(draw, *, with_text: bool | None = None) -> AnnotationRecord:
    created = draw(moments)
    text = draw(st.text(text_chars, min_size=1, max_size=120)) if with_text is not False else None
    if with_text is None and draw(st.booleans()):
        text = None
    start = draw(st.one_of(st.none(), st.integers(0, 10**6)))
    gold = draw(st.booleans())
    skipped = not gold and draw(st.booleans())
    return AnnotationRecord(
        doc_id=draw(ids),
        passage_id=draw(ids),
        fingerprint=fingerprint(text) if text else draw(st.text("0123456789abcdef", max_size=16)),
        start_char=start,
        end_char=None if start is None else start + draw(st.integers(0, 5000)),
        labels=[] if skipped else draw(label_lists),
        annotator=draw(names),
        created_at=format_time(created),
        codebook_version=draw(st.sampled_from([VERSION, "1.0"])),
        comment=draw(free_text),
        flagged=draw(st.booleans()),
        skipped=skipped,
        gold=gold,
        lead_time=draw(lead_times),
        history=draw(history_entries(created, reviewers=gold)),
        text=text,
    )


# ---------------------------------------------------------------- file level


@pytest.mark.parametrize(("fmt", "suffix"), FORMATS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recs=st.lists(records(), max_size=6))
def test_annotate_roundtrip_file_formats_lose_nothing(tmp_path: Path, fmt: str, suffix: str, recs):
    path = tmp_path / f"records.{suffix}"
    write_records(recs, path, fmt=fmt)  # type: ignore[arg-type]
    back = read_records(path)
    if fmt == "label-studio":
        # Label Studio groups annotations by passage (task): same records, grouped order.
        order = {pid: i for i, pid in reversed(list(enumerate(r.passage_id for r in recs)))}
        recs = sorted(recs, key=lambda r: order[r.passage_id])
    assert back == recs


def test_annotate_roundtrip_timestamps_are_normalised_to_utc():
    rec = AnnotationRecord(
        doc_id="d",
        passage_id="d:1",
        fingerprint="",
        labels=["equity"],
        annotator="ada",
        created_at="2024-05-01T12:00:00+02:00",
        codebook_version=VERSION,
    )
    assert rec.created_at == "2024-05-01T10:00:00.000000Z"
    assert rec.schema_version == SCHEMA_VERSION


# ---------------------------------------------------------------- through the store


def build_project(path: Path) -> AnnotationStore:
    """A project with everything an export must keep: corrections, skips, flags, comments, gold history."""
    store = AnnotationStore(path)
    store.add_passages(
        [
            PassageRow(
                "plan:0-40", "plan", 'Residents "co-design", with; commas\nand lines.', 0, 0, 40, title="Plan"
            ),
            PassageRow(
                "plan:41-80", "plan", "<script>alert('x')</script> ünïcödé 🙂", 1, 41, 80, title="Plan"
            ),
            PassageRow(
                "memo:p0", "memo", "The third sector was left out.\r\nAgain.", 0, title="Memo", page=3
            ),
        ]
    )
    store.save_decision("plan:0-40", "ada", ["cocreation"], comment="first", lead_time=12.5)
    store.save_decision("plan:0-40", "ada", ["cocreation", "individual"], comment="second, with a comma")
    store.save_decision(
        "plan:0-40", "ada", ["individual"], flagged=True, comment='third; "quoted"', lead_time=3.25
    )
    store.save_decision("plan:0-40", "bob", ["individual"], lead_time=0.1 + 0.2)
    store.save_decision("plan:41-80", "ada", [], skipped=True)
    store.save_decision("plan:41-80", "bob", [])
    store.save_decision("memo:p0", "Zoë", ["collective", "equity"], comment="multi\nline")
    store.save_decision("memo:p0", "bob", ["collective"])
    store.set_gold("memo:p0", ["collective"], "rev", comment="hard case 10", lead_time=41.0)
    store.set_gold("memo:p0", ["collective", "equity"], "rev2")
    return store


def table_dump(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    out = {
        "decisions": conn.execute(
            "SELECT passage_id, annotator, labels, comment, flagged, skipped, codebook_version, revision, "
            "created_at, updated_at, lead_time FROM decisions ORDER BY passage_id, annotator"
        ).fetchall(),
        "decision_history": conn.execute(
            "SELECT passage_id, annotator, labels, comment, flagged, skipped, codebook_version, created_at, "
            "replaced_at, lead_time FROM decision_history ORDER BY passage_id, annotator, created_at"
        ).fetchall(),
        "gold": conn.execute(
            "SELECT passage_id, labels, reviewer, comment, flagged, codebook_version, revision, created_at, updated_at, "
            "lead_time FROM gold ORDER BY passage_id"
        ).fetchall(),
        "gold_history": conn.execute(
            "SELECT passage_id, reviewer, labels, comment, flagged, codebook_version, created_at, replaced_at, "
            "lead_time FROM gold_history ORDER BY passage_id, created_at"
        ).fetchall(),
        "passages": conn.execute(
            "SELECT passage_id, doc_id, start_char, end_char, text, fingerprint FROM passages ORDER BY passage_id"
        ).fetchall(),
    }
    conn.close()
    return out


@pytest.mark.parametrize(("fmt", "suffix"), FORMATS)
def test_annotate_roundtrip_store_export_import_export(tmp_path: Path, fmt: str, suffix: str):
    source = build_project(tmp_path / "a.db")
    exported = source.export_records()
    assert len(exported) == 7  # 6 decisions + 1 gold
    path = tmp_path / f"export.{suffix}"
    write_records(exported, path, fmt=fmt)  # type: ignore[arg-type]
    target = AnnotationStore(tmp_path / "b.db")
    result = target.import_file(path)
    assert (result.added, result.passages_added, result.gold) == (7, 3, 1)
    assert target.export_records() == exported
    # Not only the records: every stored row (times, revisions, history) is the same.
    assert table_dump(tmp_path / "b.db") == table_dump(tmp_path / "a.db")
    # The file itself is reproduced byte for byte.
    again = tmp_path / f"again.{suffix}"
    write_records(target.export_records(), again, fmt=fmt)  # type: ignore[arg-type]
    assert again.read_bytes() == path.read_bytes()
    # Importing again changes nothing.
    assert target.import_file(path).unchanged == 7
    assert table_dump(tmp_path / "b.db") == table_dump(tmp_path / "a.db")
    source.close()
    target.close()


def test_annotate_roundtrip_history_details(tmp_path: Path):
    store = build_project(tmp_path / "a.db")
    rec = next(r for r in store.export_records() if r.annotator == "ada" and r.passage_id == "plan:0-40")
    assert rec.labels == ["individual"] and rec.flagged and rec.comment == 'third; "quoted"'
    assert [h.labels for h in rec.history] == [["cocreation"], ["individual", "cocreation"]]
    assert [h.comment for h in rec.history] == ["first", "second, with a comma"]
    assert rec.history[0].created_at < rec.history[1].created_at < rec.created_at
    skipped = next(r for r in store.export_records() if r.annotator == "ada" and r.passage_id == "plan:41-80")
    assert skipped.skipped and skipped.labels == []
    gold = next(r for r in store.export_records() if r.gold)
    assert (gold.annotator, gold.history[0].reviewer, gold.history[0].comment) == (
        "rev2",
        "rev",
        "hard case 10",
    )
    assert [r.gold for r in store.export_records(decisions=False)] == [True]
    assert all(r.text is None for r in store.export_records(include_text=False))


def test_annotate_roundtrip_merging_is_order_independent(tmp_path: Path):
    source = build_project(tmp_path / "a.db")
    recs = source.export_records()
    ada = [r for r in recs if r.annotator == "ada"]
    rest = [r for r in recs if r.annotator != "ada"]
    one, two = AnnotationStore(tmp_path / "one.db"), AnnotationStore(tmp_path / "two.db")
    one.import_records(ada)
    one.import_records(rest)
    two.import_records(rest)
    two.import_records(ada)
    assert one.export_records() == two.export_records() == recs


def test_annotate_roundtrip_import_merges_versions(tmp_path: Path):
    # A colleague's older export and the current database share history: the merge keeps every version once.
    store = build_project(tmp_path / "a.db")
    rec = next(r for r in store.export_records() if r.annotator == "ada" and r.passage_id == "plan:0-40")
    older = rec.model_copy(
        update={
            "labels": rec.history[-1].labels,
            "created_at": rec.history[-1].created_at,
            "history": rec.history[:-1],
            "comment": rec.history[-1].comment,
            "flagged": rec.history[-1].flagged,
            "lead_time": rec.history[-1].lead_time,
        }
    )
    assert store.import_records([older]).unchanged == 1
    later = rec.model_copy(
        update={"labels": ["systemic"], "created_at": "2099-01-01T00:00:00Z", "history": [], "comment": ""}
    )
    assert store.import_records([later]).updated == 1
    merged = store.get_decision("plan:0-40", "ada")
    assert merged["labels"] == ["systemic"] and merged["revision"] == 4
    assert [h["labels"] for h in merged["history"]] == [
        ["cocreation"],
        ["individual", "cocreation"],
        ["individual"],
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_annotate_roundtrip_store_property(tmp_path_factory: pytest.TempPathFactory, data):
    # Arbitrary records for distinct (passage, annotator) pairs survive import -> export unchanged.
    recs = data.draw(st.lists(records(with_text=True), max_size=8))
    seen_passages: dict[str, AnnotationRecord] = {}
    unique: dict[tuple[str, str, bool], AnnotationRecord] = {}
    for r in recs:
        first = seen_passages.setdefault(r.passage_id, r)
        r = r.model_copy(
            update={k: getattr(first, k) for k in ("doc_id", "fingerprint", "start_char", "end_char", "text")}
        )
        key = (r.passage_id, r.annotator, r.gold) if not r.gold else (r.passage_id, "", True)
        unique.setdefault(key, r)
    recs = list(unique.values())
    path = tmp_path_factory.mktemp("prop") / "p.db"
    store = AnnotationStore(path)
    store.import_records(recs)
    key = lambda r: (r.passage_id, r.gold, r.annotator)  # noqa: E731
    assert sorted(store.export_records(), key=key) == sorted(recs, key=key)
    store.close()


# ---------------------------------------------------------------- bad input names the file and line


def good_record(**changes) -> dict:
    base = {
        "schema_version": 1,
        "doc_id": "d",
        "passage_id": "d:1",
        "fingerprint": "",
        "labels": ["equity"],
        "annotator": "ada",
        "created_at": "2024-01-01T00:00:00Z",
        "codebook_version": VERSION,
        "text": "Some text.",
    }
    return {**base, **changes}


def test_annotate_roundtrip_unknown_label_names_file_and_line(tmp_path: Path):
    path = tmp_path / "labels.jsonl"
    lines = [
        good_record(),
        good_record(passage_id="d:2"),
        good_record(passage_id="d:3", labels=["participation"]),
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"labels\.jsonl:3: labels: unknown label\(s\) 'participation'"):
        read_records(path)
    csv_path = tmp_path / "labels.csv"
    write_records([AnnotationRecord.model_validate(good_record())], csv_path)
    header, row = csv_path.read_text(encoding="utf-8").splitlines()
    csv_path.write_text(header + "\n" + row.replace(",equity,", ",equity;bogus,", 1) + "\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"labels\.csv:2: .*'bogus'"):
        read_records(csv_path)
    ls = tmp_path / "ls.json"
    ls.write_text(
        json.dumps(
            [
                {
                    "id": 9,
                    "data": {"text": "x", "passage_id": "p", "doc_id": "d"},
                    "annotations": [
                        {
                            "result": [
                                {"from_name": "labels", "type": "choices", "value": {"choices": ["nope"]}}
                            ],
                            "completed_by": 3,
                            "created_at": "2024-01-01T00:00:00Z",
                        }
                    ],
                }
            ]
        ),
        encoding="utf-8",
    )
    with pytest.raises(AnnotationError, match=r"ls\.json: task 1 \(id 9\), annotation 1: labels: unknown"):
        read_records(ls)


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        ({"surplus": 1}, "surplus: Extra inputs are not permitted"),
        ({"schema_version": 2}, "schema_version 2 is not supported"),
        ({"created_at": "yesterday"}, "ISO 8601"),
        ({"start_char": 5}, "start_char and end_char must be given together"),
        ({"annotator": ""}, "annotator"),
    ],
)
def test_annotate_roundtrip_invalid_records(tmp_path: Path, mutation: dict, message: str):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(good_record(**mutation)) + "\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=message):
        read_records(path)


def test_annotate_roundtrip_csv_label_columns_must_agree(tmp_path: Path):
    path = tmp_path / "edited.csv"
    write_records([AnnotationRecord.model_validate(good_record())], path)
    header, row = path.read_text(encoding="utf-8").splitlines()
    cols = header.split(",")
    cells = row.split(",")
    cells[cols.index("systemic")] = "1"  # someone ticked a box but not the labels column
    path.write_text(header + "\n" + ",".join(cells) + "\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"edited\.csv:2: column 'systemic'"):
        read_records(path)


def test_annotate_roundtrip_import_refuses_changed_or_missing_passages(tmp_path: Path):
    store = AnnotationStore(tmp_path / "p.db")
    store.add_passages([PassageRow("d:1", "d", "Current text.")])
    changed = AnnotationRecord.model_validate(good_record(fingerprint=fingerprint("Old text.")))
    with pytest.raises(AnnotationError, match="text changed"):
        store.import_records([changed], source="old.jsonl")
    missing = AnnotationRecord.model_validate(good_record(passage_id="d:9", text=None))
    with pytest.raises(AnnotationError, match="old.jsonl: record 1 .*not in this project"):
        store.import_records([missing], source="old.jsonl")
    assert store.current_decisions() == []  # all or nothing


def test_annotate_roundtrip_reads_a_label_studio_export(tmp_path: Path):
    # The shape Label Studio itself exports: integer user ids, no meta, naive timestamps.
    tasks = [
        {
            "id": 1,
            "data": {"text": "Residents decide.", "passage_id": "d:1", "doc_id": "d"},
            "annotations": [
                {
                    "id": 11,
                    "completed_by": 2,
                    "result": [
                        {
                            "from_name": "labels",
                            "to_name": "text",
                            "type": "choices",
                            "value": {"choices": ["cocreation", "individual"]},
                        }
                    ],
                    "was_cancelled": False,
                    "ground_truth": False,
                    "created_at": "2024-03-01T10:00:00.123456Z",
                    "updated_at": "2024-03-02T10:00:00.5Z",
                    "lead_time": 12.5,
                }
            ],
        }
    ]
    path = tmp_path / "project-1.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    (rec,) = read_records(path)
    assert rec.annotator == "2" and rec.labels == ["individual", "cocreation"]
    assert rec.created_at == "2024-03-02T10:00:00.500000Z" and rec.codebook_version == VERSION
    assert rec.lead_time == 12.5  # Label Studio's own time per annotation is kept
    store = AnnotationStore(tmp_path / "p.db")
    assert store.import_records([rec]).passages_added == 1
    assert store.get_decision("d:1", "2")["lead_time"] == 12.5


# ---------------------------------------------------------------- CLI


def test_annotate_roundtrip_cli_export_import(tmp_path: Path):
    build_project(tmp_path / "a.db").close()
    runner = CliRunner()
    for fmt, suffix in FORMATS:
        out = tmp_path / f"out.{suffix}"
        r = runner.invoke(annotate_app, ["export", str(tmp_path / "a.db"), "-o", str(out)])
        assert r.exit_code == 0 and "Wrote 7 records" in r.output, r.output
        target = tmp_path / f"b-{fmt}.db"
        r = runner.invoke(annotate_app, ["import", str(target), str(out)])
        assert r.exit_code == 0 and "7 new" in r.output, r.output
        assert table_dump(target) == table_dump(tmp_path / "a.db")
    assert (tmp_path / "out.label_config.xml").read_text(encoding="utf-8").count("<Choice ") == 7
    r = runner.invoke(
        annotate_app, ["export", str(tmp_path / "a.db"), "-o", str(tmp_path / "gold.jsonl"), "--gold"]
    )
    assert r.exit_code == 0 and "Wrote 1 records" in r.output
    r = runner.invoke(annotate_app, ["export", str(tmp_path / "a.db"), "-o", str(tmp_path / "x.txt")])
    assert r.exit_code == 2 and "Error: Cannot tell the format" in r.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(good_record(labels=["nope"])) + "\n", encoding="utf-8")
    r = runner.invoke(annotate_app, ["import", str(tmp_path / "c.db"), str(bad)])
    assert r.exit_code == 2 and "bad.jsonl:1" in r.output


def test_annotate_roundtrip_jsonl_lines_are_self_contained(tmp_path: Path):
    # What `cocreation train` reads: one JSON object per line with text, labels and provenance.
    store = build_project(tmp_path / "a.db")
    text = dumps_records(store.export_records(), "jsonl")
    for line in text.splitlines():
        obj = json.loads(line)
        assert set(obj) >= {
            "passage_id",
            "doc_id",
            "text",
            "labels",
            "annotator",
            "created_at",
            "codebook_version",
            "skipped",
            "gold",
            "history",
        }
