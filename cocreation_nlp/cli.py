"""Command-line interface: thin commands over library functions.

Every command parses its options, calls one library function and reports.
Heavy libraries (spaCy, torch, pandas) are imported inside the commands so
that ``cocreation --help`` answers at once.

Exit codes, the same for every command, so that scripts can tell them apart:
0 when everything was done; 1 when the outputs were written but some
documents failed (each has a row in ``errors.csv`` and a line on stderr); 2
when nothing was done: a usage, manifest, settings, model or output-path
error, reported on stderr before any output is written.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from .atomic import check_writable
from .errors import CocreationError

app = typer.Typer(
    name="cocreation",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    help="Measure how policy documents treat citizen participation (Bassi 2022's co-creation blind spots).",
)


def _mount_annotate() -> None:
    # The annotation app's commands live with the app (cocreation_nlp/annotate/cli.py);
    # that module imports only typer at the top, so --help stays fast.
    from .annotate.cli import annotate_app

    app.add_typer(
        annotate_app,
        name="annotate",
        help="Label passages in a local web app; agreement, adjudication, export/import.",
    )


EXIT_SOME_FAILED = 1
"""Outputs written, but some documents failed (see errors.csv)."""
EXIT_NOTHING_DONE = 2
"""Nothing was done: usage, manifest, settings, model or output-path error."""


def _fail(message: str, code: int = EXIT_NOTHING_DONE) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code=code)


RawCsv = Annotated[
    bool,
    typer.Option(
        "--raw-csv",
        help="Write CSV cells exactly. By default a text cell that a spreadsheet would run as a formula "
        "(starting with = + - @, a tab or a carriage return) gets a leading ' (the OWASP rule); "
        "Parquet and JSONL are always exact.",
    ),
]


OCR_MODES = ("auto", "never", "always")
OCR_HELP = (
    "OCR of PDF pages: auto (pages without a usable text layer), always (every page), never "
    "(scanned pages are skipped with a warning)."
)


def _check_ocr_mode(mode: str) -> None:
    if mode not in OCR_MODES:
        raise _fail(f"--ocr must be auto, never or always; got {mode!r}")


def _ocr_page_reporter(bar):  # noqa: ANN001, ANN202 - tqdm bar -> callback
    """A callback that shows the page OCR is reading beside the document progress bar."""

    def report(source: str, page: int, n_pages: int) -> None:
        bar.set_postfix_str(f"OCR {Path(source).name} p.{page}/{n_pages}", refresh=True)

    return report


def _os_error(err: OSError) -> str:
    """An OSError as one line naming the file (never a traceback)."""
    where = f"{err.filename}: " if err.filename else ""
    return f"{where}{err.strerror or err}"


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details to stderr.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.ERROR, format="%(levelname)s %(name)s: %(message)s"
    )


@app.command()
def parse(
    paths: Annotated[list[Path], typer.Argument(help="Files, folders or manifest.csv files to parse.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Passages CSV to write.")] = Path(
        "passages.csv"
    ),
    errors: Annotated[
        Path | None, typer.Option(help="Errors CSV (default: errors.csv beside --output).")
    ] = None,
    max_file_mb: Annotated[float, typer.Option(help="Refuse files larger than this many MB.")] = 200.0,
    max_member_mb: Annotated[
        float, typer.Option(help="Refuse archives (DOCX) with a member that unpacks to more MB than this.")
    ] = 100.0,
    max_unpacked_mb: Annotated[
        float, typer.Option(help="Refuse archives (DOCX) that unpack to more MB than this in total.")
    ] = 300.0,
    max_compression_ratio: Annotated[
        float,
        typer.Option(
            help="Refuse archive members over 1 MB that unpack to more than this many times their size."
        ),
    ] = 100.0,
    max_passages: Annotated[
        int, typer.Option(help="Refuse documents that yield more passages than this.")
    ] = 50_000,
    allow_outside_corpus: Annotated[
        bool,
        typer.Option(
            "--allow-outside-corpus",
            help="Read manifest rows and links that lead outside the corpus folder (refused by default).",
        ),
    ] = False,
    ocr: Annotated[str, typer.Option(help=OCR_HELP)] = "auto",
    raw_csv: RawCsv = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Parse documents (PDF, DOCX, HTML, Markdown, text) into passages; scanned PDF pages are read by OCR.

    Example: cocreation parse corpora/sample -o passages.csv

    Exit code 0 when every document parsed, 1 when some failed (their causes
    are in the errors CSV and on stderr; the other documents are written).
    Page warnings (an unreadable or low-confidence scanned page) are rows of
    severity "warning" in the errors CSV and do not change the exit code.
    """
    from tqdm import tqdm

    from .ingest import discover
    from .limits import ReadLimits
    from .parse import parse_to_csv
    from .readers.ocr import progress_to

    _check_ocr_mode(ocr)

    limits = ReadLimits.from_mb(
        max_member_mb=max_member_mb,
        max_unpacked_mb=max_unpacked_mb,
        max_compression_ratio=max_compression_ratio,
        max_passages=max_passages,
    )
    try:
        check_writable(output)
        if errors is not None:
            check_writable(errors, option="--errors")
        sources = discover(paths, allow_outside=allow_outside_corpus)
        bar = tqdm(total=len(sources), unit="doc", disable=not progress, file=sys.stderr, desc="parse")

        def tick(doc: object) -> None:
            bar.set_postfix_str("")
            bar.update(1)

        with progress_to(_ocr_page_reporter(bar) if progress else None):
            summary = parse_to_csv(
                paths,
                output,
                errors_path=errors,
                max_bytes=int(max_file_mb * 1e6),
                on_document=tick,
                sources=sources,
                limits=limits,
                raw_csv=raw_csv,
                ocr=ocr,
            )
        bar.close()
    except CocreationError as err:
        raise _fail(str(err)) from err
    except OSError as err:
        raise _fail(_os_error(err)) from err
    for f in summary.failures:
        typer.echo(f"Error: {f.source}: {f.error_type}: {f.message}", err=True)
    errors_csv = errors or output.with_name("errors.csv")
    typer.echo(
        f"Wrote {summary.n_passages} passages from {summary.n_documents} document(s) to {output}"
        + (f"; {summary.ocr_pages} page(s) read by OCR" if summary.ocr_pages else "")
        + (f"; {len(summary.failures)} failed" if summary.failures else "")
        + (f"; {len(summary.warnings)} page warning(s)" if summary.warnings else "")
        + (f" (see {errors_csv})" if summary.failures or summary.warnings else ""),
        err=True,
    )
    if summary.failures:
        raise typer.Exit(code=EXIT_SOME_FAILED)


@app.command()
def score(
    corpus: Annotated[list[Path], typer.Argument(help="Corpus folder(s), files or manifest.csv.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")] = Path("results"),
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Model folder, or 'rules' for rule-only scoring. Default: the shipped model.",
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML settings file ([score] section etc.).")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Local worker processes (default: number of cores; 1 = inline).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.5:8786, to run on a cluster."),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="csv, or parquet to write Parquet copies as well.")
    ] = "csv",
    min_denominator: Annotated[float | None, typer.Option(help="Override [score] min_denominator.")] = None,
    seed: Annotated[int | None, typer.Option(help="Override [score] seed of the bootstrap.")] = None,
    max_passages: Annotated[
        int | None,
        typer.Option(help="Refuse documents that yield more passages than this (config: max_passages)."),
    ] = None,
    allow_outside_corpus: Annotated[
        bool,
        typer.Option(
            "--allow-outside-corpus",
            help="Read manifest rows and links that lead outside the corpus folder (config: allow_outside_corpus).",
        ),
    ] = False,
    ocr: Annotated[str | None, typer.Option(help=OCR_HELP + " Overrides the config's ocr.")] = None,
    raw_csv: RawCsv = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Score every document of a corpus: passages.csv, documents.csv, evidence.csv, errors.csv, run.json.

    Example: cocreation score corpora/sample -o results/

    Re-runs are incremental: unchanged documents come from OUTDIR/.cache, so a
    killed run continues where it stopped. Exit code 1 when a document failed;
    page warnings (scanned pages OCR could not read, or read with low
    confidence) are rows of errors.csv and do not change the exit code.
    """
    from tqdm import tqdm

    from .config import load_config
    from .pipeline import run_score

    if fmt not in ("csv", "parquet"):
        raise _fail(f"--format must be csv or parquet; got {fmt!r}", code=2)
    if ocr is not None:
        _check_ocr_mode(ocr)
    try:
        check_writable(output, folder=True)
        cfg = load_config(
            config,
            **{
                "score.min_denominator": min_denominator,
                "score.seed": seed,
                "max_passages": max_passages,
                "allow_outside_corpus": allow_outside_corpus or None,
                "ocr": ocr,
            },
        )
        bar = tqdm(total=0, unit="doc", disable=not progress, file=sys.stderr, desc="score")

        def tick(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        summary = run_score(
            corpus,
            output,
            model=model,
            config=cfg,
            workers=workers,
            scheduler=scheduler,
            formats=("csv", "parquet") if fmt == "parquet" else ("csv",),
            raw_csv=raw_csv,
            progress=tick,
            on_page=_ocr_page_reporter(bar) if progress else None,
        )
        bar.close()
    except CocreationError as err:
        raise _fail(str(err)) from err
    except OSError as err:
        raise _fail(_os_error(err)) from err
    for f in summary.failures:
        typer.echo(f"Error: {f.source}: {f.error_type}: {f.message}", err=True)
    for note in summary.repaired_cache:
        typer.echo(f"Note: {note}; the document was processed again", err=True)
    n_warnings = _count_warnings(output / "errors.csv")
    typer.echo(
        f"Scored {summary.n_documents - summary.n_failed}/{summary.n_documents} documents "
        f"({summary.n_passages} passages; {summary.n_cached} from cache"
        + (f"; {summary.n_ocr_pages} page(s) read by OCR" if summary.n_ocr_pages else "")
        + f") with model {summary.model_id} ({summary.model}) into {output}/ in {summary.seconds:.1f}s"
        + (f"; {n_warnings} page warning(s) in errors.csv" if n_warnings else ""),
        err=True,
    )
    if summary.n_failed:
        raise typer.Exit(code=EXIT_SOME_FAILED)


def _count_warnings(errors_csv: Path) -> int:
    """Rows of severity ``warning`` in a run's errors.csv (page problems of documents that were kept)."""
    import csv

    try:
        with errors_csv.open(encoding="utf-8", newline="") as fh:
            return sum(1 for row in csv.DictReader(fh) if row.get("severity") == "warning")
    except OSError:
        return 0


@app.command()
def summarize(
    run_dir: Annotated[
        Path, typer.Argument(help="Output folder of `cocreation score` (or its documents.csv).")
    ],
    by: Annotated[str, typer.Option(help="Comma-separated grouping columns, e.g. publisher,year.")] = "",
    output: Annotated[Path, typer.Option("--output", "-o", help="Summary CSV to write.")] = Path(
        "summary.csv"
    ),
    raw_csv: RawCsv = False,
) -> None:
    """Per-group counts and mean/median/spread of every score (tidy: one row per group and score).

    Example: cocreation summarize results/ --by publisher,year -o summary.csv
    """
    from .summarize import write_summary

    try:
        check_writable(output)
        n = write_summary(run_dir, output, [c.strip() for c in by.split(",") if c.strip()], raw_csv=raw_csv)
    except CocreationError as err:
        raise _fail(str(err)) from err
    except OSError as err:
        raise _fail(_os_error(err)) from err
    typer.echo(f"Wrote {n} rows to {output}", err=True)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="Output folder of `cocreation score`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path("report.html"),
) -> None:
    """One self-contained HTML report: score distributions, rankings with intervals, evidence, settings.

    Example: cocreation report results/ -o report.html
    """
    from .report.build import write_report

    try:
        check_writable(output)
        write_report(run_dir, output)
    except CocreationError as err:
        raise _fail(str(err)) from err
    except OSError as err:
        raise _fail(_os_error(err)) from err
    typer.echo(f"Wrote {output}", err=True)


@app.command()
def classify(
    input_file: Annotated[Path, typer.Argument(metavar="INPUT", help="CSV or JSONL file of passages.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV (or .jsonl) to write.")] = Path(
        "predictions.csv"
    ),
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model folder or 'rules'. Default: the shipped model.")
    ] = None,
    text_column: Annotated[str, typer.Option(help="Column holding the passage text.")] = "text",
    raw_csv: RawCsv = False,
) -> None:
    """Classify passages: every input column plus L_prob and L (0/1) per label, the rule evidence and a note.

    Example: cocreation classify passages.csv -o predictions.csv
    """
    from .predict import classify_table

    try:
        check_writable(output)
        counts = classify_table(input_file, output, model=model, text_column=text_column, raw_csv=raw_csv)
    except CocreationError as err:
        raise _fail(str(err)) from err
    except OSError as err:
        raise _fail(_os_error(err)) from err
    typer.echo(
        f"Classified {counts.predicted}/{counts.rows} rows with {counts.model_id} into {output}"
        f" ({counts.empty} empty or non-text, {counts.rule_only} rule-only)",
        err=True,
    )


@app.command()
def train(
    annotations: Annotated[
        list[Path], typer.Argument(help="Annotation files (JSONL/CSV/Label Studio) or folders of *.jsonl.")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Model folder to write, e.g. models/my-model.")
    ] = Path("models/new"),
    embedder: Annotated[
        str, typer.Option(help="static, minilm-onnx-int8, minilm, or any sentence-transformers name/path.")
    ] = "static",
    corpus: Annotated[
        list[Path] | None,
        typer.Option(
            help="Corpus to resolve standoff annotations against (default: $COCREATION_CORPUS or the corpora shipped in corpora/)."
        ),
    ] = None,
    tfidf: Annotated[
        bool, typer.Option(help="Add word 1-2-gram TF-IDF features to the embeddings and rule features.")
    ] = True,
    method: Annotated[
        str,
        typer.Option(
            help="linear (embeddings + TF-IDF + rules, logistic heads), finetune (fine-tune MiniLM, export ONNX; "
            "needs the [finetune] extra), distil (linear, also learning the soft labels of --teacher) or per-language "
            "(TF-IDF + rules per non-English language, kept where it beats the rules on grouped folds)."
        ),
    ] = "linear",
    teacher: Annotated[
        Path | None, typer.Option(help="For --method distil: a finetuned model folder (with its oof.npz).")
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(
            help="For --method distil: a plain linear model folder trained on the same annotations (reuses its CV)."
        ),
    ] = None,
    default_model: Annotated[
        Path | None,
        typer.Option(
            help="For --method per-language: the model for every other passage (default: the shipped one)."
        ),
    ] = None,
    epochs: Annotated[int, typer.Option(help="For --method finetune: training epochs.")] = 5,
    train_layers: Annotated[
        int, typer.Option(help="For --method finetune: top encoder layers trained (0 = all, end to end).")
    ] = 2,
    context: Annotated[
        str, typer.Option(help="For --method finetune: 'heading' (heading and lead-in as context) or 'none'.")
    ] = "heading",
    threads: Annotated[
        int,
        typer.Option(
            help="For --method finetune: torch threads (0 = the cores this process may use; 1 is faster on a busy machine)."
        ),
    ] = 0,
) -> None:
    """Train a passage classifier: grouped cross-validation, calibration, tuned thresholds, model card.

    Example: cocreation train annotations/ -o models/my-model --embedder static
    """
    from .annotations import default_corpus, load_records, resolve_records, stale_summary
    from .train import TrainConfig, save_trained
    from .train import train as train_model

    if method not in ("linear", "finetune", "distil", "per-language"):
        raise _fail(f"--method must be linear, finetune, distil or per-language, not {method!r}", 2)
    try:
        check_writable(output, folder=True)  # before minutes of training, not after
    except CocreationError as err:
        raise _fail(str(err), 2) from err
    if method == "per-language":
        from .bylanguage import train_from_annotations as train_languages
        from .model import default_model as shipped_default

        try:
            meta = train_languages(
                annotations, output, Path(default_model or shipped_default()), TrainConfig(), corpus=corpus
            )
        except CocreationError as err:
            raise _fail(str(err)) from err
        for lang, r in meta["report"].items():
            typer.echo(
                f"{lang}: {r['passages']} passages, {r['documents']} documents; "
                + (
                    f"model {r['model_macro_f1']:.3f} vs rules {r['rules_macro_f1']:.3f}; "
                    if "model_macro_f1" in r
                    else ""
                )
                + ("shipped" if r["shipped"] else f"not shipped ({r.get('reason', '')})"),
                err=True,
            )
        return
    if method == "finetune":
        from .finetune import FinetuneConfig, train_from_annotations

        try:
            meta = train_from_annotations(
                annotations,
                output,
                FinetuneConfig(epochs=epochs, train_layers=train_layers, context=context, threads=threads),
                corpus=corpus,
                progress=lambda m: typer.echo(m, err=True),
            )
        except (CocreationError, FileNotFoundError) as err:
            raise _fail(str(err)) from err
        cv = meta["metrics"].get("cross_validated", {})
        typer.echo(
            f"Trained {meta['model_id']} ({meta['quantization']}); grouped-CV macro-F1 {cv.get('macro_f1', float('nan')):.3f}; saved to {output}",
            err=True,
        )
        return
    if method == "distil":
        from .distil import distil_from_annotations

        if teacher is None:
            raise _fail("--method distil needs --teacher (a finetuned model folder)", 2)
        try:
            meta = distil_from_annotations(
                annotations,
                output,
                teacher,
                TrainConfig(embedder=embedder, tfidf=tfidf),
                corpus=corpus,
                baseline=baseline,
                progress=lambda m: typer.echo(m, err=True),
            )
        except CocreationError as err:
            raise _fail(str(err)) from err
        cv = meta["metrics"]["cross_validated"]
        typer.echo(
            f"Trained {meta['model_id']} (distilled from {meta['distillation']['teacher']}); grouped-CV macro-F1 {cv['macro_f1']:.3f}; saved to {output}",
            err=True,
        )
        return

    try:
        data = resolve_records(load_records(annotations), corpus or default_corpus())
        if data.stale:
            typer.echo(f"Warning: {stale_summary(data.stale)}", err=True)
        result = train_model(
            data, TrainConfig(embedder=embedder, tfidf=tfidf), annotation_files=[str(a) for a in annotations]
        )
        save_trained(result, output)
    except CocreationError as err:
        raise _fail(str(err)) from err
    except OSError as err:
        raise _fail(_os_error(err)) from err
    cv = result.meta["metrics"]["cross_validated"]
    typer.echo(
        f"Trained {result.meta['model_id']} on {len(data)} passages; cross-validated macro-F1 {cv['macro_f1']:.3f}; saved to {output}",
        err=True,
    )


@app.command("init-config")
def init_config(
    output: Annotated[Path, typer.Option("--output", "-o", help="TOML file to write.")] = Path(
        "cocreation.toml"
    ),
) -> None:
    """Write the default settings, each with its description, as a TOML file to edit and pass to --config.

    Example: cocreation init-config -o settings.toml
    """
    from .atomic import write_text_atomic
    from .config import default_config_toml

    if output.exists():
        raise _fail(f"{output} exists; choose another --output or remove it")
    try:
        check_writable(output)
    except CocreationError as err:
        raise _fail(str(err)) from err
    except OSError as err:
        raise _fail(_os_error(err)) from err
    write_text_atomic(output, default_config_toml())
    typer.echo(f"Wrote {output}", err=True)


@app.command()
def cascade(
    primary: Annotated[
        Path, typer.Argument(help="Cheap model folder that scores every passage (e.g. models/default).")
    ],
    secondary: Annotated[
        Path, typer.Argument(help="Accurate model folder for uncertain passages (e.g. models/minilm-onnx).")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Cascade folder to write.")] = Path(
        "models/cascade"
    ),
    band: Annotated[
        str,
        typer.Option(
            help="Re-score passages whose probability is within this of a threshold, or 'auto': the narrowest band "
            "whose out-of-fold macro-F1 is within 0.01 of the accurate model alone (both models' oof.npz)."
        ),
    ] = "auto",
) -> None:
    """Combine two models into a cascade: the cheap one scores all passages, the accurate one the uncertain ones.

    Example: cocreation cascade models/default models/finetuned -o models/cascade --band auto
    """
    from .model import save_cascade
    from .oof import cascade_from_folds

    try:
        check_writable(output, folder=True)
        value, chosen, quantification = cascade_from_folds(
            primary, secondary, band if band == "auto" else float(band)
        )
        if chosen is not None:
            if value == 0.0:
                table = ", ".join(f"band {r['band']}: {r['macro_f1']:.3f}" for r in chosen["rows"])
                raise _fail(
                    f"on the folds the cascade does not beat {primary} alone ({table}): no cascade written"
                )
            typer.echo(f"Band chosen on the folds: {value}", err=True)
        if quantification is None:
            typer.echo(
                "Note: no out-of-fold predictions for both models with languages (oof.npz): the cascade's "
                "document counts use the primary's quantification parameters",
                err=True,
            )
        meta = save_cascade(
            output, primary, secondary, band=value, chosen_on_folds=chosen, quantification=quantification
        )
    except (CocreationError, FileNotFoundError, ValueError) as err:
        raise _fail(str(err)) from err
    except OSError as err:
        raise _fail(_os_error(err)) from err
    typer.echo(f"Wrote cascade {meta['model_id']} to {output}", err=True)


@app.command()
def evaluate(
    gold: Annotated[list[Path], typer.Argument(help="Gold annotation files.")],
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model folder or 'rules'. Default: the shipped model.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Writes OUTPUT.csv and OUTPUT.md (with --documents, OUTPUT.json too)."
        ),
    ] = None,
    corpus: Annotated[
        list[Path] | None, typer.Option(help="Corpus to resolve standoff annotations against.")
    ] = None,
    documents: Annotated[
        bool,
        typer.Option(
            "--documents",
            help="Document-level validity: compare every score of each completely labelled document with its "
            "hand-labelled value on folds grouped by document, per count method (MAE, within 0.10, interval "
            "coverage, agreement on undefined). A linear model re-runs its training recipe (about as long as "
            "training it six times); fine-tuned, distilled, cascade and per-language models use their stored "
            "out-of-fold predictions (cross-fitted).",
        ),
    ] = False,
    fast: Annotated[
        bool,
        typer.Option(
            help="With --documents: quantification parameters cross-fitted from the other outer folds instead "
            "of an inner grouped cross-validation (about 5x faster)."
        ),
    ] = False,
    record: Annotated[
        bool,
        typer.Option(help="With --documents: store the summary in the model's meta.json and model card."),
    ] = False,
) -> None:
    """Per-label precision, recall, F1, support, macro-F1, confusion counts and calibration; or, with --documents, document-level validity.

    Examples:
      cocreation evaluate annotations/gold.jsonl --model models/default -o eval
      cocreation evaluate annotations/pass1.jsonl annotations/adjudicated.jsonl --documents --record -o validity
    """
    from .model import default_model

    if documents:
        from .validity import record_validity, run_document_validity, write_validity

        target = model or default_model()
        out = output or Path("validity")
        try:
            for suffix in (".csv", ".md", ".json"):
                check_writable(out.with_name(out.name + suffix))
            result, data_sha = run_document_validity(
                target, gold, corpus=corpus, nested=not fast, progress=lambda m: typer.echo(m, err=True)
            )
            paths = write_validity(result, out)
            if record:
                record_validity(Path(target), result, data_sha256=data_sha)
        except CocreationError as err:
            raise _fail(str(err)) from err
        except OSError as err:
            raise _fail(_os_error(err)) from err
        o = result["summary"][result["chosen"]]["overall"]
        typer.echo(
            f"{result['n_documents']} complete documents; chosen count method {result['chosen']}: "
            f"{100 * (o['within_0.10'] or 0):.0f}% of defined pairs within 0.10, interval coverage "
            f"{100 * (o['coverage'] or 0):.0f}%; wrote {', '.join(map(str, paths))}"
            + (f"; recorded in {target}/meta.json and its model card" if record else ""),
            err=True,
        )
        return
    from .evaluate import evaluate_model, write_evaluation

    out = output or Path("evaluation")
    try:
        for suffix in (".csv", ".md"):
            check_writable(out.with_name(out.name + suffix))
        metrics = evaluate_model(model or default_model(), gold, corpus=corpus)
        csv_path, md_path = write_evaluation(metrics, out)
    except CocreationError as err:
        raise _fail(str(err)) from err
    except OSError as err:
        raise _fail(_os_error(err)) from err
    typer.echo(
        f"macro-F1 {metrics['macro_f1']:.3f} on {metrics['n']} passages; wrote {csv_path} and {md_path}",
        err=True,
    )


_mount_annotate()


def main() -> None:
    """Entry point for ``python -m cocreation_nlp``."""
    app()
