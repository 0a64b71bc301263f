"""Draw the package's import graph and check it: no cycle, and no arrow running back up the layers.

Every ``import`` of a ``cocreation_nlp`` module counts, including the ones
hidden inside functions (a lazy import is still a dependency: it only moves
the failure to run time). Each module has a layer in :data:`LAYERS`, lowest
first; a module may import only modules of its own or a lower layer, and
no import may close a cycle.

Usage:
    .venv/bin/python scripts/import_graph.py            # layers and arrows, as text
    .venv/bin/python scripts/import_graph.py --dot      # Graphviz DOT (render with `dot -Tsvg`)
    .venv/bin/python scripts/import_graph.py --check    # exit 1 on a cycle, an upward arrow or an unplaced module

``tests/test_architecture.py`` runs the check.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "cocreation_nlp"

# Lowest layer first. A module may import modules of its own or lower layers only
# (the cycle check keeps imports within a layer one-directional too).
# A new module gets a line here; the check fails until it has one.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("_version", "errors", "util", "atomic", "limits", "formulas", "workers")),
    ("records and settings", ("types", "codebook", "config", "tables", "resources")),
    (
        "stage internals",
        (
            "readers",
            "readers.docx",
            "readers.html",
            "readers.hyphenation",
            "readers.markdown",
            "readers.pdf",
            "readers.ocr",
            "readers.text",
            "scans",
            "rules",
            "score",
            "embed",
            "agreement",
            "quantify",
            "validity_tables",
            "metrics",
            "evalstats",
            "modelcard",
        ),
    ),
    ("stages", ("ingest", "segment", "classify")),
    ("learned models", ("model_files", "finetuned", "language_router", "model", "oof")),
    ("scored records", ("scored", "annotate.provenance", "annotate.label_studio", "annotate.records")),
    ("storage and tables", ("cache", "export", "annotations", "carry_over")),
    (
        "commands (library side)",
        (
            "pipeline",
            "parse",
            "predict",
            "train",
            "distil",
            "finetune",
            "bylanguage",
            "validity",
            "evaluate",
            "summarize",
            "report",
            "report.build",
        ),
    ),
    (
        "annotation store",
        (
            "annotate.units",
            "annotate.adjudication",
            "annotate.sampling",
            "annotate.db",
            "annotate.settings",
            "annotate.passages",
            "annotate.decisions",
            "annotate.queue",
            "annotate.interchange",
            "annotate.evidence",
            "annotate.search",
        ),
    ),
    ("annotation facade", ("annotate.store",)),
    ("annotation app", ("annotate.app",)),
    ("annotation package", ("annotate",)),
    ("public API", ("api",)),
    ("command line", ("annotate.cli", "cli")),
    ("package", ("", "__main__")),
)


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package by its dotted name relative to the package (``""`` is the package)."""
    pkg = root / PACKAGE
    out: dict[str, Path] = {}
    for path in sorted(pkg.rglob("*.py")):
        rel = path.relative_to(pkg).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(current: str, is_package: bool, node: ast.ImportFrom, files: dict[str, Path]) -> list[str]:
    """Dotted names (relative to the package) that a ``from ... import ...`` statement imports."""
    if node.level == 0:
        base = node.module or ""
        if not (base == PACKAGE or base.startswith(PACKAGE + ".")):
            return []
        base = base[len(PACKAGE) + 1 :] if base != PACKAGE else ""
    else:
        parts = current.split(".") if current else []
        if not is_package:
            parts = parts[:-1]
        up = node.level - 1
        parts = parts[: len(parts) - up] if up else parts
        base = ".".join([*parts, *([node.module] if node.module else [])])
    # `from . import x` imports the submodule x when there is one, else a name from the package.
    out = []
    for alias in node.names:
        sub = f"{base}.{alias.name}" if base else alias.name
        out.append(sub if sub in files else base)
    return out


def edges(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the package modules it imports (anywhere in its body)."""
    files = module_files(root)
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                        targets.append(alias.name[len(PACKAGE) + 1 :] if alias.name != PACKAGE else "")
            elif isinstance(node, ast.ImportFrom):
                targets = _resolve(name, is_package, node, files)
            for target in targets:
                if target in files and target != name:
                    graph[name].add(target)
    return graph


def layer_of() -> dict[str, int]:
    """Module -> its layer index."""
    return {module: i for i, (_, modules) in enumerate(LAYERS) for module in modules}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(1000, 10 * len(graph)))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def problems(graph: dict[str, set[str]] | None = None) -> list[str]:
    """Every cycle, upward arrow and unplaced module, as readable lines."""
    graph = edges() if graph is None else graph
    layers = layer_of()
    out = [f"cycle: {' <-> '.join(c)}" for c in cycles(graph)]
    for module in sorted(graph):
        if module not in layers:
            out.append(f"unplaced: {_name(module)} has no layer in scripts/import_graph.py LAYERS")
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            if module in layers and target in layers and layers[target] > layers[module]:
                out.append(
                    f"upward: {_name(module)} ({LAYERS[layers[module]][0]}) imports "
                    f"{_name(target)} ({LAYERS[layers[target]][0]})"
                )
    return out


def _name(module: str) -> str:
    return f"{PACKAGE}.{module}" if module else PACKAGE


def render_text(graph: dict[str, set[str]]) -> Iterable[str]:
    """The layers, top first, each module with what it imports."""
    layers = layer_of()
    placed = {m for _, ms in LAYERS for m in ms}
    for i in range(len(LAYERS) - 1, -1, -1):
        title, modules = LAYERS[i]
        present = [m for m in modules if m in graph]
        if not present:
            continue
        yield f"[{i}] {title}"
        for m in present:
            targets = ", ".join(sorted(_name(t) for t in graph[m])) or "-"
            yield f"    {_name(m)} -> {targets}"
    for m in sorted(set(graph) - placed):
        yield f"[?] {_name(m)} -> {', '.join(sorted(_name(t) for t in graph[m])) or '-'}"
    del layers


def render_dot(graph: dict[str, set[str]]) -> Iterable[str]:
    """Graphviz DOT with one rank per layer."""
    yield "digraph imports {"
    yield "  rankdir=BT; node [shape=box, fontsize=10];"
    for i, (title, modules) in enumerate(LAYERS):
        present = [m for m in modules if m in graph]
        if present:
            yield f'  subgraph cluster_{i} {{ label="{title}"; rank=same; '
            yield "    " + " ".join(f'"{_name(m)}";' for m in present)
            yield "  }"
    for m, targets in sorted(graph.items()):
        for t in sorted(targets):
            yield f'  "{_name(m)}" -> "{_name(t)}";'
    yield "}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dot", action="store_true", help="print Graphviz DOT")
    parser.add_argument("--check", action="store_true", help="exit 1 on any problem")
    args = parser.parse_args(argv)
    graph = edges()
    lines = render_dot(graph) if args.dot else render_text(graph)
    if not args.check:
        print("\n".join(lines))
    found = problems(graph)
    for p in found:
        print(p, file=sys.stderr)
    n_edges = sum(len(t) for t in graph.values())
    print(f"{len(graph)} modules, {n_edges} arrows, {len(found)} problem(s)", file=sys.stderr)
    return 1 if found and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
