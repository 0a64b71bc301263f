"""Every docstring example in the package runs, and is checked (module by module)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import cocreation_nlp

# __main__ runs the CLI when imported.
SKIP = {"cocreation_nlp.__main__"}
MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(cocreation_nlp.__path__, prefix="cocreation_nlp.")
    if m.name not in SKIP
)


def _examples(module_name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [t for t in finder.find(module, module_name) if t.examples]


WITH_EXAMPLES = [name for name in ["cocreation_nlp", *MODULES] if _examples(name)]


def test_doctests_are_collected_from_every_module_that_has_them() -> None:
    # A module that loses its examples (or a collection that silently finds none) fails here.
    expected = {
        "cocreation_nlp",
        "cocreation_nlp.api",
        "cocreation_nlp.util",
        "cocreation_nlp.classify",
        "cocreation_nlp.scored",
        "cocreation_nlp.cache",
        "cocreation_nlp.tables",
        "cocreation_nlp.model",
        "cocreation_nlp.score",
        "cocreation_nlp.ingest",
        "cocreation_nlp.segment",
        "cocreation_nlp.annotate.store",
        "cocreation_nlp.annotate.sampling",
        "cocreation_nlp.annotate.settings",
        "cocreation_nlp.annotate.queue",
        "cocreation_nlp.annotate.provenance",
    }
    assert expected <= set(WITH_EXAMPLES), sorted(expected - set(WITH_EXAMPLES))


@pytest.mark.parametrize("module_name", WITH_EXAMPLES)
def test_doctests(module_name: str) -> None:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in _examples(module_name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {module_name}"
