"""The SQLite annotation store: schema, decisions and history, the queue, gold labels, settings."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from cocreation_nlp.annotate import sampling
from cocreation_nlp.annotate.store import (
    SETTINGS,
    AnnotationStore,
    PassageRow,
    add_source,
    read_passage_table,
)
from cocreation_nlp.codebook import load_codebook
from cocreation_nlp.errors import AnnotationError, InputError


def rows(n: int, docs: int = 1, prefix: str = "d") -> list[PassageRow]:
    return [
        PassageRow(
            f"{prefix}{i % docs}:{i}",
            f"{prefix}{i % docs}",
            f"Passage {i} about residents who shape the local service.",
            index=i // docs,
        )
        for i in range(n)
    ]


@pytest.fixture()
def store(tmp_path: Path) -> AnnotationStore:
    s = AnnotationStore(tmp_path / "project.db")
    yield s
    s.close()


# ---------------------------------------------------------------- schema


def test_annotate_store_uses_wal_and_expected_tables(store: AnnotationStore):
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {
        "passages",
        "annotators",
        "decisions",
        "decision_history",
        "gold",
        "gold_history",
        "predictions",
        "settings",
        "leases",
        "meta",
    } <= tables
    conn.close()


def test_annotate_store_unique_decision_per_passage_and_annotator(store: AnnotationStore):
    store.add_passages(rows(1))
    store.save_decision("d0:0", "ada", ["equity"])
    conn = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute(
            "INSERT INTO decisions (passage_id, annotator, labels, codebook_version, created_at, updated_at) "
            "VALUES ('d0:0', 'ada', '[]', '1.1', 'x', 'x')"
        )
    conn.close()


def test_annotate_store_refuses_unknown_schema_version(tmp_path: Path):
    AnnotationStore(tmp_path / "p.db").close()
    conn = sqlite3.connect(tmp_path / "p.db")
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(AnnotationError, match="schema version 99"):
        AnnotationStore(tmp_path / "p.db")


# ---------------------------------------------------------------- passages


def test_annotate_store_add_passages_is_idempotent_and_reports_conflicts(store: AnnotationStore):
    first = store.add_passages(rows(3))
    again = store.add_passages(rows(3))
    changed = store.add_passages([PassageRow("d0:0", "d0", "Different text now.")])
    assert (first.added, again.added, again.unchanged) == (3, 0, 3)
    assert changed.conflicts == ["d0:0"]
    assert store.get_passage("d0:0")["text"] == "Passage 0 about residents who shape the local service."


def test_annotate_store_passage_context_has_neighbours(store: AnnotationStore):
    store.add_passages(rows(6, docs=2))
    p = store.get_passage("d0:2")
    assert (p["before"], p["after"]) == (
        "Passage 0 about residents who shape the local service.",
        "Passage 4 about residents who shape the local service.",
    )
    assert store.get_passage("d0:0")["before"] is None
    assert store.get_passage("d1:5")["after"] is None
    with pytest.raises(AnnotationError, match="No passage"):
        store.get_passage("nope")


def test_annotate_store_reads_passage_tables(tmp_path: Path):
    csv_path = tmp_path / "passages.csv"
    csv_path.write_text(
        'doc_id,text,page\nplan,"First, with a comma",2\nplan,Second,\nother,Third,\n', encoding="utf-8"
    )
    got = read_passage_table(csv_path)
    assert [p.passage_id for p in got] == ["plan:p0", "plan:p1", "other:p0"]
    assert got[0].page == 2 and got[0].text == "First, with a comma"
    jsonl = tmp_path / "more.jsonl"
    jsonl.write_text(json.dumps({"text": "x y z", "start_char": 5, "end_char": 10}) + "\n", encoding="utf-8")
    assert read_passage_table(jsonl)[0].passage_id == "more:5-10"
    bad = tmp_path / "bad.csv"
    bad.write_text("doc_id,text\na,ok\nb,\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.csv:3"):
        read_passage_table(bad)


def test_annotate_store_add_source_reads_a_corpus_through_ingest_and_segment(
    store: AnnotationStore, tmp_path: Path
):
    corpus = tmp_path / "corpus"
    (corpus / "docs").mkdir(parents=True)
    (corpus / "docs" / "plan.md").write_text(
        "# Working with residents\n\nResidents will co-design the new library service with staff.\n\n"
        "## Funding\n\nThe voluntary sector forum receives a standing budget.\n",
        encoding="utf-8",
    )
    (corpus / "docs" / "note.txt").write_text("Held-out text about nurses and patients.\n", encoding="utf-8")
    (corpus / "manifest.csv").write_text(
        "doc_id,file,title,split\nplan,docs/plan.md,Library Plan <2024>,train\nnote,docs/note.txt,Note,reserved\n",
        encoding="utf-8",
    )
    result = add_source(store, [corpus], splits=["train"])
    # Two paragraphs and the two headings the parser keeps as rows (the queue never serves headings).
    assert result.added == 4 and not result.failures
    kinds = {pid: store.get_passage(pid)["kind"] for pid in store.passage_ids()}
    assert sorted(kinds.values()) == ["heading", "heading", "paragraph", "paragraph"]
    p = store.get_passage([pid for pid, k in kinds.items() if k == "paragraph"][1])
    assert p["title"] == "Library Plan <2024>"
    assert p["heading"] == "Funding" and p["doc_id"] == "plan"
    assert p["before"] == "Funding"  # the neighbour before is its heading row
    assert add_source(store, [corpus], splits=["train"]).added == 0
    assert add_source(store, [corpus]).added == 1  # the reserved document, when asked for


# ---------------------------------------------------------------- decisions and history


def test_annotate_store_correction_keeps_history(store: AnnotationStore):
    store.add_passages(rows(1))
    first = store.save_decision("d0:0", "ada", ["equity", "individual"], comment="first try")
    same = store.save_decision("d0:0", "ada", ["individual", "equity"], comment="first try")
    second = store.save_decision("d0:0", "ada", ["equity"], flagged=True)
    assert first["labels"] == ["individual", "equity"]  # codebook order
    assert first["codebook_version"] == load_codebook().version
    assert same["changed"] is False and same["revision"] == 1
    assert second["revision"] == 2 and second["created_at"] == first["created_at"]
    assert second["updated_at"] > first["updated_at"]
    got = store.get_decision("d0:0", "ada")
    assert got["labels"] == ["equity"] and got["flagged"] is True
    assert [h["labels"] for h in got["history"]] == [["individual", "equity"]]
    assert got["history"][0]["comment"] == "first try"
    assert got["history"][0]["replaced_at"] == second["updated_at"]


def test_annotate_store_rejects_unknown_labels_and_passages(store: AnnotationStore):
    store.add_passages(rows(1))
    with pytest.raises(AnnotationError, match="unknown label"):
        store.save_decision("d0:0", "ada", ["participation"])
    with pytest.raises(AnnotationError, match="No passage"):
        store.save_decision("missing", "ada", [])
    with pytest.raises(AnnotationError, match="not allowed"):
        store.save_decision("d0:0", "  ", [])


def test_annotate_store_skips_are_not_decisions(store: AnnotationStore):
    store.add_passages(rows(2))
    d = store.save_decision("d0:0", "ada", ["equity"], skipped=True)
    assert d["labels"] == [] and d["skipped"] is True
    assert store.current_decisions() == []
    assert len(store.current_decisions(include_skipped=True)) == 1
    # A skipped passage goes to someone else, and never back to the one who skipped it.
    store.set_settings(overlap=0.0)
    assert store.next_passage("ada")[0] == "d0:1"
    store.release("ada")
    got = []
    while (pid := store.next_passage("bob")[0]) is not None:
        store.save_decision(pid, "bob", [])
        got.append(pid)
    assert sorted(got) == ["d0:0", "d0:1"]
    assert store.next_passage("ada")[0] is None


# ---------------------------------------------------------------- queue


def test_annotate_store_queue_without_overlap_gives_each_passage_once(store: AnnotationStore):
    store.add_passages(rows(30, docs=3))
    store.set_settings(overlap=0.0)
    seen: list[str] = []
    for turn in range(40):
        name = ["ada", "bob", "cy"][turn % 3]
        pid, _ = store.next_passage(name)
        if pid is None:
            continue
        store.save_decision(pid, name, [])
        seen.append(pid)
    assert sorted(seen) == sorted(store.passage_ids())


def test_annotate_store_queue_with_full_overlap_gives_everything_to_two(store: AnnotationStore):
    store.add_passages(rows(10))
    store.set_settings(overlap=1.0, overlap_coders=2)
    counts: Counter[str] = Counter()
    for name in ["ada", "bob", "cy"]:
        while (pid := store.next_passage(name)[0]) is not None:
            store.save_decision(pid, name, [])
            counts[name] += 1
    assert sum(counts.values()) == 20
    assert all(n == 2 for n in Counter(d["passage_id"] for d in store.current_decisions()).values())


def test_annotate_store_queue_holds_a_passage_until_decided(store: AnnotationStore):
    store.add_passages(rows(5))
    store.set_settings(overlap=0.0)
    a1, _ = store.next_passage("ada")
    assert store.next_passage("ada")[0] == a1  # a reload shows the same passage
    assert store.next_passage("bob")[0] != a1  # nobody else gets it meanwhile
    # An expired lease frees the passage.
    conn = sqlite3.connect(store.path)
    conn.execute("UPDATE leases SET expires_at = '2000-01-01T00:00:00.000000Z'")
    conn.commit()
    conn.close()
    store.release("bob")
    assert store.next_passage("bob")[0] == a1


def test_annotate_store_overlap_passages_come_first_for_a_second_coder(store: AnnotationStore):
    store.add_passages(rows(50))
    store.set_settings(overlap=0.5)
    pid, _ = store.next_passage("ada")
    store.save_decision(pid, "ada", [])
    if sampling.needs_overlap(pid, 0.5):
        assert store.next_passage("bob")[0] == pid
    else:
        assert store.next_passage("bob")[0] != pid


def test_annotate_store_uncertainty_queue_uses_loaded_predictions(store: AnnotationStore, tmp_path: Path):
    store.add_passages(rows(5))
    table = tmp_path / "predictions.csv"
    lines = ["passage_id,label,score,model_id"]
    for i in range(5):
        lines.append(f"d0:{i},equity,{0.05 if i != 3 else 0.52},m1")
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert store.load_predictions(table) == 5
    assert store.next_passage("ada", strategy="uncertainty") == ("d0:3", "uncertainty")
    with pytest.raises(AnnotationError, match="Unknown label"):
        store.add_predictions([("d0:0", "nope", 0.5, 0.5)])


def test_annotate_store_progress(store: AnnotationStore):
    store.add_passages(rows(4))
    store.set_settings(overlap=0.0)
    store.save_decision("d0:0", "ada", ["equity"], flagged=True)
    store.save_decision("d0:1", "ada", [], skipped=True)
    p = store.progress("ada")
    assert (p["done"], p["skipped"], p["flagged"], p["remaining"]) == (1, 1, 1, 2)
    assert p["share"] == pytest.approx(0.5)


# ---------------------------------------------------------------- adjudication and gold


def test_annotate_store_disagreements_and_gold_history(store: AnnotationStore):
    store.add_passages(rows(3))
    store.save_decision("d0:0", "ada", ["equity", "individual"])
    store.save_decision("d0:0", "bob", ["equity"])
    store.save_decision("d0:0", "cy", ["equity", "individual"])
    store.save_decision("d0:1", "ada", ["equity"])
    store.save_decision("d0:1", "bob", ["equity"])
    store.save_decision("d0:2", "ada", [], flagged=True, comment="unsure")
    items = store.disagreements()
    assert [i["passage"]["passage_id"] for i in items] == ["d0:0", "d0:2"]
    first = items[0]
    assert first["disputed_labels"] == ["individual"]
    assert first["suggestion"] == ["individual", "equity"]
    store.set_gold("d0:0", ["equity"], "rev", comment="hard case 3")
    store.set_gold("d0:0", ["equity", "individual"], "rev2")
    assert [i["passage"]["passage_id"] for i in store.disagreements()] == ["d0:2"]
    resolved = store.disagreements(include_resolved=True)
    assert resolved[-1]["gold"]["reviewer"] == "rev2"
    gold_records = [r for r in store.export_records(decisions=False)]
    assert len(gold_records) == 1 and gold_records[0].gold
    assert gold_records[0].history[0].reviewer == "rev"
    assert gold_records[0].history[0].comment == "hard case 3"


def test_annotate_store_agreement_report(store: AnnotationStore):
    store.add_passages(rows(4))
    for i, (a, b) in enumerate([(["equity"], ["equity"]), ([], []), (["equity"], []), ([], [])]):
        store.save_decision(f"d0:{i}", "ada", a)
        store.save_decision(f"d0:{i}", "bob", b)
    report = store.agreement(n_boot=100)
    equity = next(r for r in report["labels"] if r["label"] == "equity")
    assert equity["n_items"] == 4 and report["n_shared_items"] == 4
    assert equity["pairwise"][0]["n_items"] == 4


# ---------------------------------------------------------------- settings


def test_annotate_store_settings_validate_and_default(store: AnnotationStore):
    assert store.get_settings() == {s.name: s.default for s in SETTINGS}
    assert store.set_settings(overlap=0.3, reviewers="maria, jo")["reviewers"] == ["jo", "maria"]
    assert store.is_reviewer("jo") and not store.is_reviewer("ada")
    for bad in [{"overlap": 1.5}, {"strategy": "smart"}, {"lease_minutes": 0}, {"colour": "red"}]:
        with pytest.raises(AnnotationError):
            store.set_settings(**bad)


def test_annotate_store_every_setting_has_help():
    for s in SETTINGS:
        assert s.help.endswith(".") and len(s.help) > 20, s.name


def test_store_loads_wide_passages_csv_from_score(tmp_path):  # noqa: ANN001, ANN201
    from cocreation_nlp.annotate.store import AnnotationStore
    from cocreation_nlp.pipeline import run_score

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text(
        "Plan\n\nResidents told us in workshops that the forms were too long.\n\nNurses and social workers will work with patients as equal partners.\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    run_score([corpus], out, model="rules", workers=1)
    store = AnnotationStore(tmp_path / "p.db")
    n = store.load_predictions(out / "passages.csv")
    store.close()
    assert n == 2 * 7
