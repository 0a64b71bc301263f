"""Spreadsheet formulas in CSV cells: neutralised by the OWASP convention, and restored exactly on reading."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cocreation_nlp.formulas import TRIGGERS, needs_mark, neutralise, restore

cells = st.text(
    alphabet=st.sampled_from(["'", "=", "+", "-", "@", "\t", "\r", "a", " ", "1", '"', ","]), max_size=8
)


@given(cells | st.text(max_size=30))
def test_csv_formulas_neutralise_then_restore_is_exact(text: str):
    marked = neutralise(text)
    assert isinstance(marked, str)
    assert not marked.startswith(TRIGGERS)  # never a formula in a spreadsheet
    assert restore(marked) == text
    assert (marked != text) == needs_mark(text)


def test_csv_formulas_only_text_cells_change():
    assert neutralise(-3) == -3 and neutralise(2.5) == 2.5 and neutralise(None) is None
    assert [neutralise(t) for t in ["=1+1", "+44 20", "-x", "@SUM(A1)", "\tTab", "\rCR", "safe", ""]] == [
        "'=1+1",
        "'+44 20",
        "'-x",
        "'@SUM(A1)",
        "'\tTab",
        "'\rCR",
        "safe",
        "",
    ]
