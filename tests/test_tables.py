from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cocreation_nlp.errors import InputError
from cocreation_nlp.tables import Column, csv_cells, csv_text, read_rows, write_csv, write_parquet

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.fixed_dictionaries({"a": TEXT, "b": TEXT}), max_size=6))
def test_tables_csv_round_trips_any_text(tmp_path: Path, rows: list[dict[str, str]]) -> None:
    path = tmp_path / "t.csv"
    assert write_csv(path, ["a", "b"], rows) == len(rows)
    assert list(read_rows(path)) == rows
    assert path.read_bytes().decode("utf-8") == csv_text(["a", "b"], rows)


def test_tables_missing_values_are_empty_cells_in_csv_and_null_in_parquet(tmp_path: Path) -> None:
    columns = [Column("name"), Column("n", "int"), Column("p", "float"), Column("ok", "bool")]
    rows = [
        {"name": "x", "n": 3, "p": 0.25, "ok": True},
        {"name": None, "n": None, "p": math.nan, "ok": None},
    ]
    assert csv_cells(rows[1], [c.name for c in columns]) == ["", "", "", ""]
    write_parquet(tmp_path / "t.parquet", columns, rows)
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(tmp_path / "t.parquet")
    assert [schema.field(c.name).type for c in columns] == [pa.string(), pa.int64(), pa.float64(), pa.bool_()]
    df = pd.read_parquet(tmp_path / "t.parquet")
    assert df.loc[0, "n"] == 3 and pd.isna(df.loc[1, "n"]) and pd.isna(df.loc[1, "p"])
    assert bool(df.loc[0, "ok"]) is True and pd.isna(df.loc[1, "name"])


def test_tables_read_rows_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "t.jsonl"
    bad.write_text('{"text": "a"}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"t.jsonl:2: expected a JSON object"):
        list(read_rows(bad))
    wide = tmp_path / "t.csv"
    wide.write_text("a,b\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"t.csv:2: more cells"):
        list(read_rows(wide))
    with pytest.raises(InputError, match="give a .csv or .jsonl"):
        list(read_rows(tmp_path / "t.xlsx"))
    good = tmp_path / "g.jsonl"
    good.write_text(json.dumps({"text": "é", "n": 1}) + "\n\n", encoding="utf-8")
    assert list(read_rows(good)) == [{"text": "é", "n": 1}]
