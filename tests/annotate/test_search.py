"""Passage search and filters: text, document, label, annotator, flagged; blind for annotators, full for reviewers."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cocreation_nlp.annotate.app import create_app
from cocreation_nlp.annotate.search import PassageQuery
from cocreation_nlp.annotate.store import AnnotationStore, PassageRow
from cocreation_nlp.errors import AnnotationError

ROWS = [
    PassageRow(
        "plan:0",
        "plan",
        "District NURSES and residents redesigned the discharge letter together.",
        0,
        title="Plan",
    ),
    PassageRow(
        "plan:1",
        "plan",
        "The council published the minutes of every steering group meeting online.",
        1,
        title="Plan",
    ),
    PassageRow("plan:2", "plan", "Scheme", 2, title="Plan", kind="heading"),
    PassageRow(
        "bericht:0",
        "bericht",
        "Die Bürgerbeteiligung wurde mit den Pflegekräften im Quartier geplant.",
        0,
        title="Bericht",
    ),
    PassageRow(
        "bericht:1",
        "bericht",
        "Nurses in the ward asked for more time with the patients they care for.",
        1,
        title="Bericht",
    ),
]


@pytest.fixture()
def store(tmp_path: Path):
    s = AnnotationStore(tmp_path / "p.db")
    s.add_passages(ROWS)
    s.save_decision("plan:0", "ada", ["individual", "professionals"], flagged=True)
    s.save_decision("plan:0", "bob", ["individual"])
    s.save_decision("plan:1", "bob", ["consultation"], flagged=True)
    s.save_decision("bericht:1", "ada", ["professionals"])
    s.save_decision("bericht:0", "ada", [], skipped=True)
    s.set_gold("plan:0", ["individual", "professionals"], "rev")
    yield s
    s.close()


def ids(found: dict) -> list[str]:
    return [item["passage_id"] for item in found["items"]]


def test_filters_as_a_reviewer(store: AnnotationStore):
    def find(**kw) -> list[str]:
        return ids(store.search_passages(PassageQuery(**kw), viewer="rev", reviewer=True))

    assert find() == ["bericht:0", "bericht:1", "plan:0", "plan:1"]  # the heading is left out, like the queue
    assert find(units_only=False) == ["bericht:0", "bericht:1", "plan:0", "plan:1", "plan:2"]
    # Text: case- and accent-insensitive, whole phrase.
    assert find(text="nurses") == ["bericht:1", "plan:0"]
    assert find(text="burgerbeteiligung") == ["bericht:0"]
    assert find(text="steering group meeting") == ["plan:1"]
    assert find(text="nurses online") == []
    assert find(doc_id="plan") == ["plan:0", "plan:1"]
    assert find(label="professionals") == ["bericht:1", "plan:0"]
    assert find(label="professionals", annotator="bob") == []  # one decision must hold both
    assert find(annotator="bob") == ["plan:0", "plan:1"]
    assert find(flagged=True) == ["plan:0", "plan:1"]
    assert find(flagged=True, annotator="ada") == ["plan:0"]
    assert find(text="nurses", label="professionals", doc_id="bericht") == ["bericht:1"]
    first = store.search_passages(PassageQuery(limit=2), viewer="rev", reviewer=True)
    second = store.search_passages(PassageQuery(limit=2, offset=2), viewer="rev", reviewer=True)
    assert first["total"] == second["total"] == 4 and ids(first) + ids(second) == find()
    item = store.search_passages(PassageQuery(text="discharge"), viewer="rev", reviewer=True)["items"][0]
    assert [d["annotator"] for d in item["decisions"]] == ["ada", "bob"] and item["n_coders"] == 2
    assert item["gold"]["labels"] == ["individual", "professionals"]
    with pytest.raises(AnnotationError, match="Unknown label"):
        find(label="citizens")


def test_an_annotator_sees_and_filters_only_their_own_decisions(store: AnnotationStore):
    def find(**kw) -> dict:
        return store.search_passages(PassageQuery(**kw), viewer="bob", reviewer=False)

    everything = find()
    assert ids(everything) == ["bericht:0", "bericht:1", "plan:0", "plan:1"]  # every passage can be found
    decisions = {item["passage_id"]: item["decisions"] for item in everything["items"]}
    assert {pid: [d["annotator"] for d in ds] for pid, ds in decisions.items()} == {
        "bericht:0": [],
        "bericht:1": [],  # ada's decision stays hidden
        "plan:0": ["bob"],
        "plan:1": ["bob"],
    }
    assert all("gold" not in item for item in everything["items"])
    assert everything["annotators"] == ["bob"]
    # Filters look at bob's own decisions: ada flagged plan:0 and applied professionals, bob did not.
    assert ids(find(flagged=True)) == ["plan:1"]
    assert ids(find(label="professionals")) == []
    assert ids(find(label="individual")) == ["plan:0"]
    with pytest.raises(AnnotationError, match="Only reviewers"):
        find(annotator="ada")


def test_search_api(tmp_path: Path):
    app = create_app(tmp_path / "p.db", n_boot=10)
    store = app.state.store
    store.add_passages(ROWS)
    store.save_decision("plan:0", "ada", ["individual"], flagged=True)
    store.set_settings(reviewers=["rev"])
    client = TestClient(app)
    client.get("/login")
    headers = {"X-CSRF-Token": client.cookies.get("cc_csrf")}
    assert client.get("/api/passages").status_code == 401
    client.post("/api/login", json={"name": "bob"}, headers=headers)
    r = client.get("/api/passages", params={"q": "Nurses", "all": "1"})
    assert r.status_code == 200 and [i["passage_id"] for i in r.json()["items"]] == ["bericht:1", "plan:0"]
    assert r.json()["items"][1]["decisions"] == []  # ada's flagged decision is not bob's to see
    assert client.get("/api/passages", params={"annotator": "ada"}).status_code == 400
    assert client.get("/api/passages", params={"limit": "lots"}).status_code == 400
    client.post("/api/login", json={"name": "rev"}, headers=headers)
    r = client.get("/api/passages", params={"flagged": "1", "annotator": "ada"})
    assert [i["passage_id"] for i in r.json()["items"]] == ["plan:0"]
    assert r.json()["documents"] == [
        {"doc_id": "bericht", "title": "Bericht", "n_passages": 2},
        {"doc_id": "plan", "title": "Plan", "n_passages": 3},
    ]
    assert client.get("/passages").status_code == 200
    client.close()
