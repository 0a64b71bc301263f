"""Command-line interface: thin commands over library functions.

Every command parses its options, calls one library function and reports.
Heavy libraries (spaCy, torch, pandas) are imported inside the commands so
that ``cocreation --help`` answers at once.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import CocreationError

app = typer.Typer(
    name="cocreation",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    help="Measure how policy documents treat citizen participation (Bassi 2022's co-creation blind spots).",
)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code=code)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details to stderr.")] = False,
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR, format="%(levelname)s %(name)s: %(message)s")


@app.command()
def parse(
    paths: Annotated[list[Path], typer.Argument(help="Files, folders or manifest.csv files to parse.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Passages CSV to write.")] = Path("passages.csv"),
    errors: Annotated[Path | None, typer.Option(help="Errors CSV (default: errors.csv beside --output).")] = None,
    max_file_mb: Annotated[float, typer.Option(help="Refuse files larger than this many MB.")] = 200.0,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Parse documents (PDF, DOCX, HTML, Markdown, text) into passages.

    Example: cocreation parse corpora/sample -o passages.csv

    Exit code 0 when every document parsed, 1 when some failed (their causes
    are in the errors CSV and on stderr; the other documents are written).
    """
    from tqdm import tqdm

    from .ingest import discover
    from .parse import parse_to_csv

    try:
        sources = discover(paths)
        bar = tqdm(total=len(sources), unit="doc", disable=not progress, file=sys.stderr, desc="parse")

        def tick(doc: object) -> None:
            bar.update(1)

        summary = parse_to_csv(
            paths, output, errors_path=errors, max_bytes=int(max_file_mb * 1e6), on_document=tick, sources=sources
        )
        bar.close()
    except CocreationError as err:
        raise _fail(str(err)) from err
    for f in summary.failures:
        typer.echo(f"Error: {f.source}: {f.error_type}: {f.message}", err=True)
    typer.echo(
        f"Wrote {summary.n_passages} passages from {summary.n_documents} document(s) to {output}"
        + (f"; {len(summary.failures)} failed (see {errors or output.with_name('errors.csv')})" if summary.failures else ""),
        err=True,
    )
    if summary.failures:
        raise typer.Exit(code=1)


def main() -> None:
    """Entry point for ``python -m cocreation_nlp``."""
    app()
