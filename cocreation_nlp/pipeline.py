"""``cocreation score``: corpus in, scored tables out; resumable, cached, parallel or on Dask.

Each document is processed on its own (parse -> segment -> classify -> score)
by :func:`process_source`, which runs inline, in a local process pool, or on
a Dask cluster with identical results. Its result is cached under
``OUTDIR/.cache/`` keyed by the file's SHA-256, the model id, the codebook
version and the settings, and written atomically: after a crash (even
``kill -9``) a re-run continues where it stopped, and a re-run on a grown
corpus processes only new or changed documents. The final tables are then
assembled from the cache and written atomically too.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from . import __version__
from .atomic import atomic_path
from .codebook import load_codebook
from .config import RunConfig
from .ingest import Source, discover, file_sha256, read_one
from .score import score_document
from .segment import segment_document
from .types import ParseFailure

log = logging.getLogger(__name__)
CACHE_SCHEMA = 1


@dataclass(frozen=True, slots=True)
class ScoreJob:
    """What a worker needs to process documents: picklable, small."""

    model: str  # "rules", or a model folder
    config: RunConfig


@lru_cache(maxsize=4)
def load_classifier(model: str):  # noqa: ANN201 - a PassageClassifier
    """Load (once per process) the classifier named by ``model``: ``rules`` or a model folder."""
    if model == "rules":
        from .classify import RuleClassifier

        return RuleClassifier()
    from .model import load_model

    return load_model(Path(model))


def model_id_of(model: str) -> str:
    """The id of ``model`` without loading it (meta.json only), so a cached re-run stays cheap."""
    if model != "rules" and (Path(model) / "meta.json").exists():
        from .model import read_meta

        return str(read_meta(Path(model))["model_id"])
    return str(load_classifier(model).model_id)


def default_model() -> str:
    """The model used when none is given: the committed default model, else rules only."""
    from .model import DEFAULT_MODEL_DIR

    return str(DEFAULT_MODEL_DIR) if (DEFAULT_MODEL_DIR / "meta.json").exists() else "rules"


def passage_context(heading: str, lead_in: str) -> str:
    """A passage's heading and list lead-in, the context segment models trained with context read."""
    from .finetuned import passage_context as join

    return join(heading, lead_in)


def process_source(source: Source, job: ScoreJob) -> dict:
    """Parse, segment, classify and score one document; return a JSON-able record.

    Failures come back as a record with ``"failure"`` set, never as an
    exception, so one bad file cannot stop a batch (or a Dask graph).
    """
    t0 = time.perf_counter()
    doc = read_one(source, max_bytes=int(job.config.max_file_mb * 1e6))
    if isinstance(doc, ParseFailure):
        return {"doc_id": source.doc_id, "failure": asdict(doc)}
    passages = segment_document(doc, max_words=job.config.max_words)
    clf = load_classifier(job.model)
    preds = clf.predict_texts(
        [p.text for p in passages],
        [p.language for p in passages],
        [passage_context(p.heading, p.context) for p in passages],
    )
    basis = preds.probs if job.config.score.basis == "probabilities" else preds.decisions.astype(float)
    scores = score_document(doc.doc_id, basis, job.config.score, in_scope=preds.in_scope)
    rows = []
    for i, p in enumerate(passages):
        row = {
            "doc_id": p.doc_id,
            "passage_id": p.passage_id,
            "index": p.index,
            "page": p.page,
            "heading": p.heading,
            "kind": p.kind,
            "start_char": p.start_char,
            "end_char": p.end_char,
            "n_words": p.n_words,
            "fingerprint": p.fingerprint,
            "language": p.language,
            "in_scope": bool(preds.in_scope[i]),
            "scope_reason": preds.reasons[i] if preds.reasons else "",
            "text": p.text,
            "probs": [float(x) for x in preds.probs[i]],
            "decisions": [bool(x) for x in preds.decisions[i]],
            "evidence": preds.evidence[i],
        }
        rows.append(row)
    model_langs = tuple(getattr(clf, "languages", ()))
    return {
        "doc_id": doc.doc_id,
        "failure": None,
        "source": doc.source,
        "format": doc.format,
        "language": doc.language,
        "model_covers_language": doc.language in model_langs,
        "n_pages": doc.n_pages,
        "meta": dict(doc.meta),
        "content_sha256": doc.content_sha256,
        "model_id": preds.model_id,
        "passages": rows,
        "scores": asdict(scores),
        "seconds": time.perf_counter() - t0,
    }


def _cache_key(src: Source, sha: str, model_id: str, job: ScoreJob) -> str:
    # The doc_id and manifest metadata are part of the record, so they are part
    # of the key: two documents with identical bytes must not share a record.
    meta = json.dumps(dict(src.meta), sort_keys=True)
    material = "|".join(
        [
            str(CACHE_SCHEMA),
            __version__,
            load_codebook().version,
            sha,
            src.doc_id,
            meta,
            model_id,
            job.config.digest(),
        ]
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def _cache_file(out_dir: Path, key: str) -> Path:
    return out_dir / ".cache" / key[:2] / f"{key}.json.gz"


def _write_cache(path: Path, record: dict) -> None:
    with atomic_path(path) as tmp, gzip.open(tmp, "wt", encoding="utf-8", compresslevel=1) as fh:
        json.dump(record, fh, ensure_ascii=False)


def read_cache(path: Path) -> dict:
    """Load one cached document record."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def _init_worker(model: str) -> None:
    # Load the model once per worker before the first document arrives; keep
    # each worker to one thread so that workers x threads matches the cores.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    load_classifier(model)


@dataclass(slots=True)
class RunSummary:
    """What a score run did, for the CLI and for ``run.json``."""

    n_documents: int = 0
    n_failed: int = 0
    n_cached: int = 0
    n_processed: int = 0
    n_passages: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


def run_score(
    corpus: Sequence[str | Path],
    out_dir: Path,
    *,
    model: str | None = None,
    config: RunConfig | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    formats: Sequence[str] = ("csv",),
    progress: Callable[[int, int], None] | None = None,
) -> RunSummary:
    """Score every document of ``corpus`` and write the tables into ``out_dir``.

    Args:
        corpus: Folders, files or manifest files.
        out_dir: Output folder (created); holds the cache in ``.cache/``.
        model: ``"rules"`` or a model folder; default: the shipped model.
        config: Settings (defaults documented in :class:`RunConfig`).
        workers: Local worker processes (default: the number of cores; 1 runs inline).
        scheduler: ``tcp://host:port`` of a Dask scheduler to run on instead.
        formats: ``csv`` always; add ``parquet`` for Parquet copies.
        progress: Called with (done, total) after each document.
    """
    from .export import write_outputs, write_run_record

    t_start = time.perf_counter()
    config = config or RunConfig()
    model = model or default_model()
    job = ScoreJob(model=model, config=config)
    out_dir.mkdir(parents=True, exist_ok=True)
    sources = discover(corpus)
    model_id = model_id_of(model)
    summary = RunSummary(n_documents=len(sources))

    # Cache lookup: hashing is cheap next to parsing and embedding.
    t0 = time.perf_counter()
    keys: dict[str, str] = {}
    todo: list[Source] = []
    for src in sources:
        try:
            sha = file_sha256(src.path)
        except OSError:
            sha = "unreadable"
        key = _cache_key(src, sha, model_id, job)
        keys[src.doc_id] = key
        if sha != "unreadable" and _cache_file(out_dir, key).exists():
            summary.n_cached += 1
        else:
            todo.append(src)
    summary.timings["hash_seconds"] = time.perf_counter() - t0
    done = summary.n_cached
    if progress:
        progress(done, len(sources))
    failures: dict[str, dict] = {}

    def store(src: Source, record: dict) -> None:
        nonlocal done
        if record.get("failure"):
            failures[src.doc_id] = record["failure"]
        else:
            _write_cache(_cache_file(out_dir, keys[src.doc_id]), record)
        done += 1
        if progress:
            progress(done, len(sources))

    t0 = time.perf_counter()
    n_workers = workers or os.cpu_count() or 1
    if scheduler:
        from distributed import Client
        from distributed import as_completed as dask_completed

        with Client(scheduler) as client:
            futures = {client.submit(process_source, src, job, pure=False): src for src in todo}
            for fut in dask_completed(futures):
                store(futures.pop(fut), fut.result())
                fut.release()
    elif n_workers <= 1 or len(todo) < 4 * n_workers:
        # A handful of documents (a grown corpus, a re-run after a crash) is
        # faster inline than through a pool whose workers each load the model.
        for src in todo:
            store(src, process_source(src, job))
    else:
        with ProcessPoolExecutor(
            max_workers=min(n_workers, len(todo)), initializer=_init_worker, initargs=(model,)
        ) as pool:
            # A sliding window of in-flight documents: memory stays flat however large the corpus,
            # since a finished future holds its whole document until it is dropped.
            window = 4 * n_workers
            queue = iter(todo)
            futures: dict = {}
            for src in itertools.islice(queue, window):
                futures[pool.submit(process_source, src, job)] = src
            while futures:
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for fut in finished:
                    store(futures.pop(fut), fut.result())
                    nxt = next(queue, None)
                    if nxt is not None:
                        futures[pool.submit(process_source, nxt, job)] = nxt
    summary.n_processed = len(todo)
    summary.timings["process_seconds"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    cache_files = {
        doc_id: _cache_file(out_dir, key) for doc_id, key in keys.items() if doc_id not in failures
    }
    previous = _previous_run(out_dir)
    unchanged = (
        not todo
        and previous is not None
        and previous.get("settings_digest") == config.digest()
        and previous.get("model_id") == model_id
        and previous.get("formats", ["csv"]) == list(formats)
        and [(i["doc_id"], i["cache_key"]) for i in previous.get("inputs", [])]
        == [(s.doc_id, keys[s.doc_id]) for s in sources]
        and all(
            (out_dir / f"{name}.csv").exists() for name in ("passages", "documents", "evidence", "errors")
        )
    )
    if unchanged:
        # Same inputs, model and settings as the finished run on disk: its tables are already the answer.
        summary.n_passages = int(previous["counts"]["passages"])
        summary.timings["tables_reused"] = 1.0
    else:
        summary.n_passages = write_outputs(
            out_dir, sources=sources, cache_files=cache_files, failures=failures, formats=formats
        )
    summary.n_failed = len(failures)
    summary.timings["write_seconds"] = time.perf_counter() - t0
    summary.seconds = time.perf_counter() - t_start
    record = _run_record(summary, sources, keys, failures, job, model_id, scheduler, n_workers)
    record["formats"] = list(formats)
    write_run_record(out_dir, record)
    return summary


def _previous_run(out_dir: Path) -> dict | None:
    try:
        return json.loads((out_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _run_record(
    summary: RunSummary,
    sources: Sequence[Source],
    keys: dict[str, str],
    failures: dict,
    job: ScoreJob,
    model_id: str,
    scheduler: str | None,
    n_workers: int,
) -> dict:
    import platform
    from datetime import UTC, datetime

    from .model import library_versions

    return {
        "schema_version": 1,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": library_versions(("pandas", "pypdfium2", "trafilatura", "python-docx")),
        "python": platform.python_version(),
        "codebook_version": load_codebook().version,
        "model": job.model,
        "model_id": model_id,
        "settings": job.config.model_dump(),
        "settings_digest": job.config.digest(),
        "union_probability": job.config.score.union,
        "execution": {"scheduler": scheduler or "local", "workers": None if scheduler else n_workers},
        "counts": {
            "documents": summary.n_documents,
            "failed": len(failures),
            "processed": summary.n_processed,
            "from_cache": summary.n_cached,
            "passages": summary.n_passages,
        },
        "timings": {**summary.timings, "total_seconds": summary.seconds},
        "inputs": [
            {"doc_id": s.doc_id, "path": str(s.path), "cache_key": keys.get(s.doc_id, "")} for s in sources
        ],
    }
