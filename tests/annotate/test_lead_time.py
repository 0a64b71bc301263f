"""Time per item (``lead_time``): kept with each version of a decision, exported and read back in every format."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cocreation_nlp.annotate.app import create_app
from cocreation_nlp.annotate.records import read_records, write_records
from cocreation_nlp.annotate.store import STORE_SCHEMA_VERSION, AnnotationStore, PassageRow
from cocreation_nlp.errors import AnnotationError

FORMATS = [("jsonl", "jsonl"), ("csv", "csv"), ("label-studio", "json")]
TEXTS = [
    "Residents and district nurses redesigned the discharge letter together over six months.",
    "The council published the minutes of every meeting of the steering group online.",
    "Tenants' associations sat on the board and voted on the budget for the estates.",
]


def project(path: Path) -> AnnotationStore:
    store = AnnotationStore(path)
    store.add_passages(
        [PassageRow(f"d:{i}", "d", text, index=i, title="Plan") for i, text in enumerate(TEXTS)]
    )
    store.save_decision("d:0", "ada", ["individual"], lead_time=12.5)
    store.save_decision("d:0", "ada", ["individual", "professionals"], comment="nurses too", lead_time=4.25)
    store.save_decision("d:0", "bob", ["individual"], lead_time=0.1 + 0.2)  # a float with a long repr
    store.save_decision("d:1", "ada", ["consultation"])  # made through the API without a time: unknown
    store.save_decision("d:2", "bob", [], skipped=True, lead_time=2.0)  # a skip took time too
    store.set_gold("d:0", ["individual"], "rev", lead_time=30.0)
    store.set_gold("d:0", ["individual", "professionals"], "rev", lead_time=7.5)
    return store


def test_lead_time_belongs_to_the_version_it_timed(tmp_path: Path):
    store = project(tmp_path / "p.db")
    ada = store.get_decision("d:0", "ada")
    assert ada["lead_time"] == 4.25
    assert [h["lead_time"] for h in ada["history"]] == [12.5]
    # Saving the same answer again changes nothing, whatever time the browser reports.
    again = store.save_decision(
        "d:0", "ada", ["individual", "professionals"], comment="nurses too", lead_time=99.0
    )
    assert again["changed"] is False and store.get_decision("d:0", "ada")["lead_time"] == 4.25
    assert store.get_decision("d:1", "ada")["lead_time"] is None
    assert store.gold_labels()["d:0"]["lead_time"] == 7.5
    for bad in (-1.0, float("nan"), float("inf"), "soon"):
        with pytest.raises(AnnotationError, match="lead_time"):
            store.save_decision("d:1", "ada", ["equity"], lead_time=bad)  # type: ignore[arg-type]
    store.close()


def _lead_times(records) -> list[tuple]:
    return [
        (r.passage_id, r.annotator, r.gold, r.lead_time, tuple(h.lead_time for h in r.history))
        for r in records
    ]


@pytest.mark.parametrize(("fmt", "suffix"), FORMATS)
def test_lead_time_is_in_every_export_and_round_trips(tmp_path: Path, fmt: str, suffix: str):
    source = project(tmp_path / "a.db")
    exported = source.export_records()
    expected = [
        ("d:0", "ada", False, 4.25, (12.5,)),
        ("d:0", "bob", False, 0.1 + 0.2, ()),
        ("d:0", "rev", True, 7.5, (30.0,)),
        ("d:1", "ada", False, None, ()),
        ("d:2", "bob", False, 2.0, ()),
    ]
    assert _lead_times(exported) == expected
    path = tmp_path / f"export.{suffix}"
    write_records(exported, path, fmt=fmt)  # type: ignore[arg-type]

    # The time is in the file itself, where each format keeps such a field.
    if fmt == "jsonl":
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert [line["lead_time"] for line in lines] == [e[3] for e in expected]
        assert lines[0]["history"][0]["lead_time"] == 12.5
    elif fmt == "csv":
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert [r["lead_time"] for r in rows] == ["4.25", "0.30000000000000004", "7.5", "", "2.0"]
        assert json.loads(rows[0]["history"])[0]["lead_time"] == 12.5
    else:
        tasks = json.loads(path.read_text(encoding="utf-8"))
        annotations = [a for t in tasks for a in t["annotations"]]
        # Top-level, as Label Studio writes it, so Label Studio shows it too.
        assert [a["lead_time"] for a in annotations] == [e[3] for e in expected]
        assert annotations[0]["meta"]["history"][0]["lead_time"] == 12.5

    # Read back, imported into a new project, exported again: the same times, the same bytes.
    assert _lead_times(read_records(path)) == expected
    target = AnnotationStore(tmp_path / "b.db")
    target.import_file(path)
    assert target.export_records() == exported
    again = tmp_path / f"again.{suffix}"
    write_records(target.export_records(), again, fmt=fmt)  # type: ignore[arg-type]
    assert again.read_bytes() == path.read_bytes()
    source.close()
    target.close()


def test_a_file_without_lead_time_does_not_erase_it(tmp_path: Path):
    # An export made before lead times were recorded names the same versions; importing it
    # changes nothing, and importing the timed export into a project built from the old file adds the times.
    store = project(tmp_path / "a.db")
    timed = store.export_records()
    untimed = [
        r.model_copy(
            update={
                "lead_time": None,
                "history": [h.model_copy(update={"lead_time": None}) for h in r.history],
            }
        )
        for r in timed
    ]
    assert store.import_records(untimed).unchanged == len(timed)
    assert store.export_records() == timed
    other = AnnotationStore(tmp_path / "b.db")
    other.import_records(untimed)
    assert all(r.lead_time is None for r in other.export_records())
    result = other.import_records(timed)
    assert result.updated == 4 and result.unchanged == 1  # d:1/ada has no time on either side
    assert other.export_records() == timed
    store.close()
    other.close()


def test_lead_time_through_the_api(tmp_path: Path):
    app = create_app(tmp_path / "p.db", n_boot=10)
    app.state.store.add_passages([PassageRow("d:0", "d", TEXTS[0], index=0)])
    client = TestClient(app)
    client.get("/login")
    headers = {"X-CSRF-Token": client.cookies.get("cc_csrf")}
    assert client.post("/api/login", json={"name": "ada"}, headers=headers).status_code == 200
    bad = client.post(
        "/api/decisions", json={"passage_id": "d:0", "labels": [], "lead_time": -3}, headers=headers
    )
    assert bad.status_code == 422 and "lead_time" in " ".join(bad.json()["errors"])
    good = client.post(
        "/api/decisions",
        json={"passage_id": "d:0", "labels": ["individual"], "lead_time": 8.125},
        headers=headers,
    )
    assert good.status_code == 200 and good.json()["decision"]["lead_time"] == 8.125
    gold = client.post(
        "/api/gold", json={"passage_id": "d:0", "labels": [], "lead_time": 3.5}, headers=headers
    )
    assert gold.status_code == 200 and gold.json()["gold"]["lead_time"] == 3.5
    exported = client.get("/api/export?format=csv").text.splitlines()
    header = exported[0].split(",")
    assert "lead_time" in header
    assert {row.split(",")[header.index("lead_time")] for row in exported[1:]} == {"8.125", "3.5"}
    client.close()


def test_a_version_1_database_is_upgraded_in_place(tmp_path: Path):
    path = tmp_path / "old.db"
    store = AnnotationStore(path)
    store.add_passages(
        [
            PassageRow("d:0", "d", TEXTS[0], index=0),
            PassageRow("d:1", "d", "Scheme", index=1),
            PassageRow("d:2", "d", TEXTS[1], index=2),
        ]
    )
    store.set_settings(overlap=0.0)
    store.save_decision("d:0", "ada", ["individual"])
    store.save_decision("d:0", "ada", ["equity"])
    store.set_gold("d:0", ["equity"], "rev")
    store.close()
    # Turn it into what the previous release wrote: no kind/words/language, no lead_time.
    conn = sqlite3.connect(path)
    for table, column in [
        ("passages", "kind"),
        ("passages", "n_words"),
        ("passages", "language"),
        ("decisions", "lead_time"),
        ("decision_history", "lead_time"),
        ("gold", "lead_time"),
        ("gold_history", "lead_time"),
    ]:
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()

    store = AnnotationStore(path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(
        STORE_SCHEMA_VERSION
    )
    conn.close()
    assert store.get_passage("d:0")["n_words"] == len(TEXTS[0].split())
    assert store.get_passage("d:1")["kind"] == "paragraph" and store.get_passage("d:1")["n_words"] == 1
    got = store.get_decision("d:0", "ada")
    assert got["labels"] == ["equity"] and got["lead_time"] is None and len(got["history"]) == 1
    # The upgraded project works: the one-word fragment is not served, the open paragraph is.
    assert store.next_passage("bob") == ("d:2", "random")
    store.save_decision("d:2", "bob", ["consultation"], lead_time=1.5)
    assert store.get_decision("d:2", "bob")["lead_time"] == 1.5
    assert store.next_passage("bob") == (None, "random")
    store.close()
