"""Many annotators at once: no decision is lost or duplicated.

Two set-ups: eight annotators labelling through HTTP against a real uvicorn
server (the queue, the leases and the SQLite writes all under contention), and
eight separate processes writing to the same database file directly (SQLite's
own cross-process locking in WAL mode).
"""

from __future__ import annotations

import hashlib
import json
import socket
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path

import httpx
import pytest
import uvicorn

from cocreation_nlp.annotate.app import LOOPBACK_HOSTS, create_app
from cocreation_nlp.annotate.store import AnnotationStore, PassageRow
from cocreation_nlp.codebook import LABELS

N_ANNOTATORS = 8
N_PASSAGES = 2000


def labels_for(passage_id: str, round_: int = 0) -> list[str]:
    """A deterministic label set per passage, so the test knows what must be stored."""
    digest = hashlib.sha1(f"{round_}:{passage_id}".encode()).digest()
    return [name for i, name in enumerate(LABELS) if digest[i] % 3 == 0]


@contextmanager
def running_server(db: Path) -> Iterator[str]:
    """Serve the app with uvicorn on 127.0.0.1 and a free port, in a background thread."""
    app = create_app(db, allowed_hosts=LOOPBACK_HOSTS, n_boot=100)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


def annotator(base_url: str, name: str) -> dict:
    """Sign in and label until the queue is empty; return what was sent and accepted."""
    sent: dict[str, list[str]] = {}
    corrections = 0
    statuses: Counter[int] = Counter()
    with httpx.Client(base_url=base_url, timeout=120) as client:
        client.get("/login")
        headers = {"X-CSRF-Token": client.cookies["cc_csrf"]}
        r = client.post("/api/login", json={"name": name}, headers=headers)
        r.raise_for_status()
        while True:
            r = client.get("/api/next")
            statuses[r.status_code] += 1
            passage = r.json()["passage"]
            if passage is None:
                break
            pid = passage["passage_id"]
            labels = labels_for(pid)
            r = client.post("/api/decisions", json={"passage_id": pid, "labels": labels}, headers=headers)
            statuses[r.status_code] += 1
            assert r.json()["decision"]["labels"] == labels
            sent[pid] = labels
            n = len(sent)
            if n % 7 == 0:  # a double click: the same decision again changes nothing
                r = client.post("/api/decisions", json={"passage_id": pid, "labels": labels}, headers=headers)
                statuses[r.status_code] += 1
                assert r.json()["decision"]["changed"] is False
            if n % 10 == 0:  # a correction: kept as history
                labels = labels_for(pid, round_=1)
                if labels == sent[pid]:
                    labels = [] if labels else ["systemic"]
                r = client.post(
                    "/api/decisions",
                    json={"passage_id": pid, "labels": labels, "comment": "fixed"},
                    headers=headers,
                )
                statuses[r.status_code] += 1
                assert r.json()["decision"]["revision"] == 2
                sent[pid] = labels
                corrections += 1
    return {"name": name, "sent": sent, "corrections": corrections, "statuses": statuses}


@pytest.mark.slow  # about 40 s on two cores: ~4,600 real HTTP requests
def test_annotate_concurrency_http_annotators_lose_nothing(tmp_path: Path):
    db = tmp_path / "project.db"
    store = AnnotationStore(db)
    store.add_passages(
        [
            PassageRow(f"doc{i % 20}:{i}", f"doc{i % 20}", f"Passage {i}.", index=i // 20)
            for i in range(N_PASSAGES)
        ]
    )
    store.set_settings(overlap=0.0, strategy="coverage", min_words=0)  # "Passage 7." is short
    store.close()
    started = time.perf_counter()
    with running_server(db) as base_url:
        with ThreadPoolExecutor(N_ANNOTATORS) as pool:
            results = list(pool.map(lambda i: annotator(base_url, f"annotator-{i}"), range(N_ANNOTATORS)))
    elapsed = time.perf_counter() - started
    print(f"\n{N_ANNOTATORS} HTTP annotators, {N_PASSAGES} decisions: {elapsed:.1f} s")

    for res in results:
        assert set(res["statuses"]) == {200}, res["statuses"]
    sent = {(pid, res["name"]): labels for res in results for pid, labels in res["sent"].items()}
    assert len(sent) == N_PASSAGES
    assert sum(len(res["sent"]) > 0 for res in results) >= 2  # the work really was shared

    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT passage_id, annotator, labels, revision FROM decisions").fetchall()
    assert len(rows) == N_PASSAGES  # none lost
    assert len({r[0] for r in rows}) == N_PASSAGES  # none duplicated: each passage once, overlap 0
    stored = {(r[0], r[1]): json.loads(r[2]) for r in rows}
    assert stored == sent  # exactly what each annotator last sent, attributed to them
    n_history = conn.execute("SELECT COUNT(*) FROM decision_history").fetchone()[0]
    assert n_history == sum(res["corrections"] for res in results)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def process_writer(db: str, name: str, passage_ids: list[str]) -> int:
    """One annotator in its own process: decide every passage, then correct every one."""
    store = AnnotationStore(db)
    for pid in passage_ids:
        store.save_decision(pid, name, labels_for(pid))
    for pid in passage_ids:
        store.save_decision(pid, name, labels_for(pid, round_=1), comment=f"second look by {name}")
    store.close()
    return len(passage_ids)


def test_annotate_concurrency_processes_share_one_database(tmp_path: Path):
    db = tmp_path / "project.db"
    per_annotator = N_PASSAGES // N_ANNOTATORS
    store = AnnotationStore(db)
    store.add_passages([PassageRow(f"d:{i}", "d", f"Passage {i}.", index=i) for i in range(per_annotator)])
    ids = store.passage_ids()
    store.close()
    started = time.perf_counter()
    with ProcessPoolExecutor(N_ANNOTATORS, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(process_writer, str(db), f"p{i}", ids[i:] + ids[:i]) for i in range(N_ANNOTATORS)
        ]
        done = [f.result(timeout=300) for f in futures]
    elapsed = time.perf_counter() - started
    print(f"\n{N_ANNOTATORS} processes, {2 * sum(done)} writes: {elapsed:.1f} s")

    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == N_PASSAGES
    per = dict(conn.execute("SELECT annotator, COUNT(*) FROM decisions GROUP BY annotator").fetchall())
    assert per == {f"p{i}": per_annotator for i in range(N_ANNOTATORS)}
    # Every second save is a correction (its comment at least is new): one history row each.
    assert conn.execute("SELECT COUNT(*) FROM decision_history").fetchone()[0] == N_PASSAGES
    assert conn.execute("SELECT COUNT(*) FROM decisions WHERE revision > 2").fetchone()[0] == 0
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_annotate_concurrency_threads_race_on_the_same_decision(tmp_path: Path):
    # Many threads (own connections) save the same passage x annotator at once: one row, full history.
    store = AnnotationStore(tmp_path / "p.db")
    store.add_passages([PassageRow("d:0", "d", "Contested passage.")])
    barrier = threading.Barrier(16)

    def hit(i: int) -> None:
        barrier.wait()
        store.save_decision("d:0", "ada", [LABELS[i % len(LABELS)]], comment=f"try {i}")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(hit, range(16)))
    decision = store.get_decision("d:0", "ada")
    assert decision["revision"] == 16 and len(decision["history"]) == 15
    times = [h["created_at"] for h in decision["history"]] + [decision["updated_at"]]
    assert times == sorted(times) and len(set(times)) == 16
    store.close()
