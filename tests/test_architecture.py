"""The structure drawn from the imports: no cycle, no arrow running back up the layers.

Every import counts, including those inside functions. The layers are declared
in scripts/import_graph.py, which also draws the graph
(`python scripts/import_graph.py [--dot]`).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _graph_module():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts" / "import_graph.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("import_graph", module)
    spec.loader.exec_module(module)
    return module


def test_architecture_imports_have_no_cycle_and_no_upward_arrow() -> None:
    graph = _graph_module()
    assert graph.problems() == []


def test_architecture_check_catches_a_cycle_and_an_upward_arrow() -> None:
    graph = _graph_module()
    edges = graph.edges()
    # The check is not vacuous: a hidden lazy import like the old classify -> pipeline one is found.
    bad = {k: set(v) for k, v in edges.items()}
    bad["classify"].add("pipeline")
    found = graph.problems(bad)
    assert any(p.startswith("cycle:") and "classify" in p and "pipeline" in p for p in found), found
    assert any(p.startswith("upward:") and "cocreation_nlp.classify" in p for p in found), found


def test_architecture_lazy_imports_are_seen(tmp_path: Path) -> None:
    graph = _graph_module()
    pkg = tmp_path / "cocreation_nlp"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "errors.py").write_text("def f():\n    from .cli import app\n", encoding="utf-8")
    (pkg / "cli.py").write_text("from .errors import f\n", encoding="utf-8")
    edges = graph.edges(tmp_path)
    assert edges["errors"] == {"cli"} and edges["cli"] == {"errors"}
    assert any(p.startswith("cycle:") for p in graph.problems(edges))


def test_architecture_a_passage_walks_one_way_from_score_to_a_csv_row() -> None:
    # cli.score -> pipeline -> (ingest, segment, model, score) -> scored -> cache -> export -> tables
    edges = _graph_module().edges()
    walk = ["cli", "pipeline", "cache", "scored", "classify"]
    for upper, lower in zip(walk, walk[1:], strict=False):
        assert lower in edges[upper] or any(lower in edges[m] for m in edges[upper]), (upper, lower)
    for lower in ("export", "cache", "scored", "model", "classify", "score", "segment", "ingest", "tables"):
        assert "pipeline" not in edges[lower] and "cli" not in edges[lower], lower
    assert {"scored", "tables"} <= edges["export"] and "pipeline" not in edges["export"]
