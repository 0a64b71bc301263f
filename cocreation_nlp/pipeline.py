"""``cocreation score``: corpus in, scored tables out; resumable, cached, parallel or on Dask.

A document walks one way: :func:`process_source` reads it
(:mod:`.ingest`), cuts it into passages (:mod:`.segment`), classifies them
(:mod:`.model`) and scores it (:mod:`.score`) into a
:class:`~cocreation_nlp.scored.ScoredDocument`; :mod:`.cache` stores that
record; :mod:`.export` turns the records into table rows. The same function
runs inline, in a local process pool, or on a Dask cluster, with identical
results.

Each record is cached under ``OUTDIR/.cache/`` (see :mod:`.cache` for the
key), so after a crash (even ``kill -9``) a re-run continues where it
stopped, and a re-run on a grown corpus processes only new or changed
documents. The tables are then written from the cache as one set (see
:func:`~cocreation_nlp.export.write_run_tables`); an unchanged re-run reuses
the tables on disk when their checksums match ``run.json``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import multiprocessing
import os
import queue as queue_mod
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache import cache_key, cache_path, cached_entry_usable, read_cached, write_cached
from .classify import PassagePrediction
from .codebook import load_codebook
from .config import RunConfig
from .errors import InputError
from .export import (
    extra_meta_columns,
    sweep_temporary,
    table_files,
    tables_intact,
    write_run_record,
    write_run_tables,
)
from .ingest import Source, discover, outside_root, read_one
from .limits import check_passage_count
from .model import RULES, check_model_versions, default_model, load_classifier, model_id_of, read_meta
from .quantify import estimator_for, passage_sources
from .readers.ocr import progress_to, set_progress
from .score import score_document
from .scored import ScoredDocument, ScoredPassage
from .segment import labelling_units, passage_context, segment_document
from .types import ParseFailure, not_a_unit_reason
from .util import file_sha256, usable_cores
from .workers import exit_with_parent

log = logging.getLogger(__name__)

Corpus = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
"""A corpus: one folder, file or manifest, or a list of them."""


@dataclass(frozen=True, slots=True)
class ScoreJob:
    """What a worker needs to process documents: picklable, small."""

    model: str  # "rules", or a model folder
    config: RunConfig


def process_source(source: Source, job: ScoreJob) -> ScoredDocument | ParseFailure:
    """Parse, segment, classify and score one document.

    Failures come back as a :class:`~cocreation_nlp.types.ParseFailure`, never
    as an exception, so one bad file cannot stop a batch (or a Dask graph).
    """
    t0 = time.perf_counter()
    limits = job.config.read_limits()
    doc = read_one(source, max_bytes=int(job.config.max_file_mb * 1e6), limits=limits, ocr=job.config.ocr)
    if isinstance(doc, ParseFailure):
        return doc
    passages = segment_document(doc, max_words=job.config.max_words)
    try:
        check_passage_count(doc.source, len(passages), limits)
    except InputError as err:
        return ParseFailure(doc.source, doc.doc_id, err.kind, err.cause)
    clf = load_classifier(job.model)
    # Headings and tables are kept in the tables but are not labelling units:
    # only the units are classified and counted in the document's scores.
    units = labelling_units(passages)
    # Models trained with context read each unit's heading and list lead-in beside its text.
    preds = clf.predict_texts(
        [passages[i].text for i in units],
        [passages[i].language for i in units],
        [passage_context(passages[i].heading, passages[i].context) for i in units],
    )
    scores = score_document(
        doc.doc_id,
        preds.probs,
        job.config.score,
        in_scope=preds.in_scope,
        decisions=preds.decisions,
        sources=passage_sources(preds.reasons, len(units)),
        estimator=estimator_for(clf, job.config.score.basis, job.config.score.union),
    )
    for ev in scores.evidence:
        ev.passage_index = units[ev.passage_index]
    unit_records = dict(zip(units, preds.records(), strict=True))
    return ScoredDocument(
        doc_id=doc.doc_id,
        source=doc.source,
        format=doc.format,
        language=doc.language,
        model_covers_language=clf.covers(doc.language),
        n_pages=doc.n_pages,
        meta=dict(doc.meta),
        content_sha256=doc.content_sha256,
        model_id=preds.model_id,
        passages=tuple(
            ScoredPassage(
                p, unit_records.get(i) or PassagePrediction(None, None, reason=not_a_unit_reason(p.kind))
            )
            for i, p in enumerate(passages)
        ),
        scores=scores,
        seconds=time.perf_counter() - t0,
        warnings=doc.warnings,
        ocr_pages=doc.ocr_pages,
    )


def _init_worker(model: str, parent_pid: int, pages: Any = None) -> None:
    # A worker must not outlive a killed parent (it would hold a model in memory forever).
    exit_with_parent(parent_pid)
    # Load the model once per worker before the first document arrives; keep
    # each worker to one thread so that workers x threads matches the cores.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # Tesseract, where built with OpenMP
    if pages is not None:
        # OCR progress: each page about to be recognised is reported to the parent's progress bar.
        set_progress(lambda src, page, n: pages.put_nowait((src, page, n)))
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    # The parent process has already warned about library versions once.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        load_classifier(model)


@dataclass(slots=True)
class RunSummary:
    """What a score run did, for the CLI, notebooks and ``run.json``.

    Attributes:
        out_dir: Where the tables are.
        model: The model that ran: ``rules`` or a model folder.
        model_id: That model's id.
        n_documents: Documents found.
        n_failed: Documents that could not be read (see ``errors.csv``).
        n_cached: Documents taken from the cache.
        n_processed: Documents processed in this run.
        n_passages: Passages in ``passages.csv``.
        n_ocr_pages: Pages read by OCR in this run (documents from the cache not counted).
        seconds: Wall time.
        timings: Seconds per phase.
        failures: The documents that could not be read, in doc_id order.
        repaired_cache: Damaged cache entries found, removed and computed again (one line each).
    """

    out_dir: Path = Path(".")
    model: str = ""
    model_id: str = ""
    n_documents: int = 0
    n_failed: int = 0
    n_cached: int = 0
    n_processed: int = 0
    n_passages: int = 0
    n_ocr_pages: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    failures: list[ParseFailure] = field(default_factory=list)
    repaired_cache: list[str] = field(default_factory=list)


def _as_paths(corpus: Corpus) -> list[str | os.PathLike[str]]:
    # A bare string or Path is one corpus location, not a sequence of characters.
    if isinstance(corpus, str | os.PathLike):
        return [corpus]
    return list(corpus)


def run_score(
    corpus: Corpus,
    out_dir: str | os.PathLike[str],
    *,
    model: str | os.PathLike[str] | None = None,
    config: RunConfig | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    formats: Sequence[str] = ("csv",),
    progress: Callable[[int, int], None] | None = None,
    raw_csv: bool = False,
    on_page: Callable[[str, int, int], None] | None = None,
) -> RunSummary:
    """Score every document of ``corpus`` and write the tables into ``out_dir``.

    Args:
        corpus: A folder, file or manifest, or a list of them.
        out_dir: Output folder (created); holds the cache in ``.cache/``.
        model: ``"rules"`` or a model folder; default: the shipped model.
        config: Settings (defaults documented in :class:`RunConfig`).
        workers: Local worker processes (default: the usable cores; 1 runs inline).
        scheduler: ``tcp://host:port`` of a Dask scheduler to run on instead.
        formats: ``csv`` always; add ``parquet`` for Parquet copies.
        progress: Called with (done, total) after each document.
        raw_csv: Write CSV cells exactly, without neutralising text a spreadsheet would
            run as a formula (see :mod:`.tables`).
        on_page: Called with (file, page, pages in the file) before OCR reads a page,
            from the worker processes too (local runs; a Dask cluster reports documents only).

    Raises:
        ModelLoadError: when the model cannot be found or loaded.
        InputError: for a malformed manifest.
    """
    t_start = time.perf_counter()
    config = config or RunConfig()
    model = str(model) if model is not None else default_model()
    out = Path(out_dir)
    job = ScoreJob(model=model, config=config)
    # Everything that can refuse the whole run comes before the output folder is created.
    sources = discover(_as_paths(corpus), allow_outside=config.allow_outside_corpus)
    model_id = model_id_of(model)
    out.mkdir(parents=True, exist_ok=True)
    sweep_temporary(out)
    summary = RunSummary(out_dir=out, model=model, model_id=model_id, n_documents=len(sources))

    # Cache lookup: hashing is cheap next to parsing and embedding.
    t0 = time.perf_counter()
    keys: dict[str, str] = {}
    todo: list[Source] = []
    # Once per run, not per document: reading a model's meta.json (with its recorded validity tables)
    # for every document made an unchanged 1,000-document re-run 9x slower.
    model_key = f"{model_id}|{quantification_digest(model)}"
    for src in sources:
        try:
            # A file outside the corpus is not even hashed: read_one refuses it with its reason.
            sha = "unreadable" if outside_root(src) else file_sha256(src.path)
        except OSError:
            sha = "unreadable"
        key = cache_key(src, sha, model_key, config)
        keys[src.doc_id] = key
        entry = cache_path(out, key)
        damaged = cached_entry_usable(entry) if sha != "unreadable" else None
        if damaged:
            log.warning("%s; the document is processed again", damaged)
            summary.repaired_cache.append(damaged)
        if sha != "unreadable" and entry.exists():
            summary.n_cached += 1
        else:
            todo.append(src)
    summary.timings["hash_seconds"] = time.perf_counter() - t0
    done = summary.n_cached
    if progress:
        progress(done, len(sources))
    failures: dict[str, ParseFailure] = {}

    def store(result: ScoredDocument | ParseFailure) -> None:
        nonlocal done
        if isinstance(result, ParseFailure):
            failures[result.doc_id] = result
        else:
            write_cached(cache_path(out, keys[result.doc_id]), result)
            summary.n_ocr_pages += result.ocr_pages
        done += 1
        if progress:
            progress(done, len(sources))

    t0 = time.perf_counter()
    n_workers = workers or usable_cores()
    inline = not scheduler and (n_workers <= 1 or len(todo) < 4 * n_workers)
    if todo and not inline:
        check_model_versions(model)  # once here; the workers stay quiet
    if scheduler:
        _run_on_dask(scheduler, todo, job, store)
    elif inline:
        # A handful of documents (a grown corpus, a re-run after a crash) is
        # faster inline than through a pool whose workers each load the model.
        with progress_to(on_page):
            for src in todo:
                store(process_source(src, job))
    else:
        _run_in_pool(todo, job, n_workers, store, on_page)
    summary.n_processed = len(todo)
    summary.timings["process_seconds"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    formats = ["csv", *(["parquet"] if "parquet" in formats else [])]
    previous = _previous_run(out)
    unchanged = (
        not todo
        and previous is not None
        and previous.get("settings_digest") == config.digest()
        and previous.get("model_id") == model_id
        and previous.get("formats", ["csv"]) == formats
        and bool(previous.get("raw_csv", False)) == raw_csv
        and [(i["doc_id"], i["cache_key"]) for i in previous.get("inputs", [])]
        == [(s.doc_id, keys[s.doc_id]) for s in sources]
        and set(previous.get("tables", {})) == set(table_files(formats))
        and tables_intact(out, previous.get("tables", {}))
    )
    if unchanged:
        # Same inputs, model and settings as the complete run on disk: its tables are already the answer.
        summary.n_passages = int(previous["counts"]["passages"])
        summary.n_failed = int(previous["counts"]["failed"])
        checksums = dict(previous["tables"])
        summary.timings["tables_reused"] = 1.0
    else:
        ok = [s for s in sources if s.doc_id not in failures]
        summary.failures = [failures[d] for d in sorted(failures)]
        tables = write_run_tables(
            out,
            _cached_documents(out, ok, keys),
            summary.failures,
            extra_columns=extra_meta_columns(s.meta for s in sources),
            formats=formats,
            raw_csv=raw_csv,
        )
        summary.n_passages = tables.n_passages
        summary.n_failed = len(failures)
        checksums = dict(tables.checksums)
    summary.timings["write_seconds"] = time.perf_counter() - t0
    summary.seconds = time.perf_counter() - t_start
    record = _run_record(summary, sources, keys, job, scheduler, n_workers)
    record["formats"] = formats
    record["raw_csv"] = raw_csv
    record["tables"] = checksums
    write_run_record(out, record)
    return summary


def _cached_documents(out: Path, sources: Sequence[Source], keys: dict[str, str]) -> Iterator[ScoredDocument]:
    # One record in memory at a time, in doc_id order: a 10,000-document corpus streams through.
    for src in sorted(sources, key=lambda s: s.doc_id):
        yield read_cached(cache_path(out, keys[src.doc_id]))


def _run_in_pool(
    todo: Sequence[Source],
    job: ScoreJob,
    n_workers: int,
    store: Callable[[ScoredDocument | ParseFailure], None],
    on_page: Callable[[str, int, int], None] | None = None,
) -> None:
    # OCR page progress crosses from the workers through a queue that the parent drains between results.
    pages = multiprocessing.Queue() if on_page is not None else None

    def report_pages() -> None:
        while pages is not None and on_page is not None:
            try:
                on_page(*pages.get_nowait())
            except queue_mod.Empty:
                return

    with ProcessPoolExecutor(
        max_workers=min(n_workers, len(todo)),
        initializer=_init_worker,
        initargs=(job.model, os.getpid(), pages),
    ) as pool:
        # A sliding window of in-flight documents: memory stays flat however large the corpus,
        # since a finished future holds its whole document until it is dropped.
        window = 4 * n_workers
        queue = iter(todo)
        futures = {pool.submit(process_source, src, job) for src in itertools.islice(queue, window)}
        while futures:
            finished, futures = wait(
                futures, timeout=0.5 if pages is not None else None, return_when=FIRST_COMPLETED
            )
            report_pages()
            for fut in finished:
                store(fut.result())
                nxt = next(queue, None)
                if nxt is not None:
                    futures.add(pool.submit(process_source, nxt, job))


def _run_on_dask(
    scheduler: str,
    todo: Sequence[Source],
    job: ScoreJob,
    store: Callable[[ScoredDocument | ParseFailure], None],
) -> None:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError as err:
        from .errors import ConfigError

        raise ConfigError(
            "--scheduler needs Dask's distributed scheduler: install with "
            "`pip install 'cocreation_nlp[dask]'` (or run without --scheduler)"
        ) from err
    with Client(scheduler) as client:
        futures = {client.submit(process_source, src, job, pure=False): src for src in todo}
        for fut in dask_completed(futures):
            futures.pop(fut)
            store(fut.result())
            fut.release()


def _previous_run(out_dir: Path) -> dict | None:
    try:
        return json.loads((out_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def quantification_digest(model: str) -> str:
    """A hash of the model's quantification parameters (meta.json only): they change counts, not the model id."""
    if model != RULES and (Path(model) / "meta.json").exists():
        meta = read_meta(Path(model))
        if (
            meta.get("kind") == "cascade"
        ):  # the cascade counts with its secondary's rates (quantify.estimator_for)
            meta = read_meta(Path(model) / meta["secondary"])
        q = meta.get("quantification")
        return hashlib.sha256(json.dumps(q, sort_keys=True).encode()).hexdigest()[:12] if q else "none"
    return "none"


def _validity_of(model: str) -> dict | None:
    """The model's recorded document-level validity (``cocreation evaluate --documents --record``), if any."""
    if model == RULES or not (Path(model) / "meta.json").exists():
        return None
    return read_meta(Path(model)).get("document_validity")


def _run_record(
    summary: RunSummary,
    sources: Sequence[Source],
    keys: dict[str, str],
    job: ScoreJob,
    scheduler: str | None,
    n_workers: int,
) -> dict:
    import platform
    from datetime import UTC, datetime

    from .model import library_versions

    return {
        "schema_version": 1,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": library_versions(("pandas", "pypdfium2", "lxml", "python-docx", "tesserocr")),
        "python": platform.python_version(),
        "codebook_version": load_codebook().version,
        "model": job.model,
        "model_id": summary.model_id,
        "settings": job.config.model_dump(),
        "settings_digest": job.config.digest(),
        "union_probability": job.config.score.union,
        "count_method": job.config.score.basis,
        "document_validity": _validity_of(job.model),
        "execution": {"scheduler": scheduler or "local", "workers": None if scheduler else n_workers},
        "counts": {
            "documents": summary.n_documents,
            "failed": summary.n_failed,
            "processed": summary.n_processed,
            "from_cache": summary.n_cached,
            "passages": summary.n_passages,
            "ocr_pages_read": summary.n_ocr_pages,
        },
        "timings": {**summary.timings, "total_seconds": summary.seconds},
        "inputs": [
            {"doc_id": s.doc_id, "path": str(s.path), "cache_key": keys.get(s.doc_id, "")} for s in sources
        ],
    }


__all__ = ["RULES", "Corpus", "RunSummary", "ScoreJob", "process_source", "run_score"]
