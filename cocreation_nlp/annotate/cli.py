"""``cocreation annotate ...``: thin commands over the annotation store and web app.

Each command parses its options, calls one library function and reports;
library errors (:class:`~cocreation_nlp.errors.CocreationError`) become
``Error: ...`` on stderr and exit code 1.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from ..atomic import check_writable
from ..errors import CocreationError
from ..tables import write_csv
from .settings import setting

annotate_app = typer.Typer(
    name="annotate",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals can hold passage text and tokens
    help=(
        "Label passages in the browser, measure agreement, adjudicate, and export.\n\n"
        "A project is one SQLite file. Typical session:\n\n"
        "  cocreation annotate add project.db corpora/open-policy\n\n"
        "  cocreation annotate serve project.db\n\n"
        "  cocreation annotate agreement project.db\n\n"
        "  cocreation annotate export project.db -o annotations/labels.jsonl"
    ),
)

DbArg = Annotated[
    Path, typer.Argument(help="The project database (SQLite); created if missing.", dir_okay=False)
]


def _fail(err: Exception) -> typer.Exit:
    # Exit code 2: nothing was done (the convention of every cocreation command; see cocreation_nlp.cli).
    typer.echo(f"Error: {err}", err=True)
    return typer.Exit(code=2)


def _login_name() -> str:
    """The name of the person running the command (the OS login name), for the default reviewer."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers): a clear placeholder
        return "owner"


def _open(db: Path, *, must_exist: bool = True) -> Any:
    from .store import AnnotationStore

    if must_exist and not db.exists():
        raise CocreationError(
            f"No annotation project at {db}. Create one with `cocreation annotate add {db} CORPUS`."
        )
    return AnnotationStore(db)


@annotate_app.command()
def serve(
    db: DbArg,
    host: Annotated[
        str,
        typer.Option(
            help=(
                "Address to listen on. The default 127.0.0.1 is reachable only from this computer. "
                "0.0.0.0 listens on every network interface: anyone who can reach this machine "
                "(same Wi-Fi, office network, or the internet if the port is open) can open the app, "
                "read every passage and label under any name; use it only on a trusted network and "
                "together with --token."
            )
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="COCREATION_ANNOTATE_TOKEN",
            help="Access token annotators must enter at sign-in (or set COCREATION_ANNOTATE_TOKEN).",
        ),
    ] = None,
    reviewer: Annotated[
        list[str] | None,
        typer.Option(
            "--reviewer",
            help=(
                "Name allowed to adjudicate (repeat for several). Default: the project's reviewers; "
                "a project without any gets the person who starts the server (your login name)."
            ),
        ),
    ] = None,
    strategy: Annotated[str | None, typer.Option(help=setting("strategy").help)] = None,
    overlap: Annotated[float | None, typer.Option(help=setting("overlap").help)] = None,
    allow_no_token: Annotated[
        bool,
        typer.Option(
            "--allow-no-token", help="Allow a non-loopback --host without --token (not recommended)."
        ),
    ] = False,
) -> None:
    """Start the labelling web app on http://127.0.0.1:8765/.

    Several annotators can label at once; each signs in by name. Stop with Ctrl+C.

    Example: cocreation annotate serve project.db --reviewer maria --overlap 0.25
    """
    try:
        import uvicorn

        from .app import LOOPBACK_HOSTS, create_app
    except ImportError as err:
        raise _fail(
            CocreationError(
                f"The annotation web app needs its server libraries ({err.name} is missing): "
                "install them with `pip install 'cocreation_nlp[annotate]'`."
            )
        ) from err

    loopback = host in LOOPBACK_HOSTS or host.startswith("127.")
    if not loopback and not token and not allow_no_token:
        raise _fail(
            CocreationError(
                f"Refusing to listen on {host} without an access token: anyone on the network could label "
                "under any name. Add --token SECRET (or --allow-no-token on a trusted network)."
            )
        )
    try:
        store = _open(db, must_exist=False)
        changes: dict[str, Any] = {}
        claimed = False
        if reviewer:
            changes["reviewers"] = reviewer
        else:
            # Never open adjudication to everyone who can sign in by accident:
            # the person starting the server becomes the only reviewer.
            _, claimed = store.claim_review(_login_name())
        if strategy:
            changes["strategy"] = strategy
        if overlap is not None:
            changes["overlap"] = overlap
        if changes:
            store.set_settings(**changes)
        reviewers = store.get_setting("reviewers")
        n = store.count_passages()
        store.close()
        app = create_app(db, token=token, allowed_hosts=[*LOOPBACK_HOSTS, host] if loopback else None)
    except CocreationError as err:
        raise _fail(err) from err
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host
    typer.echo(f"Project {db}: {n} passages. Open http://{shown}:{port}/ (Ctrl+C to stop).")
    if claimed:
        typer.echo(
            f"Reviewer: {reviewers[0]} (you, who started the server): sign in as {reviewers[0]!r} to adjudicate. "
            "Name other reviewers with --reviewer NAME."
        )
    else:
        typer.echo(f"Reviewers (may adjudicate): {', '.join(reviewers) if reviewers else 'every annotator'}.")
    if not loopback:
        typer.echo(f"Listening on {host}: reachable from other machines on the network.", err=True)
    if n == 0:
        typer.echo(f"The project has no passages yet: run `cocreation annotate add {db} CORPUS`.", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)


@annotate_app.command()
def add(
    db: DbArg,
    sources: Annotated[
        list[Path],
        typer.Argument(
            help=(
                "A corpus folder, a manifest.csv, document files (PDF, DOCX, HTML, Markdown, text), "
                "or a CSV/JSONL of passages with at least a 'text' column."
            ),
            exists=True,
        ),
    ],
    split: Annotated[
        list[str] | None,
        typer.Option(
            "--split", help="Only documents whose manifest 'split' is this (repeatable), e.g. train."
        ),
    ] = None,
) -> None:
    """Add passages to a project (adding the same passages again changes nothing).

    Example: cocreation annotate add project.db corpora/open-policy --split train
    """
    from .store import add_source

    try:
        store = _open(db, must_exist=False)
        result = add_source(store, sources, splits=split or ())
        total = store.count_passages()
        store.close()
    except CocreationError as err:
        raise _fail(err) from err
    typer.echo(
        f"Added {result.added} passages ({result.unchanged} already present); the project has {total}."
    )
    if result.conflicts:
        typer.echo(
            f"{len(result.conflicts)} passage id(s) exist with different text and were left unchanged, "
            f"e.g. {result.conflicts[0]}.",
            err=True,
        )
    for failure in result.failures:
        typer.echo(f"Skipped: {failure}", err=True)


@annotate_app.command()
def agreement(
    db: DbArg,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Also write the table: .csv (one row per label) or .json."),
    ] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples for the interval.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
) -> None:
    """Per-label Krippendorff's alpha (with a 95% interval) and pairwise Cohen's kappa.

    Example: cocreation annotate agreement project.db -o agreement.csv
    """
    try:
        if output is not None:
            check_writable(output)
        store = _open(db)
        report = store.agreement(n_boot=n_boot, seed=seed)
        store.close()
    except CocreationError as err:
        raise _fail(err) from err
    typer.echo(format_agreement(report))
    if output is not None:
        write_agreement(report, output)
        typer.echo(f"Wrote {output}")


def _num(x: float, digits: int = 3) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def format_agreement(report: dict[str, Any]) -> str:
    """A plain-text agreement table for the terminal."""
    lines = [
        f"Codebook {report['codebook_version']}: {report['n_shared_items']} passages labelled by 2+ annotators, "
        f"{report['n_decisions']} decisions.",
        f"{'label':<14} {'alpha':>7} {'95% interval':>17} {'items':>6} {'agree%':>7} {'pos':>5}",
    ]
    for r in report["labels"]:
        interval = f"{_num(r['alpha_low'])} – {_num(r['alpha_high'])}"
        pct = "–" if math.isnan(r["percent_agreement"]) else f"{100 * r['percent_agreement']:.1f}"
        lines.append(
            f"{r['label']:<14} {_num(r['alpha']):>7} {interval:>17} {r['n_items']:>6} {pct:>7} {r['n_positive']:>5}"
        )
    pairs = report["labels"][0]["pairwise"] if report["labels"] else []
    if pairs:
        lines.append("")
        lines.append("Cohen's kappa by pair: " + ", ".join(r["label"] for r in report["labels"]))
        for i, p in enumerate(pairs):
            kappas = " ".join(f"{_num(r['pairwise'][i]['kappa']):>6}" for r in report["labels"])
            lines.append(f"  {p['annotator_a']} x {p['annotator_b']} (n={p['n_items']}): {kappas}")
    summary = report["summary"]
    if summary["n_labels"]:
        lines.append("")
        lines.append(
            f"Mean alpha {_num(summary['mean_alpha'])}; lowest {_num(summary['min_alpha'])} ({summary['weakest_label']})."
        )
    return "\n".join(lines)


def write_agreement(report: dict[str, Any], path: Path) -> None:
    """Write the agreement report as CSV (one row per label, kappas as columns) or JSON."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(clean(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    fields = [
        "label",
        "alpha",
        "alpha_low",
        "alpha_high",
        "ci",
        "n_items",
        "n_annotators",
        "n_positive",
        "percent_agreement",
    ]
    pairs = report["labels"][0]["pairwise"] if report["labels"] else []
    pair_cols = [f"kappa:{p['annotator_a']}|{p['annotator_b']}" for p in pairs]
    rows = [
        {
            **{f: r[f] for f in fields},
            **{col: p["kappa"] for col, p in zip(pair_cols, r["pairwise"], strict=False)},
        }
        for r in report["labels"]
    ]
    write_csv(path, fields + pair_cols, rows)


@annotate_app.command()
def export(
    db: DbArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write (.jsonl, .csv or .json).")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="jsonl, csv or label-studio. Default: from the file suffix."),
    ] = None,
    gold: Annotated[
        bool, typer.Option("--gold", help="Only the adjudicated gold labels (for training).")
    ] = False,
    text: Annotated[bool, typer.Option(help="Include passage text in each record.")] = True,
    raw_csv: Annotated[
        bool,
        typer.Option(
            "--raw-csv",
            help="CSV: write cells exactly (by default text a spreadsheet would run as a formula gets a leading ').",
        ),
    ] = False,
) -> None:
    """Export every decision (with annotator, time, comment and history) and the gold labels.

    Example: cocreation annotate export project.db -o annotations/labels.jsonl
    """
    from .records import FORMATS, guess_format, label_studio_config, write_records

    try:
        check_writable(output)
        if fmt is not None and fmt not in FORMATS:
            raise CocreationError(f"Unknown format {fmt!r}. Available: {', '.join(FORMATS)}.")
        store = _open(db)
        records = store.export_records(decisions=not gold, gold=True, include_text=text)
        store.close()
        chosen = fmt or guess_format(output)
        output.parent.mkdir(parents=True, exist_ok=True)
        n = write_records(records, output, fmt=chosen, raw_csv=raw_csv)  # type: ignore[arg-type]
    except CocreationError as err:
        raise _fail(err) from err
    typer.echo(f"Wrote {n} records to {output}")
    if chosen == "label-studio":
        config = output.with_suffix(".label_config.xml")
        config.write_text(label_studio_config(), encoding="utf-8")
        typer.echo(f"Wrote the Label Studio labelling config to {config}")


@annotate_app.command("import")
def import_(
    db: DbArg,
    file: Annotated[
        Path, typer.Argument(help="Records to merge: .jsonl, .csv or Label Studio .json.", exists=True)
    ],
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="jsonl, csv or label-studio. Default: from the suffix."),
    ] = None,
    document: Annotated[
        str | None,
        typer.Option(
            help="Label Studio: create passages under this document for tasks whose text matches no passage "
            "of the project (default: refuse them)."
        ),
    ] = None,
    annotator: Annotated[
        str | None,
        typer.Option(
            help="Label Studio: the name for annotations without completed_by (default: refuse them)."
        ),
    ] = None,
    from_name: Annotated[
        str | None,
        typer.Option(
            help="Label Studio: the Choices control holding the codebook labels, when there are several."
        ),
    ] = None,
    text_field: Annotated[
        str | None,
        typer.Option(
            help="Label Studio: the task data field holding the text (default: text, or the only one)."
        ),
    ] = None,
) -> None:
    """Merge exported records into a project (importing twice changes nothing).

    A genuine Label Studio export (tasks holding only their text) is matched
    to the project's passages by text; see --document and the other options
    for what cannot be matched. Anything that cannot be mapped is refused,
    naming the task, and nothing is imported.

    Example: cocreation annotate import project.db colleague-labels.jsonl
    """
    from .label_studio import LabelStudioMapping, project_passages
    from .records import guess_format, read_records

    try:
        store = _open(db, must_exist=False)
        mapping = None
        if (fmt or guess_format(file)) == "label-studio":
            mapping = LabelStudioMapping(
                passages=project_passages(store),
                document=document,
                from_name=from_name,
                text_field=text_field,
                annotator=annotator,
            )
        records = read_records(file, fmt=fmt, mapping=mapping)  # type: ignore[arg-type]
        result = store.import_records(records, source=str(file))
        store.close()
    except CocreationError as err:
        raise _fail(err) from err
    typer.echo(
        f"Imported {file}: {result.added} new, {result.updated} merged, {result.unchanged} unchanged "
        f"({result.gold} gold); {result.passages_added} passages created."
    )


@annotate_app.command()
def predictions(
    db: DbArg,
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV or JSONL with passage_id, label, prob (or score) and optionally threshold, model_id.",
            exists=True,
        ),
    ],
    threshold: Annotated[float, typer.Option(help="Threshold for rows that give none.")] = 0.5,
) -> None:
    """Load model probabilities so the 'uncertainty' and 'rare_label' queues can use them.

    Example: cocreation annotate predictions project.db out/predictions.csv
    """
    try:
        store = _open(db)
        n = store.load_predictions(file, default_threshold=threshold)
        store.close()
    except CocreationError as err:
        raise _fail(err) from err
    typer.echo(f"Loaded {n} predictions into {db}.")
