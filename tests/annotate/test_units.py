"""The queue serves labelling units only: no headings, tables or fragments under the codebook's minimum by default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cocreation_nlp.annotate.sampling import STRATEGIES
from cocreation_nlp.annotate.store import AnnotationStore, PassageRow, add_source
from cocreation_nlp.errors import AnnotationError

LONG = "Residents of the three estates and district nurses shaped the new walk-in service together."
ROWS = [
    PassageRow(
        "d:h", "d", "How residents and nurses designed the walk-in service together", index=0, kind="heading"
    ),
    PassageRow(
        "d:t",
        "d",
        "Scheme | Checklist | Owner\nWalk-in clinic | Opening hours agreed | Council\nCafé | Venue booked | Charity",
        index=1,
        kind="table",
    ),
    PassageRow("d:s", "d", "Scheme", index=2),
    PassageRow("d:c", "d", "Opening hours agreed", index=3, kind="table_cell"),
    PassageRow("d:7", "d", "one two three four five six seven", index=4),
    PassageRow("d:8", "d", "one two three four five six seven eight", index=5),
    PassageRow("d:p", "d", LONG, index=6),
    PassageRow(
        "d:l",
        "d",
        "Survey carers about evening sessions and childcare needs before the next round.",
        7,
        kind="list_item",
    ),
    PassageRow(
        "d:lc",
        "d",
        "A long table cell that states how parents and the school governors agreed the new rules.",
        index=8,
        kind="table_cell",
    ),
]
UNITS = {"d:8", "d:p", "d:l", "d:lc"}
NOT_UNITS = {"d:h", "d:t", "d:s", "d:c", "d:7"}


def drain(store: AnnotationStore, name: str, strategy: str | None = None) -> list[str]:
    """Label everything the queue gives ``name`` (no label applies) and return the ids in order."""
    served = []
    while True:
        pid, _ = store.next_passage(name, strategy=strategy)
        if pid is None:
            return served
        assert pid not in served
        served.append(pid)
        store.save_decision(pid, name, [])


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_queue_never_serves_headings_tables_or_fragments_by_default(tmp_path: Path, strategy: str):
    store = AnnotationStore(tmp_path / "p.db")
    store.add_passages(ROWS)
    store.set_settings(overlap=0.0)
    assert store.get_settings()["min_words"] == 8 and store.get_settings()["include_headings_tables"] is False
    assert set(drain(store, "ada", strategy)) == UNITS
    # Everything stays in the project, with its kind and length.
    assert store.count_passages() == len(ROWS)
    assert store.get_passage("d:t")["kind"] == "table" and store.get_passage("d:7")["n_words"] == 7
    progress = store.progress("ada")
    assert (progress["remaining"], progress["done"], progress["project_passages"]) == (
        0,
        len(UNITS),
        len(UNITS),
    )
    store.close()


def test_a_project_can_choose_to_serve_them(tmp_path: Path):
    store = AnnotationStore(tmp_path / "p.db")
    store.add_passages(ROWS)
    store.set_settings(overlap=0.0, min_words=0)
    # Short passages now, but still no headings or tables.
    assert set(drain(store, "ada")) == UNITS | {"d:s", "d:c", "d:7"}
    store.set_settings(include_headings_tables=True)
    assert set(drain(store, "ada")) == {"d:h", "d:t"}
    assert store.progress("ada")["project_passages"] == len(ROWS)
    store.close()


def test_unit_settings_are_validated(tmp_path: Path):
    store = AnnotationStore(tmp_path / "p.db")
    assert store.set_settings(include_headings_tables="true")["include_headings_tables"] is True
    assert store.set_settings(include_headings_tables=0)["include_headings_tables"] is False
    with pytest.raises(AnnotationError, match="include_headings_tables.*true or false"):
        store.set_settings(include_headings_tables="maybe")
    with pytest.raises(AnnotationError, match="min_words.*>= 0"):
        store.set_settings(min_words=-1)
    with pytest.raises(AnnotationError, match="min_words.*integer"):
        store.set_settings(min_words="eight")
    store.close()


def test_a_parsed_corpus_with_headings_and_tables(tmp_path: Path):
    # A real document through ingest and segment (table cells, a one-word list item, "Contact us."),
    # plus a passage table with the heading and table rows the parser keeps as passages of their own.
    (tmp_path / "plan.md").write_text(
        "# Community health plan\n\n## Scheme\n\n"
        f"{LONG} It took eighteen months.\n\n"
        "| Scheme | Checklist | Owner |\n| --- | --- | --- |\n"
        "| Walk-in clinic | Opening hours agreed | Council |\n| Carers' café | Venue booked | Charity |\n\n"
        "## Next steps\n\n"
        "- Survey carers about evening sessions and childcare needs before the next round.\n- Budget.\n\n"
        "Contact us.\n",
        encoding="utf-8",
    )
    table = tmp_path / "kept.jsonl"
    table.write_text(
        "\n".join(
            json.dumps(row)
            for row in [
                {
                    "doc_id": "annex",
                    "text": "Annex: how the steering group was chosen and who sat on it",
                    "kind": "heading",
                },
                {
                    "doc_id": "annex",
                    "text": "Member | Role\nA. Jones | Chair, tenants' association\nB. Smith | District nurse",
                    "kind": "table",
                },
                {
                    "doc_id": "annex",
                    "text": "The group met monthly and published its minutes on the council website.",
                },
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    store = AnnotationStore(tmp_path / "p.db")
    result = add_source(store, [tmp_path / "plan.md", table])
    assert result.failures == []
    store.set_settings(overlap=0.0)
    passages = [store.get_passage(pid, with_neighbours=False) for pid in store.passage_ids()]
    fragments = {p["passage_id"] for p in passages if p["n_words"] < 8}
    kept_only = {p["passage_id"] for p in passages if p["kind"] in {"heading", "table"}}
    assert len(fragments) >= 3 and len(kept_only) >= 2  # the test can fail: there is something to leave out
    assert all(p["language"] == "en" for p in passages if p["doc_id"] != "annex")
    served = drain(store, "ada")
    assert served and not (set(served) & (fragments | kept_only))
    assert {store.get_passage(pid)["text"].split()[0] for pid in served} == {"Residents", "Survey", "The"}
    store.close()
