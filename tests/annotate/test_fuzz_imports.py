"""Property-based fuzz of the three annotation import formats (JSONL, CSV, Label Studio JSON).

For any bytes, any JSON and any damage to a valid file, reading either
returns records or raises :class:`AnnotationError` naming the file: never
another exception. For Label Studio tasks shaped as a genuine project exports
them (text only, any Choices name), every annotation comes back with exactly
its labels: nothing is lost silently.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cocreation_nlp.annotate.label_studio import LabelStudioMapping
from cocreation_nlp.annotate.records import AnnotationRecord, dumps_records, read_records
from cocreation_nlp.codebook import LABELS, load_codebook
from cocreation_nlp.errors import AnnotationError

FUZZ = settings(
    max_examples=int(os.environ.get("COCREATION_FUZZ_EXAMPLES", "80")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize="COCREATION_FUZZ_EXAMPLES" not in os.environ,  # fixed examples in CI; set it to explore
)
SUFFIX = {"jsonl": ".jsonl", "csv": ".csv", "label-studio": ".json"}
VERSION = load_codebook().version


def _read(data: bytes, fmt: str, mapping: LabelStudioMapping | None = None) -> list[AnnotationRecord] | None:
    """Records, or None after a named AnnotationError; any other exception fails the test."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"labels{SUFFIX[fmt]}"
        path.write_bytes(data)
        try:
            return read_records(path, mapping=mapping)
        except AnnotationError as err:
            assert str(path) in str(err), str(err)
            return None


def _valid(fmt: str) -> bytes:
    recs = [
        AnnotationRecord(
            doc_id="plan",
            passage_id=f"plan:{i}",
            fingerprint="",
            labels=list(labels),
            annotator=name,
            created_at="2024-05-01T10:00:00Z",
            codebook_version=VERSION,
            comment=comment,
            text=f"Residents shape service {i}.",
        )
        for i, (labels, name, comment) in enumerate(
            [(["equity"], "ada", 'a, "b"; c'), ([], "bob", ""), (["cocreation", "systemic"], "zoë", "=1+1")]
        )
    ]
    return dumps_records(recs, fmt).encode()  # type: ignore[arg-type]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)
FORMATS = st.sampled_from(sorted(SUFFIX))


@FUZZ
@given(fmt=FORMATS, data=st.binary(max_size=1024))
def test_fuzz_imports_any_bytes(fmt: str, data: bytes):
    _read(data, fmt)


@FUZZ
@given(fmt=FORMATS, value=json_values)
def test_fuzz_imports_any_json(fmt: str, value: object):
    text = json.dumps(value)
    _read(text.encode(), fmt)
    if fmt == "jsonl":
        _read((text + "\n" + text + "\n").encode(), fmt)


@FUZZ
@given(fmt=FORMATS, seed=st.integers(0, 2**32 - 1), n=st.integers(1, 12))
def test_fuzz_imports_damaged_valid_files(fmt: str, seed: int, n: int):
    rng = random.Random(seed)
    data = bytearray(_valid(fmt))
    for _ in range(n):
        op = rng.randrange(3)
        at = rng.randrange(len(data))
        if op == 0:
            data[at] = rng.choice(b'",;\n\r\x00{}[]:=\\\xff' + bytes([rng.randrange(256)]))
        elif op == 1:
            del data[at]
        else:
            data[at:at] = data[rng.randrange(len(data)) :][: rng.randrange(1, 30)]
    _read(bytes(data), fmt, LabelStudioMapping(document="plan", annotator="someone"))


@FUZZ
@given(
    fmt=FORMATS,
    value=json_values,
    key=st.sampled_from(["labels", "created_at", "history", "annotator", "start_char", "text"]),
)
def test_fuzz_imports_any_value_in_a_field(fmt: str, value: object, key: str):
    """A valid file with one field of one record replaced by an arbitrary JSON value."""
    lines = _valid("jsonl").decode().splitlines()
    record = json.loads(lines[0])
    record[key] = value
    try:
        rec = AnnotationRecord.model_validate(record)
    except Exception:  # noqa: BLE001 - not a valid record: write it raw where the format allows
        if fmt != "jsonl":
            return
        _read((json.dumps(record) + "\n").encode(), fmt)
        return
    _read(dumps_records([rec], fmt).encode(), fmt)  # type: ignore[arg-type]


control_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
label_sets = st.lists(st.sampled_from(LABELS), unique=True, max_size=4)
texts = st.text(alphabet="abcdefghij klmnopqrstuvwxyz.", min_size=1, max_size=60).filter(
    lambda t: t.strip(" .")
)


@FUZZ
@given(
    control=control_names,
    tasks=st.lists(
        st.tuples(texts, st.lists(st.tuples(label_sets, st.integers(1, 5)), min_size=1, max_size=3)),
        min_size=1,
        max_size=6,
    ),
    single=st.booleans(),
)
def test_fuzz_imports_genuine_label_studio_shapes_lose_no_label(control: str, tasks, single: bool):
    payload = [
        {
            "id": t_id,
            "data": {"text": text},
            "annotations": [
                {
                    "id": t_id * 10 + a_id,
                    "completed_by": user,
                    "result": [
                        {
                            "from_name": control,
                            "to_name": "text",
                            "type": "choices",
                            "value": {"choices": labels},
                        }
                    ],
                    "was_cancelled": False,
                    "ground_truth": False,
                    "created_at": "2024-03-01T10:00:00Z",
                }
                for a_id, (labels, user) in enumerate(annotations)
            ],
        }
        for t_id, (text, annotations) in enumerate(tasks, start=1)
    ]
    if single:
        payload = payload[0]
        tasks = tasks[:1]
    records = _read(json.dumps(payload).encode(), "label-studio", LabelStudioMapping(document="ls"))
    assert records is not None
    expected = [(str(user), sorted(labels)) for _, annotations in tasks for labels, user in annotations]
    assert [(r.annotator, sorted(r.labels)) for r in records] == expected
    assert all(r.doc_id == "ls" and r.text for r in records)
