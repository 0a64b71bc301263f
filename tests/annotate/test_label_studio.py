"""Genuine Label Studio files (from Label Studio's own repository) import, or are refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cocreation_nlp.annotate.label_studio import (
    UNKNOWN_TIME,
    KnownPassage,
    LabelStudioMapping,
    PassageMatcher,
    dumps_label_studio,
)
from cocreation_nlp.annotate.records import AnnotationRecord, read_records
from cocreation_nlp.annotate.store import AnnotationStore, PassageRow
from cocreation_nlp.codebook import load_codebook
from cocreation_nlp.errors import AnnotationError
from cocreation_nlp.types import fingerprint

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "label_studio"
VERSION = load_codebook().version


def parse_tasks(tasks: list) -> list[AnnotationRecord]:
    from cocreation_nlp.annotate.label_studio import map_tasks
    from cocreation_nlp.annotate.records import parse_record

    return [parse_record(fields, where=where) for where, fields in map_tasks(tasks)]


def _fixture(name: str) -> Path:
    return FIXTURES / name


def test_label_studio_single_task_object_is_read_and_an_image_task_is_refused_by_name():
    # previous_export.json is one task object (not a list) from an image project.
    with pytest.raises(AnnotationError) as err:
        read_records(_fixture("previous_export.json"))
    message = str(err.value)
    assert "previous_export.json: task 1 (id 1234)" in message
    assert "cannot tell which data field holds the passage text (fields: image)" in message
    assert "JSON list" not in message  # the single object was accepted as a task


def test_label_studio_genuine_export_without_ids_is_refused_without_a_mapping():
    with pytest.raises(AnnotationError, match=r"task 1: cannot be mapped to a passage: no data\.passage_id"):
        read_records(_fixture("tasks_annotations_predictions.json"))


def test_label_studio_genuine_export_maps_text_to_known_passages_and_creates_the_rest(tmp_path: Path):
    store = AnnotationStore(tmp_path / "p.db")
    store.add_passages(
        [
            PassageRow("plan:aaaa", "plan", "Test example phrase 1", index=0),
            PassageRow("plan:bbbb", "plan", "x2", index=1),
        ]
    )
    matcher = PassageMatcher(
        KnownPassage(pid, "plan", text)
        for pid, text in [("plan:aaaa", "Test example phrase 1"), ("plan:bbbb", "x2")]
    )
    # Imported pre-annotations have no completed_by: without --annotator that is refused by name.
    with pytest.raises(AnnotationError, match=r"task 1, annotation 1: no 'completed_by'.*--annotator"):
        read_records(
            _fixture("tasks_annotations_predictions.json"), mapping=LabelStudioMapping(passages=matcher)
        )
    mapping = LabelStudioMapping(passages=matcher, document="ls-import", annotator="maria")
    records = read_records(_fixture("tasks_annotations_predictions.json"), mapping=mapping)
    # Every annotation becomes a record with its labels, whatever the Choices control is called (text_class).
    assert [(r.passage_id, r.labels) for r in records] == [
        ("plan:aaaa", ["cocreation"]),
        ("plan:bbbb", ["cocreation"]),
        ("plan:bbbb", ["cocreation"]),
        (f"ls-import:{fingerprint('yoyo')[:10]}", ["equity"]),
    ]
    assert all(r.annotator == "maria" and r.codebook_version == VERSION for r in records)
    assert all(r.created_at == "1970-01-01T00:00:00.000000Z" for r in records)  # no created_at anywhere
    assert records[3].doc_id == "ls-import" and records[3].text == "yoyo"
    result = store.import_records(records, source="tasks_annotations_predictions.json")
    assert result.passages_added == 1
    current = {(d["passage_id"], tuple(d["labels"])) for d in store.current_decisions()}
    assert current == {
        ("plan:aaaa", ("cocreation",)),
        ("plan:bbbb", ("cocreation",)),
        (f"ls-import:{fingerprint('yoyo')[:10]}", ("equity",)),
    }
    # Importing the same file again changes nothing (the unknown time is fixed, not "now").
    again = store.import_records(
        read_records(_fixture("tasks_annotations_predictions.json"), mapping=mapping)
    )
    assert again.added == 0 and again.updated == 0
    assert UNKNOWN_TIME.startswith("1970")


def test_label_studio_any_text_field_and_choices_name(tmp_path: Path):
    # The SDK's example project: text in data.my_text, Choices named sentiment_class.
    mapping = LabelStudioMapping(document="sdk", annotator="ada")
    (rec,) = read_records(_fixture("sdk_tasks_for_import.json"), mapping=mapping)
    assert rec.text == "Opossums are great" and rec.labels == [
        "cocreation"
    ]  # the prediction (individual) is not
    assert rec.passage_id == f"sdk:{fingerprint('Opossums are great')[:10]}"
    config = _fixture("sdk_label_config.xml").read_text(encoding="utf-8")
    assert 'name="sentiment_class"' in config and '"$my_text"' in config


def test_label_studio_predictions_only_file_is_refused():
    with pytest.raises(
        AnnotationError, match=r"no annotations in 1 task\(s\); its 2 prediction\(s\) are model output"
    ):
        read_records(_fixture("text_with_2_predictions.json"), mapping=LabelStudioMapping(document="d"))


def test_label_studio_span_and_box_results_are_refused_by_name():
    with pytest.raises(
        AnnotationError, match=r"task 1, annotation 1: a 'rectanglelabels' result \(from 'label'\)"
    ):
        read_records(
            _fixture("three_tasks_two_gts.json"), mapping=LabelStudioMapping(document="d", annotator="a")
        )


def _task(text: str, *results: dict, completed_by: object = 7) -> dict:
    return {
        "id": 1,
        "data": {"text": text},
        "annotations": [
            {
                "id": 1,
                "completed_by": completed_by,
                "result": list(results),
                "created_at": "2024-01-01T00:00:00Z",
            }
        ],
    }


def _choices(name: str, *labels: str) -> dict:
    return {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": list(labels)}}


def test_label_studio_several_choices_controls_need_from_name(tmp_path: Path):
    path = tmp_path / "two.json"
    path.write_text(
        json.dumps([_task("Residents decide.", _choices("label", "equity"), _choices("topic", "health"))]),
        encoding="utf-8",
    )
    with pytest.raises(AnnotationError, match=r"several Choices controls \('label', 'topic'\).*--from-name"):
        read_records(path, mapping=LabelStudioMapping(document="d"))
    (rec,) = read_records(path, mapping=LabelStudioMapping(document="d", from_name="label"))
    assert rec.labels == ["equity"] and rec.annotator == "7"


def test_label_studio_textarea_is_the_comment_and_email_names_the_annotator(tmp_path: Path):
    path = tmp_path / "t.json"
    task = _task(
        "Residents decide.",
        _choices("sentiment", "collective"),
        {"from_name": "notes", "to_name": "text", "type": "textarea", "value": {"text": ["hard case 5"]}},
        completed_by={"id": 3, "email": "zoe@example.org"},
    )
    path.write_text(json.dumps(task), encoding="utf-8")
    (rec,) = read_records(path, mapping=LabelStudioMapping(document="d"))
    assert (
        rec.comment == "hard case 5" and rec.annotator == "zoe@example.org" and rec.labels == ["collective"]
    )


def test_label_studio_ambiguous_text_is_refused_unless_the_document_decides(tmp_path: Path):
    path = tmp_path / "amb.json"
    path.write_text(json.dumps([_task("Contact us.", _choices("label"))]), encoding="utf-8")
    matcher = PassageMatcher(
        [KnownPassage("a:1", "a", "Contact us."), KnownPassage("b:1", "b", "contact  us.")]
    )
    with pytest.raises(AnnotationError, match=r"matches 2 passages \(a:1, b:1\)"):
        read_records(path, mapping=LabelStudioMapping(passages=matcher))
    (rec,) = read_records(path, mapping=LabelStudioMapping(passages=matcher, document="b"))
    assert rec.passage_id == "b:1" and rec.labels == []


def test_label_studio_unattributed_annotations_that_disagree_are_refused(tmp_path: Path):
    task = _task("Residents decide.", _choices("label", "equity"), completed_by=None)
    task["annotations"].append({"result": [_choices("label", "systemic")]})
    path = tmp_path / "u.json"
    path.write_text(json.dumps([task]), encoding="utf-8")
    with pytest.raises(
        AnnotationError, match="annotation 2: two annotations of this task without 'completed_by' disagree"
    ):
        read_records(path, mapping=LabelStudioMapping(document="d", annotator="x"))


def test_label_studio_unknown_label_names_the_task(tmp_path: Path):
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps([_task("Residents decide.", _choices("sentiment", "Positive"))]), encoding="utf-8"
    )
    with pytest.raises(
        AnnotationError, match=r"bad\.json: task 1 \(id 1\), annotation 1 \(id 1\): labels: unknown label"
    ):
        read_records(path, mapping=LabelStudioMapping(document="d"))


def test_label_studio_export_has_completed_by_and_lead_time():
    base = dict(
        doc_id="d",
        fingerprint="",
        labels=["equity"],
        created_at="2024-01-01T00:00:00Z",
        codebook_version=VERSION,
    )
    recs = [
        AnnotationRecord(passage_id="d:1", annotator="zoe", lead_time=4.5, **base),
        AnnotationRecord(passage_id="d:1", annotator="ada", **base),
        AnnotationRecord(passage_id="d:2", annotator="zoe", lead_time=12.0, **base),
    ]
    tasks = json.loads(dumps_label_studio(recs))
    annotations = [a for t in tasks for a in t["annotations"]]
    assert [a["completed_by"] for a in annotations] == [2, 1, 2]  # one integer user id per annotator
    assert [a.get("lead_time") for a in annotations] == [4.5, None, 12.0]  # seconds, where recorded
    assert [a["meta"]["annotator"] for a in annotations] == ["zoe", "ada", "zoe"]
    # Label Studio's lead_time comes back in.
    (rec,) = [r for r in parse_tasks(tasks) if r.annotator == "ada"]
    assert rec.lead_time is None
    assert sorted(r.lead_time or 0 for r in parse_tasks(tasks)) == [0, 4.5, 12.0]


def test_label_studio_cli_import_of_a_genuine_export(tmp_path: Path):
    from typer.testing import CliRunner

    from cocreation_nlp.annotate.cli import annotate_app

    db = tmp_path / "p.db"
    store = AnnotationStore(db)
    store.add_passages([PassageRow("plan:aaaa", "plan", "Test example phrase 1", index=0)])
    store.close()
    export = str(_fixture("tasks_annotations_predictions.json"))
    runner = CliRunner()
    refused = runner.invoke(annotate_app, ["import", str(db), export])
    assert refused.exit_code == 2 and "task 1, annotation 1: no 'completed_by'" in refused.output
    refused = runner.invoke(annotate_app, ["import", str(db), export, "--annotator", "maria"])
    assert refused.exit_code == 2 and "task 2: cannot be mapped to a passage" in refused.output
    assert AnnotationStore(db).current_decisions() == []  # all or nothing
    done = runner.invoke(
        annotate_app, ["import", str(db), export, "--annotator", "maria", "--document", "ls"]
    )
    assert done.exit_code == 0, done.output
    assert "3 new" in done.output and "2 passages created" in done.output
    labels = {d["passage_id"]: d["labels"] for d in AnnotationStore(db).current_decisions()}
    assert labels == {
        "plan:aaaa": ["cocreation"],
        f"ls:{fingerprint('x2')[:10]}": ["cocreation"],
        f"ls:{fingerprint('yoyo')[:10]}": ["equity"],
    }
